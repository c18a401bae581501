"""Celery tasks of the game (thin: call a service)."""

from celery import shared_task

from . import services


@shared_task(name="game.tasks.rounds_expire_stale")
def rounds_expire_stale():
    return services.rounds_expire_stale()
