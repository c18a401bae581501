"""Celery tasks of the game (thin: call a service)."""

from celery import shared_task

from . import queueing, screening, services
from .models import Partner


@shared_task(name="game.tasks.rounds_expire_stale")
def rounds_expire_stale():
    return services.rounds_expire_stale()


@shared_task(name="game.tasks.images_screen", soft_time_limit=540, time_limit=600)
def images_screen(max_images: int = 1024):
    """Screen up to max_images images the active partner has not screened (docs/SCIENCE.md section 1),
    a committed batch at a time, then queue the rest: a long import never holds one task for hours."""

    partner = Partner.objects.filter(is_active=True).first()
    if partner is None:
        return 0
    done = screening.screen_pending(partner=partner, max_images=max_images)
    if done and screening.unscreened_images(partner=partner, limit=1):
        queueing.images_screen_queue()
    return done
