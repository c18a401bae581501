"""Rate limits (docs/API.md: 429 `throttled` with Retry-After): DRF throttling on the cache, per session or
token user and per salted IP hash, one scope per kind of request (settings.CLICKME_THROTTLE_RATES).

Each (scope, identity, window) is one counter incremented atomically in the cache (a fixed window); on
Redis a request's counters (its identity's and its IP's) take one pipelined round trip. The throttle fails open: when the cache is unreachable the
request goes through and the failure is logged, because the game must keep playing with Redis down.
"""

import hashlib
import hmac
import logging
import math
import re
import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

log = logging.getLogger(__name__)

# (URL name, method) -> scope; any other request under /api/game/ is "game", under /api/v1/ "research",
# under /api/experiments/ (the participants of the psychophysics experiment) "experiment".
SCOPES = {
    ("game:rounds", "POST"): "round_start",
    ("game:clicks", "POST"): "clicks",
    ("game:me", "PATCH"): "nickname",
    ("exports", "POST"): "exports",
    ("training-jobs", "POST"): "training_jobs",
    ("psychophysics-api:participant", "POST"): "experiment_join",
}
PREFIXES = (("/api/game/", "game"), ("/api/v1/", "research"), ("/api/experiments/", "experiment"))
RATE_RE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*(s|sec|second|m|min|minute|h|hour|d|day)\s*$")
PERIOD_S = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600}
PERIOD_S |= {"d": 86400, "day": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """ "40/min" -> (40, 60); "20/10s" -> (20, 10). ValueError for anything else."""
    match = RATE_RE.match(rate or "")
    if match is None:
        raise ValueError(f"not a rate: {rate!r} (expected N/period, e.g. 40/min or 20/10s)")
    count, multiple, unit = match.groups()
    return int(count), int(multiple or 1) * PERIOD_S[unit]


def request_scope(request: Request) -> str | None:
    match = request.resolver_match
    name = match.view_name if match is not None else ""
    scope = SCOPES.get((name, request.method or ""))
    if scope is not None:
        return scope
    for prefix, fallback in PREFIXES:
        if request.path.startswith(prefix):
            return fallback
    return None


def ip_hash(address: str) -> str:
    salt = settings.CLICKME["IP_HASH_SALT"].encode()
    return hmac.new(salt, (address or "").encode(), hashlib.sha256).hexdigest()[:32]


def identity(request: Request) -> str | None:
    """The researcher's user id, else the player's session key; None for a first, cookieless visit."""
    user = getattr(request, "user", None)
    if user is not None and getattr(user, "is_authenticated", False):
        return f"user:{user.pk}"
    session = getattr(request, "session", None)
    key = session.session_key if session is not None else None
    return f"session:{key}" if key else None


class ScopedRateThrottle(BaseThrottle):
    """Counts the request against its scope's per-identity and per-IP rates; refuses past either."""

    def __init__(self) -> None:
        self._wait: float | None = None

    def _count(self, key: str, period_s: int) -> int | None:
        """This window's count after this request, or None when the cache did not answer."""
        try:
            try:
                return cache.incr(key)
            except ValueError:  # first request of the window
                if cache.add(key, 1, timeout=period_s + 1):
                    return 1
                return cache.incr(key)
        except Exception as error:  # an outage of the cache must not stop the game: let it through
            log.warning("throttle: the cache failed (%s); request allowed", error)
            return None

    def _counts(self, counters: list[tuple[str, int]]) -> list[int | None]:
        """The counts of several (key, period) counters after this request. On Redis all of them in one
        pipelined round trip (INCR, then EXPIRE NX so that the first request of a window sets its
        expiry); on another cache backend one `_count` each."""
        get_client = getattr(getattr(cache, "client", None), "get_client", None)
        if get_client is None:
            return [self._count(key, period_s) for key, period_s in counters]
        try:
            pipe = get_client(write=True).pipeline(transaction=False)
            for key, period_s in counters:
                full_key = cache.make_key(key)
                pipe.incr(full_key)
                pipe.expire(full_key, period_s + 1, nx=True)
            replies = pipe.execute()
        except Exception as error:  # an outage of the cache must not stop the game: let it through
            log.warning("throttle: the cache failed (%s); request allowed", error)
            return [None] * len(counters)
        return [int(count) for count in replies[0::2]]

    def allow_request(self, request: Request, view: object) -> bool:
        scope = request_scope(request)
        if scope is None:
            return True
        rates = settings.CLICKME_THROTTLE_RATES
        # get_ident: REMOTE_ADDR, or X-Forwarded-For as seen by the last NUM_PROXIES trusted proxies
        checks = [(scope, identity(request)), (f"{scope}_ip", ip_hash(self.get_ident(request)))]
        now = time.time()
        windows = []  # (limit, period, window, key) of each rate that applies
        for rate_name, who in checks:
            if who is None or not rates.get(rate_name):
                continue
            limit, period_s = parse_rate(rates[rate_name])
            window = int(now // period_s)
            windows.append((limit, period_s, window, f"throttle:{rate_name}:{who}:{window}"))
        counts = self._counts([(key, period_s) for _limit, period_s, _window, key in windows])
        for (limit, period_s, window, _key), count in zip(windows, counts, strict=True):
            if count is not None and count > limit:
                self._wait = (window + 1) * period_s - now
                return False
        return True

    def wait(self) -> float | None:
        return None if self._wait is None else max(1.0, math.ceil(self._wait))
