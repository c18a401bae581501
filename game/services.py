"""Writes of the game: players, rounds, clicks and the partner's verdict (HackSoft-style services)."""

import hashlib
import hmac
import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.db import IntegrityError, transaction
from django.db.models import TextField
from django.db.models.functions import MD5, Cast
from django.utils import timezone

from clickme_site.errors import Conflict, NotFound, ServiceError

from . import moderation, nicknames, open_rounds, partner_play, selectors
from .click_rules import ClickRejected, validate_clicks
from .models import COMPLETED_STATES, Partner, Player, Round
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
    (clicks_record_for_session), so a new player bound by another process is seen at once too."""
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
    """Make `partner` the one the game plays with; running processes pick it up on their next round."""
    with transaction.atomic():
        Partner.objects.filter(is_active=True).exclude(pk=partner.pk).update(is_active=False)
        Partner.objects.filter(pk=partner.pk).update(is_active=True)
    partner.is_active = True
    return partner


def _round_close(
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


def _expired_by_clock(round_: Round | open_rounds.PlayState, now: datetime) -> bool:
    deadline = round_.started_at + timedelta(milliseconds=round_.time_limit_ms + game_setting("CLICK_GRACE_MS"))
    return now > deadline


def round_start(
    *, player: Player, user_agent: str = "", screen_width: int | None = None, screen_height: int | None = None
) -> Round:
    """Give the player a new image: never one they have seen, fewest completed rounds first."""
    now = timezone.now()
    for open_round in Round.objects.filter(player=player, state=Round.State.OPEN).values_list("pk", flat=True):
        round_finish(player=player, round_id=open_round)  # a new round abandons the open one
    for _attempt in range(5):
        image_id = selectors.assignable_image_id(player_id=player.pk)
        if image_id is None:
            raise Conflict("this player has seen every active image", "no_images_left")
        try:
            with transaction.atomic():
                return Round.objects.create(
                    player=player,
                    image_id=image_id,
                    partner=active_partner(),
                    time_limit_ms=game_setting("TIME_LIMIT_MS"),
                    started_at=now,
                    user_agent=(user_agent or "")[:400],
                    screen_width=screen_width,
                    screen_height=screen_height,
                )
        except IntegrityError:
            continue  # the same player started two rounds at once and both drew this image
    raise Conflict("could not assign an image, try again", "assignment_conflict")


def _locked_round(player: Player | int | None, round_id: int) -> Round:
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


def round_score(elapsed_ms: float, time_limit_ms: int) -> int:
    # SCIENCE.md section 1: round(100 * (1 - elapsed / limit)) for a won round.
    elapsed_ms = min(max(elapsed_ms, 0), time_limit_ms)
    return int(round(100 * (1 - elapsed_ms / time_limit_ms)))


@dataclass(frozen=True)
class PostedRound:
    """What a click post's answer says of its round."""

    pk: int
    state: str
    score: int
    n_clicks: int


def clicks_record_for_session(
    *,
    session: SessionBase,
    round_id: int,
    raw_clicks: Any,
    after_answer: Callable[[Callable[[], None]], None] | None = None,
) -> tuple["PostedRound", list[dict[str, Any]], bool]:
    """clicks_record for the session's player. A kept answer of player_id_for_session that finds no
    such round is checked once against the session itself: its player may have been deleted and a
    new one bound to the session since (nothing was stored by the refused try)."""
    player_id = player_id_for_session(session=session)
    try:
        return clicks_record(player=player_id, round_id=round_id, raw_clicks=raw_clicks, after_answer=after_answer)
    except NotFound:
        session_player_forget(session=session)
        fresh = player_id_for_session(session=session)
        if fresh is None or fresh == player_id:
            raise
        return clicks_record(player=fresh, round_id=round_id, raw_clicks=raw_clicks, after_answer=after_answer)


def clicks_record(
    *,
    player: Player | int | None,
    round_id: int,
    raw_clicks: Any,
    after_answer: Callable[[Callable[[], None]], None] | None = None,
) -> tuple[PostedRound, list[dict[str, Any]], bool]:
    """Store the new clicks of an open round, then let the partner look; returns (round, guesses, recognized).

    `after_answer`, when given, takes the write that keeps an open round's latest guesses (a display
    copy) to run once the answer is sent (the API runs it when the response closes); otherwise it runs
    here.

    The clicks are checked against the round's stored clicks and appended to exactly those, then
    committed before the partner's answer is read (its forward is queued first, so it runs while the
    clicks are written): concurrent posts of one round are applied one after the other, no click is
    lost or stored twice, and a failing partner costs the answer its guesses, never the clicks. The
    process's copy of the round (game/open_rounds.py) makes that one conditional UPDATE; without a
    copy that still holds, the round is read under a row lock. A post after the time limit closes the
    round (kept) and is refused with 409 round_closed.

    Once the clicks are committed nothing may turn the answer into an error (the browser would send
    them again): a failure after the commit (the partner, a dropped database connection, a broker
    publish) is logged and the answer carries the round as stored.
    """
    now = timezone.now()
    player_id = player.pk if isinstance(player, Player) else player
    appended = _clicks_append_to_copy(player_id, round_id, raw_clicks, now) if player_id is not None else None
    if appended is None:
        appended = _clicks_append(player, round_id, raw_clicks, now)
    if appended is None:
        raise Conflict("the round's time is up", "round_closed")
    play, last_t_ms, pending = appended
    guesses: list[dict[str, Any]] = []
    try:
        guesses, recognized = partner_play.partner_guesses(play, pending)
        if not recognized:
            partner_play.guesses_keep(play.pk, play.n_clicks, guesses, after_answer)
            return PostedRound(play.pk, Round.State.OPEN, 0, play.n_clicks), guesses, False
        won = _round_win(player, round_id, guesses, last_t_ms, now)
        return PostedRound(won.pk, won.state, won.score, won.n_clicks), guesses, True
    except Exception:  # the clicks are stored: answer with what is stored, never an error
        log.exception("round %s: failure after its clicks were stored; answering the stored state", round_id)
    state, score = Round.State.OPEN, 0  # as appended: the last known state if the database went away
    try:
        stored = Round.objects.filter(pk=play.pk).values_list("state", "score").first()
        if stored is not None:
            state, score = stored
    except Exception as error:
        log.warning("round %s: could not re-read the stored state: %s", round_id, error)
    return PostedRound(play.pk, state, score, play.n_clicks), guesses, state == Round.State.WON


def _clicks_append_to_copy(
    player_id: int, round_id: int, raw_clicks: Any, now: datetime
) -> tuple[open_rounds.PlayState, int, Future | None] | None:
    """The post by the process's copy of the round (game/open_rounds.py): (the round as stored, t_ms of
    the last new click, the partner's queued forward), or None whenever the locked path must decide:
    no open round of this player, the row changed since the copy, the time is up, or a click is refused
    (refusals are the locked path's, against the stored row, so a copy can never refuse a good post)."""
    play = open_rounds.kept(round_id=round_id, player_id=player_id)
    if play is None:
        play = open_rounds.load(round_id=round_id, player_id=player_id)
    if play is None or _expired_by_clock(play, now):
        return None
    try:
        clicks = _clicks_valid(play, raw_clicks)
    except ClickRejected:
        return None
    pending = partner_play.partner_submit(play, [*play.clicks, *clicks])
    stored = open_rounds.clicks_store(play, clicks)
    if stored is None:
        if pending is not None:
            pending.cancel()  # not run if it has not started; the locked path queues its own
        return None
    return stored, clicks[-1][2], pending


def _clicks_valid(play: open_rounds.PlayState, raw_clicks: Any) -> list[list[int]]:
    return validate_clicks(
        raw_clicks,
        width=play.width,
        height=play.height,
        time_limit_ms=play.time_limit_ms,
        last_t_ms=play.clicks[-1][2] if play.clicks else None,
        stored_count=play.n_clicks,
        max_clicks=game_setting("MAX_CLICKS"),
        max_per_post=game_setting("MAX_CLICKS_PER_POST"),
    )


@transaction.atomic
def _clicks_append(
    player: Player | int | None, round_id: int, raw_clicks: Any, now: datetime
) -> tuple[open_rounds.PlayState, int, Future | None] | None:
    """Validate and store the clicks under the round's row lock; (the round as stored, t_ms of the last
    new click, the partner's queued forward), or None when time is up. The forward is queued before
    the clicks are written, so it runs while this transaction commits; its answer is read only after
    the commit. The process keeps a copy of the round for its next post (on commit)."""
    round_ = _locked_round(player, round_id)
    if round_.state != Round.State.OPEN:
        raise Conflict(f"the round is {round_.state}", "round_closed")
    if _expired_by_clock(round_, now):
        _round_close(round_, Round.State.EXPIRED, now=now)
        return None
    try:
        clicks = _clicks_valid(open_rounds.play_state_of(round_), raw_clicks)
    except ClickRejected as error:
        raise ServiceError(str(error), error.code) from error
    round_.clicks = round_.clicks + clicks
    round_.n_clicks = len(round_.clicks)
    play = open_rounds.play_state_of(round_)
    pending = partner_play.partner_submit(play, play.clicks)
    round_.save(update_fields=["clicks", "n_clicks"])
    open_rounds.keep(play)
    return play, clicks[-1][2], pending


@transaction.atomic
def _round_win(
    player: Player | int | None, round_id: int, guesses: list[dict[str, Any]], last_t_ms: int, now: datetime
) -> Round:
    """The partner recognised the image: the round is won, scored by the time it took (SCIENCE.md 1)."""
    round_ = _locked_round(player, round_id)
    if round_.state != Round.State.OPEN:
        return round_  # a concurrent post already won it, or it expired meanwhile
    server_elapsed_ms = (now - round_.started_at).total_seconds() * 1000.0
    # The browser's clock counts, but never more than the grace below the server's.
    elapsed_ms = int(max(last_t_ms, server_elapsed_ms - game_setting("CLICK_GRACE_MS")))
    elapsed_ms = min(max(elapsed_ms, 0), round_.time_limit_ms)
    round_.last_guesses = guesses
    _round_close(
        round_,
        Round.State.WON,
        now=now,
        score=round_score(elapsed_ms, round_.time_limit_ms),
        recognized_at_ms=elapsed_ms,
    )
    return round_


@transaction.atomic
def round_finish(*, player: Player | int | None, round_id: int) -> Round:
    """End an open round without a win (time out or give up); a closed round is returned as it is."""
    round_ = _locked_round(player, round_id)
    if round_.state == Round.State.OPEN:
        _round_close(round_, Round.State.EXPIRED, now=timezone.now())
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
    round_ = _locked_round(player, round_id)
    if round_.state != Round.State.OPEN:
        raise Conflict(f"the round is {round_.state}", "round_closed")
    if _expired_by_clock(round_, now):
        _round_close(round_, Round.State.EXPIRED, now=now)
        return None
    _round_close(round_, Round.State.SKIPPED, now=now)
    return round_


def rounds_expire_stale(*, now: datetime | None = None) -> int:
    """Close rounds whose time ran out without a finish (the browser went away). Returns how many."""
    now = now or timezone.now()
    cutoff = now - timedelta(milliseconds=game_setting("TIME_LIMIT_MS") + game_setting("CLICK_GRACE_MS"))
    expired = 0
    for round_id in Round.objects.filter(state=Round.State.OPEN, started_at__lt=cutoff).values_list("pk", flat=True):
        with transaction.atomic():
            round_ = Round.objects.select_for_update().filter(pk=round_id, state=Round.State.OPEN).first()
            if round_ is not None and _expired_by_clock(round_, now):
                _round_close(round_, Round.State.EXPIRED, now=now)
                expired += 1
    return expired
