"""Reads of the game: the image a player gets next, a player's totals and the leaderboard."""

import random
from datetime import datetime, timedelta
from typing import Any

from django.contrib.sessions.backends.base import SessionBase
from django.db.models import Count, Exists, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from .models import COMPLETED_STATES, Image, Playability, Player, Round, anonymous_name

SESSION_PLAYER_KEY = "clickme_player_id"
LEADERBOARD_PERIODS = {"day": timedelta(days=1), "week": timedelta(days=7), "all": None}


def session_player(*, session: SessionBase) -> Player | None:
    """The session's player, or None when it has none yet (reading writes nothing)."""
    player_id = session.get(SESSION_PLAYER_KEY)
    return Player.objects.filter(pk=player_id).first() if player_id is not None else None


def assignable_image_id(
    *, player_id: int | None, threshold: float | None = None, playable_only: bool = False
) -> int | None:
    """The image a player gets next, in one query: among the active, unretired images this player has
    not had, those with the fewest map-eligible rounds (docs/SCIENCE.md section 1), and among those a random
    one: the first whose `random_key` is at or above a random threshold, wrapping round to the
    smallest key. Each step walks the partial index (completed_rounds, random_key), so the cost does
    not grow with the number of images (bench/assignment.py: 1 million images). None when none is left.
    `playable_only`: only images screened playable against the active partner (their own partial index).

    The draw is random over the whole tie, not uniform: an image is drawn in proportion to the gap
    below its key; as images are played they leave the tie, which evens it out."""
    threshold = random.random() if threshold is None else threshold
    played = Round.objects.filter(player_id=player_id, image_id=OuterRef("pk"))  # type: ignore[misc]  # None: IS NULL, as Django reads it
    servable = Image.objects.filter(active=True, retired=False)
    if playable_only:
        servable = servable.filter(playability=Playability.PLAYABLE)
    open_to_player = servable.exclude(Exists(played))
    fewest = open_to_player.order_by("completed_rounds").values("completed_rounds")[:1]
    tie = open_to_player.filter(completed_rounds=Subquery(fewest))
    at_or_above = tie.filter(random_key__gte=threshold).order_by("random_key").values("pk")[:1]
    lowest = tie.order_by("random_key").values("pk")[:1]
    pick = Image.objects.filter(pk=Coalesce(Subquery(at_or_above), Subquery(lowest)))
    return pick.values_list("pk", flat=True).first()


def player_totals(*, player: Player | int) -> dict[str, int]:
    """Score and rounds of a completed kind (won or expired); skipped rounds are counted apart."""
    totals = Round.objects.filter(player=player).aggregate(
        total_score=Sum("score", filter=Q(state__in=COMPLETED_STATES)),
        rounds_played=Count("id", filter=Q(state__in=COMPLETED_STATES)),
        rounds_won=Count("id", filter=Q(state=Round.State.WON)),
        rounds_skipped=Count("id", filter=Q(state=Round.State.SKIPPED)),
    )
    return {
        "total_score": totals["total_score"] or 0,
        "rounds_played": totals["rounds_played"],
        "rounds_won": totals["rounds_won"],
        "rounds_skipped": totals["rounds_skipped"],
    }


def leaderboard(
    *, period: str, limit: int, now: datetime | None = None, me_player_id: int | None = None
) -> list[dict[str, Any]]:
    """Players ranked by the score of rounds finished in the period (rolling day or week, or all time).
    Equal scores share a rank (standard competition ranking); `is_me` marks the row of `me_player_id`."""
    # flagged rounds and banned players are left out (game/round_quality.py, game/moderation.py)
    rounds = Round.objects.filter(state__in=COMPLETED_STATES, flagged=False, player__banned_at__isnull=True)
    window = LEADERBOARD_PERIODS[period]
    if window is not None:
        rounds = rounds.filter(finished_at__gte=(now or timezone.now()) - window)
    rows = (
        rounds.values("player_id", "player__nickname", "player__nickname_hidden", "player__public_id")
        .annotate(score=Sum("score"), rounds_won=Count("id", filter=Q(state=Round.State.WON)))
        .filter(score__gt=0)
        .order_by("-score", "-rounds_won", "player_id")[:limit]
    )
    entries: list[dict[str, Any]] = []
    previous_score, rank = None, 0
    for position, row in enumerate(rows, start=1):
        if row["score"] != previous_score:
            rank, previous_score = position, row["score"]
        shown = row["player__nickname"] and not row["player__nickname_hidden"]
        nickname = row["player__nickname"] if shown else anonymous_name(row["player__public_id"])
        entries.append(
            {
                "rank": rank,
                "nickname": nickname,
                "score": row["score"],
                "rounds_won": row["rounds_won"],
                "is_me": me_player_id is not None and row["player_id"] == me_player_id,
            }
        )
    return entries
