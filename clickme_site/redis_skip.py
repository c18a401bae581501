"""A circuit breaker for Redis on the players' request path (the throttle's cache, the broker's
publishes): once a call to a server fails or times out, this process skips that server for
settings.CLICKME_REDIS["SKIP_S"] seconds instead of letting every request wait for its own timeout.
What a skip costs is decided by the caller: the throttle lets the request through, a publish is left
to beat's sweeps. Nothing a player submitted depends on Redis: rounds and clicks are in the database.
"""

import logging
import time

from django.conf import settings

log = logging.getLogger(__name__)

# server (its URL or cache location) -> time.monotonic() until which it is skipped; per process
_skipped_until: dict[str, float] = {}


def available(server: str) -> bool:
    """False while `server` is skipped after a failure."""
    return time.monotonic() >= _skipped_until.get(server, 0.0)


def failed(server: str, error: BaseException) -> None:
    """Skip `server` for the next SKIP_S seconds (logged once per failure that opens a skip)."""
    skip_s = settings.CLICKME_REDIS["SKIP_S"]
    if available(server):
        log.warning("redis %s failed (%s): skipped by this process for %.1f s", _safe(server), error, skip_s)
    _skipped_until[server] = time.monotonic() + skip_s


def reset() -> None:
    """Forget every failure (tests, and a process that knows the servers are back)."""
    _skipped_until.clear()


def _safe(server: str) -> str:
    """The server's URL without a password."""
    scheme, sep, rest = server.partition("://")
    if sep and "@" in rest:
        return f"{scheme}://***@{rest.rpartition('@')[2]}"
    return server
