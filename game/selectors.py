"""Reads of the game: a player's totals and the leaderboard."""

from datetime import timedelta

from django.db.models import Count, Q, Sum
from django.utils import timezone

from .models import COMPLETED_STATES, Round, anonymous_name

LEADERBOARD_PERIODS = {"day": timedelta(days=1), "week": timedelta(days=7), "all": None}
COMPLETED = COMPLETED_STATES


def player_totals(player):
    """Score and rounds of a completed kind (won or expired); skipped rounds are counted apart."""
    totals = Round.objects.filter(player=player).aggregate(
        total_score=Sum("score", filter=Q(state__in=COMPLETED)),
        rounds_played=Count("id", filter=Q(state__in=COMPLETED)),
        rounds_won=Count("id", filter=Q(state=Round.State.WON)),
        rounds_skipped=Count("id", filter=Q(state=Round.State.SKIPPED)),
    )
    return {
        "total_score": totals["total_score"] or 0,
        "rounds_played": totals["rounds_played"],
        "rounds_won": totals["rounds_won"],
        "rounds_skipped": totals["rounds_skipped"],
    }


def leaderboard(period, limit, now=None, me_player_id=None):
    """Players ranked by the score of rounds finished in the period (rolling day or week, or all time).
    Equal scores share a rank (standard competition ranking); `is_me` marks the row of `me_player_id`."""
    rounds = Round.objects.filter(state__in=COMPLETED)
    window = LEADERBOARD_PERIODS[period]
    if window is not None:
        rounds = rounds.filter(finished_at__gte=(now or timezone.now()) - window)
    rows = (
        rounds.values("player_id", "player__nickname", "player__public_id")
        .annotate(score=Sum("score"), rounds_won=Count("id", filter=Q(state=Round.State.WON)))
        .filter(score__gt=0)
        .order_by("-score", "-rounds_won", "player_id")[:limit]
    )
    entries, previous_score, rank = [], None, 0
    for position, row in enumerate(rows, start=1):
        if row["score"] != previous_score:
            rank, previous_score = position, row["score"]
        nickname = row["player__nickname"] or anonymous_name(row["player__public_id"])
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
