"""The figures of the staff monitoring page: health, activity, data, maps, jobs and the partner,
and the series its plots draw (frontend/selectors.py)."""

from datetime import datetime, timedelta
from typing import Any

from django.db.models import Avg, Count, Q
from django.utils import timezone

from annotations.models import ClickMap, Export
from annotations.selectors import stale_image_ids
from clickme_site import health
from game.models import COMPLETED_STATES, Image, Partner, Player, Round
from game.partner_validity import promotion_refusal
from game.screening import playability_counts
from training.models import ModelVersion, TrainingJob

from . import selectors

# What engineer validity's partner report writes into Partner.metrics["validity"], in display order.
VALIDITY_KEYS = (
    "n_screened",
    "n_playable",
    "zero_click_win",
    "careless_win",
    "careful_win",
    "chance",
    "careful_median_clicks",
    "careful_median_ms",
    "n_images",
    "top_k",
    "computed_at",
)
TRAINING_CURVES = 5


def _queue_lengths() -> dict[str, int]:
    from clickme_site.celery import app

    try:
        with app.connection_for_write() as conn:
            client = getattr(conn.default_channel, "client", None)
            if client is None:
                return {}
            return {queue: client.llen(queue) for queue in ("celery", "maps", "training")}
    except Exception:
        return {}


def partner_validity(partner: Partner | None) -> list[tuple[str, Any]] | None:
    """The active partner's game-validity numbers (docs/SCIENCE.md section 1), when they were computed."""
    validity = (partner.metrics or {}).get("validity") if partner is not None else None
    if not isinstance(validity, dict):
        return None
    return [(key, validity[key]) for key in VALIDITY_KEYS if key in validity]


def validity_refusal(partner: Partner | None) -> str | None:
    """Which of the game's targets the active partner's report misses (game/promotion_rule.py), if any."""
    validity = (partner.metrics or {}).get("validity") if partner is not None else None
    return promotion_refusal(validity) if isinstance(validity, dict) and "chance" in validity else None


def dashboard_figures(now: datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    hour, day = now - timedelta(hours=1), now - timedelta(days=1)
    rounds = Round.objects.aggregate(
        open=Count("id", filter=Q(state=Round.State.OPEN)),
        last_hour=Count("id", filter=Q(started_at__gte=hour)),
        last_day=Count("id", filter=Q(started_at__gte=day)),
        completed_day=Count("id", filter=Q(state__in=COMPLETED_STATES, finished_at__gte=day)),
        won_day=Count("id", filter=Q(state=Round.State.WON, finished_at__gte=day)),
        total=Count("id"),
    )
    rounds["win_rate_day"] = rounds["won_day"] / rounds["completed_day"] if rounds["completed_day"] else None
    maps = ClickMap.objects.aggregate(n=Count("id"), rho=Avg("split_half_rho"))
    partner = Partner.objects.filter(is_active=True).first()
    return {
        "health": health.health_report()[0],
        "queues": _queue_lengths(),
        "players": {"total": Player.objects.count(), "new_day": Player.objects.filter(created_at__gte=day).count()},
        "rounds": rounds,
        "images": {
            "active": Image.objects.filter(active=True, retired=False).count(),
            "retired": Image.objects.filter(retired=True).count(),
            "playability": playability_counts(),
        },
        "maps": {"n": maps["n"], "mean_split_half_rho": maps["rho"], "stale": len(stale_image_ids())},
        "exports": dict(Export.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n")),
        "jobs": list(TrainingJob.objects.order_by("-created_at")[:8]),
        "partner": partner,
        "validity": partner_validity(partner),
        "validity_refusal": validity_refusal(partner),
        "models": ModelVersion.objects.count(),
        "now": now,
    }


def dashboard_series(now: datetime | None = None) -> dict[str, Any]:
    """What the plots draw, as plain JSON-ready values."""
    now = now or timezone.now()
    week = selectors.rounds_per_hour(now=now, hours=24 * 7)
    return {
        "generated_at": now.isoformat(),
        "activity_day": {key: values[-24:] for key, values in week.items()},  # the week's last 24 hours
        "activity_week": week,
        "coverage": selectors.map_coverage_by_category(),
        "split_half_rho": selectors.split_half_rho_by_day(now=now, days=30),
        "win_rate": selectors.partner_win_rate_by_day(now=now, days=14),
        "training": selectors.training_curves(limit=TRAINING_CURVES),
    }
