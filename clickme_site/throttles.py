"""Rate limits (docs/API.md: 429 `throttled` with Retry-After): DRF throttling on the cache, per session or
token user and per salted IP hash, one scope per kind of request (settings.CLICKME_THROTTLE_RATES).

A rate "N/period" is a sliding window: a request is let through when fewer than N requests of the same
(rate, identity) were let through in the `period` before it, so no span of `period` seconds ever holds
more than N (a fixed window lets 2N through around its turn). Each (rate, identity) keeps the times of
the requests it let through in that span. A request is checked against all its rates at once and
counted in all of them or none (a refused request counts nowhere). On Redis that is one Lua script
(sorted sets, atomic), one round trip per request; on another cache (the embedded default's file cache)
the same under a lock (a file lock beside the file cache, so that every process of `make run` shares it).

A request that would make a new player or participant (a round start, a nickname change or an
experiment join) from a browser without a stored session is also counted per IP in `new_session_ip`:
each such request makes a new session, so dropping the cookie would otherwise make every request a
first one. A made-up session cookie is no session: the session is read for these requests.

The throttle fails open: when the cache is unreachable (or slower than its timeout) the request goes
through and the failure is logged, and this process skips Redis for a moment (clickme_site/redis_skip.py)
so that a hung Redis costs a player at most one timeout, because the game must keep playing with Redis down.
"""

import contextlib
import fcntl
import hashlib
import hmac
import logging
import math
import os
import re
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from . import redis_skip

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
# Scopes whose request creates a player or a participant, and the session that holds it, when the
# browser has no session: such requests are counted per IP in NEW_SESSION_RATE as well.
SESSION_CREATING_SCOPES = frozenset({"round_start", "nickname", "experiment_join"})
NEW_SESSION_RATE = "new_session_ip"
RATE_RE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*(s|sec|second|m|min|minute|h|hour|d|day)\s*$")
PERIOD_S = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600}
PERIOD_S |= {"d": 86400, "day": 86400}

# KEYS: the request's buckets (sorted sets: member = a request let through, score = its time in ms).
# ARGV[1]: now (ms); ARGV[2]: this request's id; then each bucket's limit and period (ms).
# Returns 0 when the request is let through (and added to every bucket), else the ms until the
# fullest bucket has room (nothing is added anywhere).
SLIDING_WINDOW_LUA = """
local now = tonumber(ARGV[1])
local wait = 0
for i = 1, #KEYS do
  local limit = tonumber(ARGV[1 + 2 * i])
  local period = tonumber(ARGV[2 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - period)
  local count = redis.call('ZCARD', KEYS[i])
  if count >= limit then
    local oldest = redis.call('ZRANGE', KEYS[i], count - limit, count - limit, 'WITHSCORES')
    local free_at = tonumber(oldest[2]) + period
    if free_at - now > wait then wait = free_at - now end
  end
end
if wait > 0 then return math.max(1, math.ceil(wait)) end
for i = 1, #KEYS do
  redis.call('ZADD', KEYS[i], now, ARGV[2])
  redis.call('PEXPIRE', KEYS[i], math.ceil(tonumber(ARGV[2 + 2 * i])))
end
return 0
"""
SLIDING_WINDOW_SHA = hashlib.sha1(SLIDING_WINDOW_LUA.encode()).hexdigest()
LOCK_FILE = "throttle.lock"


@dataclass(frozen=True)
class Bucket:
    """One rate of one identity: at most `limit` requests in any `period_ms`."""

    key: str
    limit: int
    period_ms: float


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


def identity(request: Request, *, stored_session: bool = False) -> str | None:
    """The researcher's user id, else the player's session key; None for a first, cookieless visit.
    With `stored_session` the session is read first, so a cookie that names no stored session (made
    up, expired or deleted) counts as none."""
    user = getattr(request, "user", None)
    if user is not None and getattr(user, "is_authenticated", False):
        return f"user:{user.pk}"
    session = getattr(request, "session", None)
    if session is None:
        return None
    if stored_session and session.session_key:
        session.keys()  # loads it; Django forgets the key of a session it does not find
    key = session.session_key
    return f"session:{key}" if key else None


def _redis_client():
    """django-redis's client of the default cache, or None for another backend."""
    get_client = getattr(getattr(cache, "client", None), "get_client", None)
    return get_client(write=True) if get_client is not None else None


def _cache_server() -> str:
    location = settings.CACHES["default"].get("LOCATION", "")
    return location if isinstance(location, str) else ",".join(location)


def take_on_redis(client, buckets: list[Bucket], now_ms: float) -> float:
    """SLIDING_WINDOW_LUA in one round trip (EVALSHA; the script is sent along once per Redis)."""
    import redis

    keys = [cache.make_key(bucket.key) for bucket in buckets]
    args: list[str | int] = [f"{now_ms:.3f}", secrets.token_hex(8)]
    for bucket in buckets:
        args += [bucket.limit, f"{bucket.period_ms:.3f}"]
    try:
        return float(client.evalsha(SLIDING_WINDOW_SHA, len(keys), *keys, *args))
    except redis.exceptions.NoScriptError:
        return float(client.eval(SLIDING_WINDOW_LUA, len(keys), *keys, *args))


_local_lock = threading.Lock()


@contextlib.contextmanager
def _cache_lock() -> Iterator[None]:
    """This process's lock, and with the file-based cache a file lock in its folder (the processes of
    one machine share that folder, as they share the cache)."""
    with _local_lock:
        folder = getattr(cache, "_dir", None)
        if folder is None:
            yield
            return
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, LOCK_FILE), "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def take_in_cache(buckets: list[Bucket], now_ms: float) -> float:
    """SLIDING_WINDOW_LUA's rule on any Django cache: each bucket a list of times (ms), under a lock."""
    with _cache_lock():
        stored = cache.get_many([bucket.key for bucket in buckets])
        kept: dict[str, list[float]] = {}
        wait_ms = 0.0
        for bucket in buckets:
            times = sorted(t for t in stored.get(bucket.key, []) if t > now_ms - bucket.period_ms)
            if len(times) >= bucket.limit:
                wait_ms = max(wait_ms, times[len(times) - bucket.limit] + bucket.period_ms - now_ms, 1.0)
            kept[bucket.key] = times
        if wait_ms > 0:
            return wait_ms
        for bucket in buckets:
            cache.set(bucket.key, [*kept[bucket.key], now_ms], timeout=math.ceil(bucket.period_ms / 1000) + 1)
        return 0.0


class ScopedRateThrottle(BaseThrottle):
    """Counts the request against its scope's per-identity and per-IP rates (and a first visit's against
    the new sessions of its IP); refuses when any of them is full."""

    def __init__(self) -> None:
        self._wait_s: float | None = None

    def _take(self, buckets: list[Bucket]) -> float:
        """0 when the request is let through (and counted), else the seconds until it would be; 0 as
        well when the cache fails (logged)."""
        now_ms = time.time() * 1000
        server = _cache_server()
        try:
            client = _redis_client()
            if client is None:
                return take_in_cache(buckets, now_ms) / 1000
            if not redis_skip.available(server):
                return 0.0  # skipped after a recent failure: let it through without waiting
            try:
                return take_on_redis(client, buckets, now_ms) / 1000
            except Exception as error:
                redis_skip.failed(server, error)
                raise
        except Exception as error:  # an outage of the cache must not stop the game: let it through
            log.warning("throttle: the cache failed (%s); request allowed", error)
            return 0.0

    def allow_request(self, request: Request, view: object) -> bool:
        scope = request_scope(request)
        if scope is None:
            return True
        rates = settings.CLICKME_THROTTLE_RATES
        creating = scope in SESSION_CREATING_SCOPES
        who = identity(request, stored_session=creating)
        # get_ident: REMOTE_ADDR, or X-Forwarded-For as seen by the last NUM_PROXIES trusted proxies
        address = ip_hash(self.get_ident(request))
        checks = [(scope, who), (f"{scope}_ip", address)]
        if creating and who is None:
            checks.append((NEW_SESSION_RATE, address))
        buckets = []
        for rate_name, whom in checks:
            if whom is None or not rates.get(rate_name):
                continue
            limit, period_s = parse_rate(rates[rate_name])
            buckets.append(Bucket(f"throttle:{rate_name}:{whom}", limit, period_s * 1000.0))
        if not buckets:
            return True
        wait_s = self._take(buckets)
        if wait_s > 0:
            self._wait_s = wait_s
            return False
        return True

    def wait(self) -> float | None:
        return None if self._wait_s is None else max(1.0, math.ceil(self._wait_s))
