"""The processes of test_throttling's concurrency test, started by forkserver: a fork of the test
runner, whose earlier tests left threads running (torch's, the partner's forward thread), can hand
the child a lock no thread will release, and it hangs. A forkserver child starts from a clean
process, so it sets Django up itself and is told which cache the throttle uses."""


def take_many(n, limit, cache_dir, out):
    """n requests of one identity against `limit` per minute; puts how many passed."""
    import django

    django.setup()
    from django.core.cache.backends.filebased import FileBasedCache

    from clickme_site import throttles

    if cache_dir:
        throttles.cache = FileBasedCache(cache_dir, {})
    bucket = throttles.Bucket("throttle:concurrency:test", limit, 60_000.0)
    out.put(sum(throttles.ScopedRateThrottle()._take([bucket]) == 0 for _ in range(n)))
