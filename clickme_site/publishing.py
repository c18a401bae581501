"""Queueing a task after commit without letting a broker outage fail the request that queued it.

The row that describes the work (an export, a training job) is the truth and is committed first; the
Celery message only wakes a worker. When the broker cannot be reached the request still succeeds, the
row stays without `published_at`, and the app's periodic sweep sends it again once the broker is back
(the tasks claim their row atomically, so a message delivered twice does the work once)."""

import logging
from collections.abc import Callable, Sequence
from typing import Any

from django.db import transaction

from .celery import app

log = logging.getLogger(__name__)


def send_now(name: str, *, args: Sequence[Any], on_sent: Callable[[], None]) -> bool:
    """Publish the task (no retry loop: the sweep is the retry); True when the broker took it."""
    try:
        app.send_task(name, args=list(args), retry=False)
    except Exception:  # kombu.exceptions.OperationalError, redis ConnectionError, a closed socket...
        log.warning("broker unreachable: %s%s left for the sweep", name, tuple(args), exc_info=True)
        return False
    on_sent()
    return True


def send_after_commit(name: str, *, args: Sequence[Any], on_sent: Callable[[], None]) -> None:
    """`send_now` once the surrounding transaction commits (at once outside one)."""
    transaction.on_commit(lambda: send_now(name, args=args, on_sent=on_sent))
