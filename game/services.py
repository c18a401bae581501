"""Writes of the game: players, rounds and their closes (HackSoft-style services). A click post and the
partner's verdict are game/click_post.py."""

import hashlib
import hmac
import logging
import threading
import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.db import IntegrityError, transaction
from django.db.models import TextField
from django.db.models.functions import MD5, Cast
from django.utils import timezone

from clickme_site.errors import Conflict, NotFound, ServiceError

from . import moderation, nicknames, open_rounds, queueing, screening, selectors
from .click_rules import clicks_window_ms, past_deadline
from .models import COMPLETED_STATES, Image, Partner, Playability, Player, Round
from .selectors import SESSION_PLAYER_KEY, session_player
from .signals import images_changed, round_finished

log = logging.getLogger(__name__)


def game_setting(name: str) -> Any:
    return settings.CLICKME[name]


def ip_hash(ip: str | None) -> str:
    salt = game_setting("IP_HASH_SALT").encode()
    return hmac.new(salt, (ip or "").encode(), hashlib.sha256).hexdigest()


# A process's answers of player_id_for_session: session key -> (player id, monotonic time read).
_session_players: dict[str, tuple[int, float]] = {}
_session_players_lock = threading.Lock()
SESSION_PLAYERS_KEPT = 20_000


def session_player_forget(*, session: SessionBase) -> None:
    """Forget this process's answer for the session (its player was deleted and a new one bound)."""
    if session.session_key:
        with _session_players_lock:
            _session_players.pop(session.session_key, None)


def player_id_for_session(*, session: SessionBase, ip: str = "") -> int | None:
    """The id of the session's player without reading the Player row (click posts only need the id);
    None when the session has no player: a post never creates one, and finds no round then (404).

    A session's player changes only when its player is deleted and the session starts again (then
    player_for_session binds a new one), so the process keeps what it read for
    CLICKME["SESSION_PLAYER_TTL_S"] seconds and a click post reads no session row within that time;
    a session deleted or expired meanwhile is noticed when the time is up. Only found players are
    kept: a session that has none yet is read every time, so the player another process binds to it
    is seen at once; a post that finds no round for a kept player reads the session again
    (click_post.clicks_record_for_session), so a new player bound by another process is seen at once
    too."""
    key = session.session_key
    ttl_s = game_setting("SESSION_PLAYER_TTL_S")
    if key and ttl_s > 0:
        kept = _session_players.get(key)
        if kept is not None and time.monotonic() - kept[1] < ttl_s:
            return kept[0]
    player_id = session.get(SESSION_PLAYER_KEY)
    if key and ttl_s > 0 and player_id is not None:
        with _session_players_lock:
            if len(_session_players) >= SESSION_PLAYERS_KEPT:
                _session_players.clear()  # a cache, not a record: start again rather than grow
            _session_players[key] = (player_id, time.monotonic())
    return player_id


def player_for_session(*, session: SessionBase, ip: str = "") -> Player:
    """The anonymous player bound to this session, created on first sight. Only a round start and a
    nickname or consent change call this: a GET never creates a player or a session row."""
    player = session_player(session=session)
    if player is not None:
        return player
    player = Player.objects.create(ip_hash=ip_hash(ip))
    session[SESSION_PLAYER_KEY] = player.pk
    session_player_forget(session=session)
    return player


def nickname_clean(raw: Any) -> str:
    """The nickname to store, or 400 invalid_nickname naming the rule it broke (game/nicknames.py)."""
    try:
        return nicknames.nickname_check(raw, game_setting("NICKNAME_BLOCKLIST"))
    except nicknames.NicknameRefused as error:
        raise ServiceError(str(error), "invalid_nickname") from error


def player_changes_clean(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Validate {"nickname": ..., "consented": true} (either or both) without touching any row."""
    cleaned: dict[str, Any] = {}
    if "nickname" in changes:
        cleaned["nickname"] = nickname_clean(changes["nickname"])
    if "consented" in changes:
        if changes["consented"] is not True:
            raise ServiceError("consented: only true is accepted", "invalid")
        cleaned["consented"] = True
    return cleaned


def player_update(*, player: Player, changes: Mapping[str, Any]) -> Player:
    """Apply {"nickname": ..., "consented": true} (either or both) to the player."""
    cleaned = player_changes_clean(changes)
    fields = []
    if "nickname" in cleaned:
        player.nickname = cleaned["nickname"]
        fields.append("nickname")
    if "consented" in cleaned and player.consented_at is None:
        player.consented_at = timezone.now()
        fields.append("consented_at")
    if fields:
        player.save(update_fields=fields)
    return player


def active_partner() -> Partner | None:
    return Partner.objects.filter(is_active=True).first()


def partner_activate(*, partner: Partner) -> Partner:
    """Make `partner` the one the game plays with; running processes pick it up on their next round.
    Images are served by its screening verdicts from then on (game/screening.py): those it screened
    at once, the others once a worker has screened them (queued here)."""
    with transaction.atomic():
        Partner.objects.filter(is_active=True).exclude(pk=partner.pk).update(is_active=False)
        Partner.objects.filter(pk=partner.pk).update(is_active=True)
        screening.playability_apply(partner=partner)
        queueing.images_screen_queue()
    partner.is_active = True
    return partner


def round_close(
    round_: Round, state: str, *, now: datetime, score: int = 0, recognized_at_ms: int | None = None
) -> None:
    """Move an open (row-locked) round to won/expired/skipped, judge its quality (game/round_quality.py)
    and recount its image (what retires it).

    Locks: the round's row (the caller's), earlier rounds it proves to be replays or a burst (in id
    order), then the images concerned (in id order): the order of game/moderation.py."""
    open_rounds.drop(round_.pk)  # this process's copy; another's finds the row closed
    round_.state = state
    round_.score = score
    round_.finished_at = now
    round_.recognized_at_ms = recognized_at_ms
    round_.save(
        update_fields=["state", "score", "finished_at", "recognized_at_ms", "last_guesses", "n_clicks", "clicks"]
    )
    try:
        with transaction.atomic():  # a fault in judging must not cost the player the round's close
            changed = moderation.round_judge(round_)
    except Exception:
        log.exception("could not judge the quality of round %s (review_rounds judges it later)", round_.pk)
        changed = set()
    moderation.image_counts_refresh(changed | {round_.image_id})
    others = changed - {round_.image_id}
    if others:
        transaction.on_commit(lambda: images_changed.send(sender=Round, image_ids=sorted(others)))
    if state in COMPLETED_STATES:
        round_id, image_id = round_.pk, round_.image_id
        transaction.on_commit(lambda: round_finished.send(sender=Round, round_id=round_id, image_id=image_id))


def expired_by_clock(round_: Round | open_rounds.PlayState, now: datetime) -> bool:
    """Past the round's time limit and the clicks' window (game/click_rules.py clicks_window_ms)."""
    return past_deadline(round_.started_at, round_.time_limit_ms, clicks_window_ms(settings.CLICKME), now)


def round_start(
    *, player: Player, user_agent: str = "", screen_width: int | None = None, screen_height: int | None = None
) -> Round:
    """Give the player a new image: never one they have seen, fewest completed rounds first. The open
    round is closed first (expired, its clicks kept). Starts of one player at once leave one open round
    (the constraint one_open_round_per_player): a start that loses the race returns the round the
    winner opened, so each of them answers with the round the player now plays."""
    now = timezone.now()
    for open_round in Round.objects.filter(player=player, state=Round.State.OPEN).values_list("pk", flat=True):
        round_finish(player=player, round_id=open_round)  # a new round abandons the open one
    partner = active_partner()
    for _attempt in range(5):
        # With a partner, only images screened playable against it (docs/SCIENCE.md section 1).
        image_id = selectors.assignable_image_id(player_id=player.pk, playable_only=partner is not None)
        if image_id is None:
            screening_pending = (
                partner is not None
                and Image.objects.filter(active=True, retired=False, playability=Playability.UNSCREENED).exists()
            )
            if screening_pending:
                raise Conflict(
                    "no image is ready for this player yet: images are being screened against the game's "
                    "partner; try again in a minute",
                    "no_images_left",
                    extra={"screening": True},
                )
            raise Conflict("this player has seen every active image", "no_images_left")
        try:
            with transaction.atomic():
                return Round.objects.create(
                    player=player,
                    image_id=image_id,
                    partner=partner,
                    time_limit_ms=game_setting("TIME_LIMIT_MS"),
                    started_at=now,
                    user_agent=(user_agent or "")[:400],
                    screen_width=screen_width,
                    screen_height=screen_height,
                )
        except IntegrityError:
            # The same player started rounds at once: another start opened one, or drew this image.
            opened = Round.objects.filter(player=player, state=Round.State.OPEN).select_related("image").first()
            if opened is not None:
                return opened
            continue
    raise Conflict("could not assign an image, try again", "assignment_conflict")


def locked_round(player: Player | int | None, round_id: int) -> Round:
    round_ = (
        Round.objects.select_for_update(of=("self",))
        .select_related("image", "partner")
        # Not loaded per post: the validity report (not needed to play, it grows with the images) and the
        # category mapping (1,000 entries for an ImageNet partner), whose digest keys a per-process copy
        # (game/partner_play.py play_mapping).
        .defer("partner__metrics", "partner__category_mapping")
        .annotate(partner_mapping_md5=MD5(Cast("partner__category_mapping", TextField())))  # as mapping_digest()
        .filter(pk=round_id, player=player)
        .first()
    )
    if round_ is None:
        raise NotFound("no such round", "not_found")
    return round_


@transaction.atomic
def round_finish(*, player: Player | int | None, round_id: int) -> Round:
    """End an open round without a win (time out or give up); a closed round is returned as it is."""
    round_ = locked_round(player, round_id)
    if round_.state == Round.State.OPEN:
        round_close(round_, Round.State.EXPIRED, now=timezone.now())
    return round_


def round_skip(*, player: Player, round_id: int) -> Round:
    """The player cannot find the object: end the open round as skipped (no score, never in a map,
    never counted towards the image's retirement; the player never gets this image again).

    Locks the round's row. A round that is not open, or whose time ran out, is refused with 409
    round_closed (a round found out of time is closed as expired first, as a late click post is).
    """
    now = timezone.now()
    skipped = _round_skip(player, round_id, now)
    if skipped is None:
        raise Conflict("the round's time is up", "round_closed")
    return skipped


@transaction.atomic
def _round_skip(player: Player | int | None, round_id: int, now: datetime) -> Round | None:
    round_ = locked_round(player, round_id)
    if round_.state != Round.State.OPEN:
        raise Conflict(f"the round is {round_.state}", "round_closed")
    # A skip is the player's decision within the round: the latency grace, not the slow-server window.
    if past_deadline(round_.started_at, round_.time_limit_ms, game_setting("CLICK_GRACE_MS"), now):
        round_close(round_, Round.State.EXPIRED, now=now)
        return None
    round_close(round_, Round.State.SKIPPED, now=now)
    return round_


def rounds_expire_stale(*, now: datetime | None = None) -> int:
    """Close rounds whose time ran out without a finish (the browser went away). Returns how many."""
    now = now or timezone.now()
    cutoff = now - timedelta(milliseconds=game_setting("TIME_LIMIT_MS") + clicks_window_ms(settings.CLICKME))
    expired = 0
    for round_id in Round.objects.filter(state=Round.State.OPEN, started_at__lt=cutoff).values_list("pk", flat=True):
        with transaction.atomic():
            round_ = Round.objects.select_for_update().filter(pk=round_id, state=Round.State.OPEN).first()
            if round_ is not None and expired_by_clock(round_, now):
                round_close(round_, Round.State.EXPIRED, now=now)
                expired += 1
    return expired
