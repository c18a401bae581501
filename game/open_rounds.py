"""The open rounds a web process plays, kept in the process between their click posts.

A click post needs its round's image, partner and stored clicks. Reading them under a row lock cost
every post a transaction of four statements (BEGIN; SELECT ... FOR UPDATE joining the image and the
partner; UPDATE; COMMIT). A process now keeps a copy of each open round it has served (`PlayState`),
made once by a plain SELECT (or from the locked path's row), and stores a post's clicks with one
conditional UPDATE, committed on its own:

    UPDATE game_round SET clicks = <the copy's clicks + the new ones>, n_clicks = <n + k>
     WHERE id = <round> AND player_id = <player> AND started_at = <start> AND state = 'open'
       AND n_clicks = <n>

It applies only while the row holds exactly the clicks the copy holds: PostgreSQL re-checks the
condition on the row it waited for, so a concurrent post (another thread or process), a close, a skip
or an expiry since the copy was made updates nothing; the copy is dropped and the post takes the locked
path (game/click_post.py), which reads the row again. The copy only ever saves a read: the clicks are
appended to the row they were checked against and committed before the answer. A copy is kept only
once what it holds is committed (transaction.on_commit), so it is never ahead of the database.
"""

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import TextField
from django.db.models.functions import MD5, Cast
from django.utils import timezone

from .click_rules import clicks_window_ms, past_deadline
from .models import Round

# Copies kept per process, at most: a copy of a full round is about 30 KB, and copies past their
# round's deadline (which can never take a click) are dropped as they are met.
MAX_KEPT = 1024


@dataclass(frozen=True)
class PartnerFacts:
    """What playing needs of a round's partner (the fields game.partner.PartnerSpec.of reads)."""

    pk: int
    architecture: str
    weights_file: str
    input_size: int
    mean: tuple
    std: tuple
    mapping_md5: str


@dataclass(frozen=True)
class PlayState:
    """An open round as a click post sees it: the facts fixed at its start and the clicks stored."""

    pk: int
    player_id: int
    started_at: datetime
    time_limit_ms: int
    image_id: int
    image_file: str
    width: int
    height: int
    category_id: int
    partner: PartnerFacts | None
    clicks: tuple  # of [x, y, t_ms] lists, as stored

    @property
    def n_clicks(self) -> int:
        return len(self.clicks)

    def past_deadline(self, now: datetime) -> bool:
        """The round can take no click any more (game/click_rules.py past_deadline)."""
        return past_deadline(self.started_at, self.time_limit_ms, clicks_window_ms(settings.CLICKME), now)


_FIELDS = (
    "pk",
    "player_id",
    "started_at",
    "time_limit_ms",
    "image_id",
    "image__file",
    "image__width",
    "image__height",
    "image__category_id",
    "partner_id",
    "partner__architecture",
    "partner__weights_file",
    "partner__input_size",
    "partner__mean",
    "partner__std",
    "clicks",
)


def _state(values: dict, mapping_md5: str | None) -> PlayState:
    partner = None
    if values["partner_id"] is not None:
        partner = PartnerFacts(
            pk=values["partner_id"],
            architecture=values["partner__architecture"],
            weights_file=values["partner__weights_file"],
            input_size=values["partner__input_size"],
            mean=tuple(values["partner__mean"]),
            std=tuple(values["partner__std"]),
            mapping_md5=mapping_md5 or "",
        )
    return PlayState(
        pk=values["pk"],
        player_id=values["player_id"],
        started_at=values["started_at"],
        time_limit_ms=values["time_limit_ms"],
        image_id=values["image_id"],
        image_file=values["image__file"],
        width=values["image__width"],
        height=values["image__height"],
        category_id=values["image__category_id"],
        partner=partner,
        clicks=tuple(values["clicks"]),
    )


def play_state_of(round_: Round) -> PlayState:
    """The PlayState of a round row loaded with its image and partner (the locked path's row, which
    carries the partner mapping's md5 as `partner_mapping_md5`)."""
    partner = round_.partner
    values = {
        "pk": round_.pk,
        "player_id": round_.player_id,
        "started_at": round_.started_at,
        "time_limit_ms": round_.time_limit_ms,
        "image_id": round_.image_id,
        "image__file": round_.image.file.name,
        "image__width": round_.image.width,
        "image__height": round_.image.height,
        "image__category_id": round_.image.category_id,
        "partner_id": round_.partner_id,
        "partner__architecture": partner.architecture if partner else None,
        "partner__weights_file": partner.weights_file if partner else None,
        "partner__input_size": partner.input_size if partner else None,
        "partner__mean": partner.mean if partner else (),
        "partner__std": partner.std if partner else (),
        "clicks": round_.clicks,
    }
    return _state(values, getattr(round_, "partner_mapping_md5", None))


def load(*, round_id: int, player_id: int) -> PlayState | None:
    """The round's PlayState read without a lock; None unless it is this player's and open."""
    row = (
        Round.objects.filter(pk=round_id, player_id=player_id, state=Round.State.OPEN)
        .annotate(mapping_md5=MD5(Cast("partner__category_mapping", TextField())))
        .values(*_FIELDS, "mapping_md5")
        .first()
    )
    return None if row is None else _state(row, row["mapping_md5"])


_kept: "OrderedDict[int, PlayState]" = OrderedDict()
_lock = threading.Lock()


def kept(*, round_id: int, player_id: int) -> PlayState | None:
    """This process's copy of the round, if it has one for this player."""
    with _lock:
        state = _kept.get(round_id)
        if state is None or state.player_id != player_id:
            return None
        if state.past_deadline(timezone.now()):
            del _kept[round_id]
            return None
        _kept.move_to_end(round_id)
        return state


def keep(state: PlayState) -> None:
    """Keep `state` as the round's copy once the transaction that stored it commits (at once outside
    one); a copy that holds more clicks is never replaced by one that holds fewer."""

    def store() -> None:
        with _lock:
            current = _kept.get(state.pk)
            if current is not None and current.started_at == state.started_at and current.n_clicks > state.n_clicks:
                return
            _kept[state.pk] = state
            _kept.move_to_end(state.pk)
            now = timezone.now()  # the least recently posted first: drop those past their deadline
            while _kept and (len(_kept) > MAX_KEPT or next(iter(_kept.values())).past_deadline(now)):
                _kept.popitem(last=False)

    transaction.on_commit(store)


def drop(round_id: int) -> None:
    with _lock:
        _kept.pop(round_id, None)


def clear() -> None:
    with _lock:
        _kept.clear()


def clicks_store(state: PlayState, clicks: list) -> PlayState | None:
    """Append `clicks` to the round if its row still holds exactly `state`'s clicks and is open: the
    new PlayState (kept), or None when the row has changed since (the copy is dropped)."""
    stored = [*state.clicks, *clicks]
    table = Round._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET clicks = %s, n_clicks = %s"  # noqa: S608 (the table's name, not input)
            " WHERE id = %s AND player_id = %s AND started_at = %s AND state = %s AND n_clicks = %s",
            [
                json.dumps(stored),
                len(stored),
                state.pk,
                state.player_id,
                connection.ops.adapt_datetimefield_value(state.started_at),  # as the backend stores it
                Round.State.OPEN,
                state.n_clicks,
            ],
        )
        updated = cursor.rowcount
    if updated != 1:
        drop(state.pk)
        return None
    new_state = replace(state, clicks=tuple(stored))
    keep(new_state)
    return new_state
