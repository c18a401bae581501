"""Writes of the game: players, rounds, clicks and the partner's verdict (HackSoft-style services)."""

import hashlib
import hmac
import logging
import random
import re
import unicodedata
from datetime import timedelta
from functools import lru_cache

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from clickme_site.errors import Conflict, NotFound, ServiceError

from .click_rules import ClickRejected, validate_clicks
from .images import as_float_array
from .models import Image, Partner, Player, Round
from .reveal import centre_crop, noise_background, partner_view
from .signals import round_finished

log = logging.getLogger(__name__)
SESSION_PLAYER_KEY = "clickme_player_id"
NICKNAME_RE = re.compile(r"^[\w .\-]+$")


def game_setting(name):
    return settings.CLICKME[name]


def ip_hash(ip):
    salt = game_setting("IP_HASH_SALT").encode()
    return hmac.new(salt, (ip or "").encode(), hashlib.sha256).hexdigest()


def player_id_for_session(session, ip=""):
    """The id of the session's player without reading the Player row (click posts only need the id)."""
    player_id = session.get(SESSION_PLAYER_KEY)
    return player_id if player_id is not None else player_for_session(session, ip).pk


def player_for_session(session, ip=""):
    """The anonymous player bound to this session, created on first sight."""
    player_id = session.get(SESSION_PLAYER_KEY)
    if player_id is not None:
        player = Player.objects.filter(pk=player_id).first()
        if player is not None:
            return player
    player = Player.objects.create(ip_hash=ip_hash(ip))
    session[SESSION_PLAYER_KEY] = player.pk
    return player


def nickname_clean(raw):
    if not isinstance(raw, str):
        raise ServiceError("nickname: expected a string", "invalid_nickname")
    nickname = unicodedata.normalize("NFKC", raw).strip()
    if not nickname:
        raise ServiceError("nickname: may not be empty", "invalid_nickname")
    if len(nickname) > 32:
        raise ServiceError("nickname: at most 32 characters", "invalid_nickname")
    if not NICKNAME_RE.match(nickname):
        raise ServiceError("nickname: letters, digits, spaces, '.', '_' and '-' only", "invalid_nickname")
    lowered = nickname.casefold()
    if any(word.casefold() in lowered for word in game_setting("NICKNAME_BLOCKLIST")):
        raise ServiceError("nickname: this nickname is not allowed", "invalid_nickname")
    return nickname


def player_update(player, changes):
    """Apply {"nickname": ..., "consented": true} (either or both) to the player."""
    fields = []
    if "nickname" in changes:
        player.nickname = nickname_clean(changes["nickname"])
        fields.append("nickname")
    if "consented" in changes:
        if changes["consented"] is not True:
            raise ServiceError("consented: only true is accepted", "invalid")
        if player.consented_at is None:
            player.consented_at = timezone.now()
            fields.append("consented_at")
    if fields:
        player.save(update_fields=fields)
    return player


def active_partner():
    return Partner.objects.filter(is_active=True).first()


def partner_activate(partner):
    """Make `partner` the one the game plays with; running processes pick it up on their next round."""
    with transaction.atomic():
        Partner.objects.filter(is_active=True).exclude(pk=partner.pk).update(is_active=False)
        Partner.objects.filter(pk=partner.pk).update(is_active=True)
    partner.is_active = True
    return partner


def _assignable_image(player):
    played = Round.objects.filter(player=player, image=OuterRef("pk"))
    candidates = (
        Image.objects.filter(active=True, retired=False)
        .exclude(Exists(played))
        .order_by("completed_rounds", "id")
        .values_list("id", "completed_rounds")[:50]
    )
    candidates = list(candidates)
    if not candidates:
        return None
    fewest = candidates[0][1]
    # Fewest completed rounds first; among those, at random so players spread over images.
    return random.choice([image_id for image_id, n in candidates if n == fewest])


def _round_close(round_, state, *, now, score=0, recognized_at_ms=None):
    """Move an open (row-locked) round to won/expired and count it for its image."""
    round_.state = state
    round_.score = score
    round_.finished_at = now
    round_.recognized_at_ms = recognized_at_ms
    round_.save(
        update_fields=["state", "score", "finished_at", "recognized_at_ms", "last_guesses", "n_clicks", "clicks"]
    )
    Image.objects.filter(pk=round_.image_id).update(completed_rounds=F("completed_rounds") + 1)
    Image.objects.filter(pk=round_.image_id, completed_rounds__gte=game_setting("PLAYS_PER_IMAGE")).update(retired=True)
    round_id, image_id = round_.pk, round_.image_id
    transaction.on_commit(lambda: round_finished.send(sender=Round, round_id=round_id, image_id=image_id))


def _expired_by_clock(round_, now):
    deadline = round_.started_at + timedelta(milliseconds=round_.time_limit_ms + game_setting("CLICK_GRACE_MS"))
    return now > deadline


def round_start(player, *, user_agent="", screen_width=None, screen_height=None):
    """Give the player a new image: never one they have seen, fewest completed rounds first."""
    now = timezone.now()
    for open_round in Round.objects.filter(player=player, state=Round.State.OPEN).values_list("pk", flat=True):
        round_finish(player, open_round)  # a new round abandons the open one
    for _attempt in range(5):
        image_id = _assignable_image(player)
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


def _locked_round(player, round_id):
    round_ = (
        Round.objects.select_for_update(of=("self",))
        .select_related("image", "partner")
        .filter(pk=round_id, player=player)
        .first()
    )
    if round_ is None:
        raise NotFound("no such round", "not_found")
    return round_


@lru_cache(maxsize=64)
def _image_array(image_id, file_name):
    from django.core.files.storage import default_storage
    from PIL import Image as PILImage

    with default_storage.open(file_name, "rb") as handle, PILImage.open(handle) as image:
        return as_float_array(image)


@lru_cache(maxsize=64)
def _round_background(round_id, image_id, file_name):
    """The round's noise background: the same for every post of the round, so made once per process."""
    crop = centre_crop(_image_array(image_id, file_name), game_setting("PARTNER_CROP_PX"))
    background = noise_background(crop, round_id, game_setting("NOISE_STD"))
    background.setflags(write=False)
    return background


def partner_guesses(round_):
    """Ask the round's partner about what the round's clicks reveal: (guesses, recognized)."""
    partner = round_.partner
    if partner is None:
        return [], False
    from . import partner as partner_runtime  # torch is loaded by the processes that play, not by every one

    spec = partner_runtime.PartnerSpec(
        architecture=partner.architecture,
        weights_path=partner.weights_file,
        n_outputs=len(partner.category_mapping),
        input_size=partner.input_size,
        mean=tuple(partner.mean),
        std=tuple(partner.std),
    )
    runtime = partner_runtime.runtime_for(partner.pk, spec, game_setting("TORCH_THREADS"))
    image = _image_array(round_.image_id, round_.image.file.name)
    view = partner_view(
        image,
        [(x, y) for x, y, _t in round_.clicks],
        seed=round_.pk,
        background=_round_background(round_.pk, round_.image_id, round_.image.file.name),
        crop_px=game_setting("PARTNER_CROP_PX"),
        bubble_px=game_setting("PARTNER_BUBBLE_PX"),
        noise_std=game_setting("NOISE_STD"),
    )
    probabilities = runtime.predict(view[None])[0]
    guesses = []
    for index, probability in partner_runtime.top_k(probabilities, 5):
        category_id, label = partner.category_mapping[index]
        guesses.append({"category_id": category_id, "name": label, "probability": round(probability, 4)})
    recognized = any(g["category_id"] == round_.image.category_id for g in guesses)
    return guesses, recognized


def round_score(elapsed_ms, time_limit_ms):
    # SCIENCE.md section 1: round(100 * (1 - elapsed / limit)) for a won round.
    elapsed_ms = min(max(elapsed_ms, 0), time_limit_ms)
    return int(round(100 * (1 - elapsed_ms / time_limit_ms)))


def clicks_record(player, round_id, raw_clicks):
    """Store the new clicks of an open round, then let the partner look; returns (round, guesses, recognized).

    The clicks are validated and appended under a row lock and committed before the partner runs, so
    concurrent posts of one round are applied one after the other, no click is lost or stored twice,
    and a failing partner costs the answer its guesses, never the clicks. A post after the time
    limit closes the round (kept) and is refused with 409 round_closed.
    """
    now = timezone.now()
    appended = _clicks_append(player, round_id, raw_clicks, now)
    if appended is None:
        raise Conflict("the round's time is up", "round_closed")
    round_, last_t_ms = appended
    try:
        guesses, recognized = partner_guesses(round_)
    except Exception:  # a broken partner must not stop the collection of clicks
        log.exception("the partner failed on round %s", round_id)
        return round_, [], False
    if not recognized:
        Round.objects.filter(pk=round_.pk, state=Round.State.OPEN).update(last_guesses=guesses)
        round_.last_guesses = guesses
        return round_, guesses, False
    return _round_win(player, round_id, guesses, last_t_ms, now), guesses, True


@transaction.atomic
def _clicks_append(player, round_id, raw_clicks, now):
    """Validate and store the clicks; (round, t_ms of the last new click), or None when time is up."""
    round_ = _locked_round(player, round_id)
    if round_.state != Round.State.OPEN:
        raise Conflict(f"the round is {round_.state}", "round_closed")
    if _expired_by_clock(round_, now):
        _round_close(round_, Round.State.EXPIRED, now=now)
        return None
    try:
        clicks = validate_clicks(
            raw_clicks,
            width=round_.image.width,
            height=round_.image.height,
            time_limit_ms=round_.time_limit_ms,
            last_t_ms=round_.clicks[-1][2] if round_.clicks else None,
            stored_count=round_.n_clicks,
            max_clicks=game_setting("MAX_CLICKS"),
            max_per_post=game_setting("MAX_CLICKS_PER_POST"),
        )
    except ClickRejected as error:
        raise ServiceError(str(error), error.code) from error
    round_.clicks = round_.clicks + clicks
    round_.n_clicks = len(round_.clicks)
    round_.save(update_fields=["clicks", "n_clicks"])
    return round_, clicks[-1][2]


@transaction.atomic
def _round_win(player, round_id, guesses, last_t_ms, now):
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
def round_finish(player, round_id):
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
def _round_skip(player, round_id, now):
    round_ = _locked_round(player, round_id)
    if round_.state != Round.State.OPEN:
        raise Conflict(f"the round is {round_.state}", "round_closed")
    if _expired_by_clock(round_, now):
        _round_close(round_, Round.State.EXPIRED, now=now)
        return None
    round_.state = Round.State.SKIPPED
    round_.score = 0
    round_.finished_at = now
    round_.save(update_fields=["state", "score", "finished_at"])
    Image.objects.filter(pk=round_.image_id).update(n_skipped=F("n_skipped") + 1)
    return round_


def rounds_expire_stale(now=None):
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
