"""Reads behind the staff dashboard's plots: each one aggregate query, grouped in the database, so the
cost grows with the number of bins (hours, days, categories), not with the number of rounds."""

from datetime import datetime, timedelta
from typing import Any

from django.db.models import Avg, Count, Q
from django.db.models.functions import TruncDay, TruncHour

from annotations.models import ClickMap
from game.models import COMPLETED_STATES, Category, Round
from training.models import TrainingJob

# Per-epoch numbers of a training job's history that the dashboard plots (training/trainer.py).
CURVE_KEYS = ("train_loss", "train_top1", "val_top1", "val_attention_rho")


def _bins(start: datetime, step: timedelta, count: int) -> list[datetime]:
    return [start + k * step for k in range(count)]


def rounds_per_hour(*, now: datetime, hours: int) -> dict[str, list]:
    """Rounds started and distinct players active in each of the last `hours` whole hours (UTC),
    the current hour last."""
    start = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours - 1)
    rows = (
        Round.objects.filter(started_at__gte=start)
        .annotate(hour=TruncHour("started_at"))
        .values("hour")
        .annotate(rounds=Count("id"), players=Count("player_id", distinct=True))
    )
    by_hour = {row["hour"]: row for row in rows}
    hours_ = _bins(start, timedelta(hours=1), hours)
    return {
        "hours": [hour.isoformat() for hour in hours_],
        "rounds": [by_hour.get(hour, {}).get("rounds", 0) for hour in hours_],
        "players": [by_hour.get(hour, {}).get("players", 0) for hour in hours_],
    }


def map_coverage_by_category() -> list[dict[str, Any]]:
    """For each category: its images in play and how many of all its images have a ClickMap."""
    rows = Category.objects.annotate(
        n_images=Count("images", distinct=True),
        n_active=Count("images", filter=Q(images__active=True, images__retired=False), distinct=True),
        n_maps=Count("images__clickmap", distinct=True),
    ).values("name", "n_images", "n_active", "n_maps")
    return [dict(row) for row in rows.order_by("name")]


def split_half_rho_by_day(*, now: datetime, days: int) -> dict[str, list]:
    """Mean split-half rho (docs/SCIENCE.md section 2) of the maps rebuilt on each of the last `days` days,
    by the day of their latest rebuild (a map's earlier values are not kept)."""
    start = (now - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    rows = (
        ClickMap.objects.filter(updated_at__gte=start, split_half_rho__isnull=False)
        .annotate(day=TruncDay("updated_at"))
        .values("day")
        .annotate(rho=Avg("split_half_rho"), n=Count("id"))
    )
    by_day = {row["day"]: row for row in rows}
    days_ = _bins(start, timedelta(days=1), days)
    return {
        "days": [day.date().isoformat() for day in days_],
        "mean_rho": [by_day[day]["rho"] if day in by_day else None for day in days_],
        "n_maps": [by_day.get(day, {}).get("n", 0) for day in days_],
    }


def partner_win_rate_by_day(*, now: datetime, days: int) -> dict[str, Any]:
    """Share of completed rounds won on each of the last `days` days, one series per partner that
    played in them (skipped rounds are neither won nor lost)."""
    start = (now - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    rows = (
        Round.objects.filter(state__in=COMPLETED_STATES, finished_at__gte=start)
        .annotate(day=TruncDay("finished_at"))
        .values("day", "partner__name")
        .annotate(completed=Count("id"), won=Count("id", filter=Q(state=Round.State.WON)))
    )
    days_ = _bins(start, timedelta(days=1), days)
    series: dict[str, dict[datetime, tuple[int, int]]] = {}
    for row in rows:
        series.setdefault(row["partner__name"] or "(none)", {})[row["day"]] = (row["won"], row["completed"])
    return {
        "days": [day.date().isoformat() for day in days_],
        "partners": [
            {
                "name": name,
                "win_rate": [by_day[day][0] / by_day[day][1] if day in by_day else None for day in days_],
                "completed": [by_day.get(day, (0, 0))[1] for day in days_],
            }
            for name, by_day in sorted(series.items())
        ],
    }


def training_curves(*, limit: int) -> list[dict[str, Any]]:
    """The per-epoch history of the `limit` latest training jobs that have one."""
    jobs = (
        TrainingJob.objects.exclude(history=[])
        .order_by("-created_at")
        .values("id", "status", "config", "history", "created_at")[:limit]
    )
    curves = []
    for job in jobs:
        epochs = [record for record in job["history"] if isinstance(record, dict) and "epoch" in record]
        curves.append(
            {
                "id": str(job["id"]),
                "label": f"{job['config'].get('arch', '?')} {str(job['id'])[:8]} ({job['status']})",
                "epochs": [record["epoch"] for record in epochs],
                **{key: [record.get(key) for record in epochs] for key in CURVE_KEYS},
            }
        )
    return curves
