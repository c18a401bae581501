"""The figures of the staff monitoring page: health, activity, data, maps, jobs and the partner."""

from datetime import timedelta

from django.db.models import Avg, Count, Q
from django.utils import timezone

from annotations.models import ClickMap, Export
from annotations.services import stale_image_ids
from clickme_site import health
from game.models import Image, Partner, Player, Round
from training.models import ModelVersion, TrainingJob

COMPLETED = (Round.State.WON, Round.State.EXPIRED)


def _queue_lengths():
    from clickme_site.celery import app

    try:
        with app.connection_for_write() as conn:
            client = getattr(conn.default_channel, "client", None)
            if client is None:
                return {}
            return {queue: client.llen(queue) for queue in ("celery", "maps", "training")}
    except Exception:
        return {}


def dashboard_figures(now=None):
    now = now or timezone.now()
    hour, day = now - timedelta(hours=1), now - timedelta(days=1)
    rounds = Round.objects.aggregate(
        open=Count("id", filter=Q(state=Round.State.OPEN)),
        last_hour=Count("id", filter=Q(started_at__gte=hour)),
        last_day=Count("id", filter=Q(started_at__gte=day)),
        completed_day=Count("id", filter=Q(state__in=COMPLETED, finished_at__gte=day)),
        won_day=Count("id", filter=Q(state=Round.State.WON, finished_at__gte=day)),
        total=Count("id"),
    )
    rounds["win_rate_day"] = rounds["won_day"] / rounds["completed_day"] if rounds["completed_day"] else None
    maps = ClickMap.objects.aggregate(n=Count("id"), rho=Avg("split_half_rho"))
    return {
        "health": health.health_report()[0],
        "queues": _queue_lengths(),
        "players": {"total": Player.objects.count(), "new_day": Player.objects.filter(created_at__gte=day).count()},
        "rounds": rounds,
        "images": {
            "active": Image.objects.filter(active=True, retired=False).count(),
            "retired": Image.objects.filter(retired=True).count(),
        },
        "maps": {"n": maps["n"], "mean_split_half_rho": maps["rho"], "stale": len(stale_image_ids())},
        "exports": dict(Export.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n")),
        "jobs": list(TrainingJob.objects.order_by("-created_at")[:8]),
        "partner": Partner.objects.filter(is_active=True).first(),
        "models": ModelVersion.objects.count(),
        "now": now,
    }
