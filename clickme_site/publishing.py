"""Queueing a task after commit without letting a broker outage fail, or hold up, the request that queued it.

The row that describes the work (an export, a training job, a finished round whose map is due) is the
truth and is committed first; the Celery message only wakes a worker. When the broker cannot be reached
the request still succeeds, the row stays without `published_at` (or the map stays out of date), and the
app's periodic sweep sends it again once the broker is back (the tasks claim their row atomically, so a
message delivered twice does the work once).

Publishes from here use a producer pool of their own whose broker calls wait at most
settings.CLICKME_REDIS["PUBLISH_TIMEOUT_S"] (connect and read; Celery's own connection waits forever on a
Redis that accepts connections but does not answer), and after a failure this process skips the broker
for a moment (clickme_site/redis_skip.py): a hung broker costs a request one short timeout, not its whole
hang. The workers' consuming connections are Celery's own, untouched.
"""

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

from django.conf import settings
from django.db import transaction
from kombu.exceptions import OperationalError
from kombu.pools import ProducerPool

from . import redis_skip
from .celery import app

log = logging.getLogger(__name__)
POOL_LIMIT = 16  # publishing connections per process (gunicorn's threads, at most)

_pools: dict[str, ProducerPool] = {}
_pools_lock = threading.Lock()


def _timeout_s() -> float:
    return settings.CLICKME_REDIS["PUBLISH_TIMEOUT_S"]


def _producer_pool(url: str) -> ProducerPool:
    """This process's pool of producers on `url`, each connection with the short timeouts."""
    with _pools_lock:
        pool = _pools.get(url)
        if pool is None:
            timeout = _timeout_s()
            connection = app.connection_for_write(
                connect_timeout=timeout,
                transport_options={
                    "socket_timeout": timeout,
                    "socket_connect_timeout": timeout,
                    "max_retries": 0,  # kombu's connect would otherwise retry until connect_timeout
                },
            )
            pool = _pools[url] = ProducerPool(connection.Pool(limit=POOL_LIMIT), Producer=app.amqp.Producer)
        return pool


def _pool_discard(url: str) -> None:
    """Drop the pool after a failure: a connection may be left in the middle of a command."""
    with _pools_lock:
        pool = _pools.pop(url, None)
    if pool is not None:
        try:
            pool.connections.force_close_all()
        except Exception:  # closing what is already broken
            log.debug("closing the publishing connections of %s failed", url, exc_info=True)


def publish(name: str, *, args: Sequence[Any] = ()) -> None:
    """Publish the task now, no retry (the sweeps are the retry). Raises kombu's OperationalError when
    the broker did not take it within the timeout, and at once while this process skips the broker."""
    url = app.conf.broker_write_url
    if not redis_skip.available(url):
        raise OperationalError("the broker failed a moment ago: skipped for now")
    try:
        with _producer_pool(url).acquire(block=True, timeout=_timeout_s()) as producer:
            app.send_task(name, args=list(args), producer=producer, retry=False)
    except Exception as error:
        redis_skip.failed(url, error)
        _pool_discard(url)
        if isinstance(error, OperationalError):
            raise
        raise OperationalError(str(error)) from error


def send_now(name: str, *, args: Sequence[Any], on_sent: Callable[[], None]) -> bool:
    """Publish the task (no retry loop: the sweep is the retry); True when the broker took it."""
    try:
        publish(name, args=args)
    except Exception:  # kombu.exceptions.OperationalError, redis ConnectionError, a closed socket...
        log.warning("broker unreachable: %s%s left for the sweep", name, tuple(args), exc_info=True)
        return False
    on_sent()
    return True


def send_after_commit(name: str, *, args: Sequence[Any], on_sent: Callable[[], None]) -> None:
    """`send_now` once the surrounding transaction commits (at once outside one)."""
    transaction.on_commit(lambda: send_now(name, args=args, on_sent=on_sent))
