"""A click post (docs/API.md "Players"): the new clicks checked and stored, then the partner's verdict
(docs/SCIENCE.md section 1). By the process's copy of the round (game/open_rounds.py) with one conditional
UPDATE, or under the round's row lock when the copy does not hold. A post that says how many clicks it
believes stored (`n_stored`) and repeats stored ones (its answer was lost) stores them once."""

import logging
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from django.contrib.sessions.backends.base import SessionBase
from django.db import transaction
from django.utils import timezone

from clickme_site.errors import Conflict, NotFound, ServiceError

from . import open_rounds, partner_play, services
from .click_rules import ClickRejected, clicks_already_stored, validate_clicks
from .models import Player, Round

log = logging.getLogger(__name__)


def round_score(elapsed_ms: float, time_limit_ms: int) -> int:
    # docs/SCIENCE.md section 1: round(100 * (1 - elapsed / limit)) for a won round.
    elapsed_ms = min(max(elapsed_ms, 0), time_limit_ms)
    return int(round(100 * (1 - elapsed_ms / time_limit_ms)))


@dataclass(frozen=True)
class PostedRound:
    """What a click post's answer says of its round."""

    pk: int
    state: str
    score: int
    n_clicks: int


@dataclass(frozen=True)
class _Repeat:
    """A post whose clicks the round holds already: the round as stored and its latest guesses."""

    posted: PostedRound
    guesses: list[dict[str, Any]]


def clicks_record_for_session(
    *,
    session: SessionBase,
    round_id: int,
    raw_clicks: Any,
    n_stored: int | None = None,
    after_answer: Callable[[Callable[[], None]], None] | None = None,
) -> tuple["PostedRound", list[dict[str, Any]], bool]:
    """clicks_record for the session's player. A kept answer of player_id_for_session that finds no
    such round is checked once against the session itself: its player may have been deleted and a
    new one bound to the session since (nothing was stored by the refused try)."""
    player_id = services.player_id_for_session(session=session)
    try:
        return clicks_record(
            player=player_id, round_id=round_id, raw_clicks=raw_clicks, n_stored=n_stored, after_answer=after_answer
        )
    except NotFound:
        services.session_player_forget(session=session)
        fresh = services.player_id_for_session(session=session)
        if fresh is None or fresh == player_id:
            raise
        return clicks_record(
            player=fresh, round_id=round_id, raw_clicks=raw_clicks, n_stored=n_stored, after_answer=after_answer
        )


def clicks_record(
    *,
    player: Player | int | None,
    round_id: int,
    raw_clicks: Any,
    n_stored: int | None = None,
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

    `n_stored`, when given, is how many of the round's clicks the page believes stored before this post.
    When the round holds more, the post must repeat the stored clicks from there on (a batch sent again
    because its answer was lost, possibly followed by newer clicks): a post that repeats only stored
    clicks stores nothing and is answered with the round as stored (state, score, count, latest
    guesses), newer clicks after the repeated ones are appended once; a post that does not repeat them,
    or an `n_stored` ahead of the stored count, is refused with 409 stored_clicks_differ and changes
    nothing. Without it a post is appended as it comes (bots, simulations, older pages).

    Once the clicks are committed nothing may turn the answer into an error (the browser would send
    them again): a failure after the commit (the partner, a dropped database connection, a broker
    publish) is logged and the answer carries the round as stored.
    """
    now = timezone.now()
    player_id = player.pk if isinstance(player, Player) else player
    appended: tuple[open_rounds.PlayState, int, Future | None] | _Repeat | None = None
    if player_id is not None:
        appended = _clicks_append_to_copy(player_id, round_id, raw_clicks, now, n_stored)
    if appended is None:
        appended = _clicks_append(player, round_id, raw_clicks, now, n_stored)
    if appended is None:
        raise Conflict("the round's time is up", "round_closed")
    if isinstance(appended, _Repeat):
        return appended.posted, appended.guesses, appended.posted.state == Round.State.WON
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
    player_id: int, round_id: int, raw_clicks: Any, now: datetime, n_stored: int | None
) -> tuple[open_rounds.PlayState, int, Future | None] | None:
    """The post by the process's copy of the round (game/open_rounds.py): (the round as stored, t_ms of
    the last new click, the partner's queued forward), or None whenever the locked path must decide:
    no open round of this player, the row changed since the copy, the time is up, a click is refused
    (refusals are the locked path's, against the stored row, so a copy can never refuse a good post),
    or the post's `n_stored` is not the copy's count (a repeat, or a copy behind the row). The
    conditional UPDATE stores only while the row holds the copy's count, so an `n_stored` that equals
    it still equals the row's when the clicks are stored."""
    play = open_rounds.kept(round_id=round_id, player_id=player_id)
    if play is None:
        play = open_rounds.load(round_id=round_id, player_id=player_id)
    if play is None or services.expired_by_clock(play, now):
        return None
    if n_stored is not None and n_stored != play.n_clicks:
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
        max_clicks=services.game_setting("MAX_CLICKS"),
        max_per_post=services.game_setting("MAX_CLICKS_PER_POST"),
    )


@transaction.atomic
def _clicks_append(
    player: Player | int | None, round_id: int, raw_clicks: Any, now: datetime, n_stored: int | None
) -> tuple[open_rounds.PlayState, int, Future | None] | _Repeat | None:
    """Validate and store the clicks under the round's row lock (locks the round's row); (the round as
    stored, t_ms of the last new click, the partner's queued forward), a _Repeat when the round holds
    every click of the post already (nothing is written), or None when time is up. The forward is
    queued before the clicks are written, so it runs while this transaction commits; its answer is read
    only after the commit. The process keeps a copy of the round for its next post (on commit)."""
    round_ = services.locked_round(player, round_id)
    repeated: int | None = 0
    if n_stored is not None and n_stored != round_.n_clicks:
        repeated = clicks_already_stored(round_.clicks, n_stored, raw_clicks)
        if repeated and repeated == len(raw_clicks):
            posted = PostedRound(round_.pk, round_.state, round_.score, round_.n_clicks)
            return _Repeat(posted, list(round_.last_guesses or []))
    if round_.state != Round.State.OPEN:
        raise Conflict(f"the round is {round_.state}", "round_closed")
    if repeated is None:
        raise Conflict(
            f"n_stored: the round holds {round_.n_clicks} clicks and this post does not repeat those stored"
            f" from {n_stored} on",
            "stored_clicks_differ",
        )
    if services.expired_by_clock(round_, now):
        services.round_close(round_, Round.State.EXPIRED, now=now)
        return None
    play = open_rounds.play_state_of(round_)
    try:
        clicks = _clicks_valid(play, raw_clicks[repeated:] if repeated else raw_clicks)
    except ClickRejected as error:
        raise ServiceError(str(error), error.code) from error
    play = replace(play, clicks=(*play.clicks, *clicks))
    round_.clicks, round_.n_clicks = list(play.clicks), play.n_clicks
    pending = partner_play.partner_submit(play, play.clicks)
    round_.save(update_fields=["clicks", "n_clicks"])
    open_rounds.keep(play)
    return play, clicks[-1][2], pending


@transaction.atomic
def _round_win(
    player: Player | int | None, round_id: int, guesses: list[dict[str, Any]], last_t_ms: int, now: datetime
) -> Round:
    """The partner recognised the image: the round is won, scored by the time it took (docs/SCIENCE.md 1)."""
    round_ = services.locked_round(player, round_id)
    if round_.state != Round.State.OPEN:
        return round_  # a concurrent post already won it, or it expired meanwhile
    server_elapsed_ms = (now - round_.started_at).total_seconds() * 1000.0
    # The browser's clock counts, but never more than the grace below the server's.
    elapsed_ms = int(max(last_t_ms, server_elapsed_ms - services.game_setting("CLICK_GRACE_MS")))
    elapsed_ms = min(max(elapsed_ms, 0), round_.time_limit_ms)
    round_.last_guesses = guesses
    services.round_close(
        round_,
        Round.State.WON,
        now=now,
        score=round_score(elapsed_ms, round_.time_limit_ms),
        recognized_at_ms=elapsed_ms,
    )
    return round_
