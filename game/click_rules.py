"""The rules a click post must satisfy (docs/API.md "Players"), as a pure function over plain values."""

import math
from datetime import datetime, timedelta


class ClickRejected(ValueError):
    def __init__(self, message, code="invalid_clicks"):
        super().__init__(message)
        self.code = code


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def validate_clicks(raw, *, width, height, time_limit_ms, last_t_ms, stored_count, max_clicks, max_per_post):
    """Return the clicks as [[x, y, t_ms], ...] ints, or raise ClickRejected naming the first fault."""
    if not isinstance(raw, list):
        raise ClickRejected("clicks: expected a list of [x, y, t_ms]", "invalid")
    if not raw:
        raise ClickRejected("clicks: at least one click is needed", "invalid")
    if len(raw) > max_per_post:
        raise ClickRejected(f"clicks: at most {max_per_post} clicks per post", "too_many_clicks")
    if stored_count + len(raw) > max_clicks:
        raise ClickRejected(f"clicks: a round holds at most {max_clicks} clicks", "too_many_clicks")
    clicks = []
    previous_t = last_t_ms
    for index, click in enumerate(raw):
        where = f"clicks[{index}]"
        if not isinstance(click, list) or len(click) != 3:
            raise ClickRejected(f"{where}: expected [x, y, t_ms]", "invalid")
        x, y, t_ms = click
        for name, value in (("x", x), ("y", y), ("t_ms", t_ms)):
            if isinstance(value, float) and not math.isfinite(value):
                raise ClickRejected(f"{where}: {name} is not finite", "invalid_coordinate")
            if not _is_int(value):
                raise ClickRejected(f"{where}: {name} must be an integer", "invalid_coordinate")
        if not (0 <= x < width and 0 <= y < height):
            raise ClickRejected(f"{where}: ({x}, {y}) is outside the {width} x {height} image", "outside_image")
        if t_ms < 0 or t_ms > time_limit_ms:
            raise ClickRejected(f"{where}: t_ms {t_ms} is outside 0..{time_limit_ms}", "invalid_time")
        if previous_t is not None and t_ms < previous_t:
            raise ClickRejected(f"{where}: t_ms {t_ms} goes back before {previous_t}", "time_goes_backwards")
        previous_t = t_ms
        clicks.append([x, y, t_ms])
    return clicks


def past_deadline(started_at: datetime, time_limit_ms: int, grace_ms: int, now: datetime) -> bool:
    """A round takes no click after its time limit plus `grace_ms` (the one definition; callers pass
    clicks_window_ms's grace)."""
    return now > started_at + timedelta(milliseconds=time_limit_ms + grace_ms)


def clicks_window_ms(clickme: dict) -> int:
    """How long after its time limit a round still takes clicks, by the server's clock: the latency
    grace plus the allowance for a slow server (CLICK_LATE_MS). The clicks themselves must have been
    drawn within the limit by the page's clock (validate_clicks: t_ms <= time_limit_ms), so a batch the
    page drew in time but could post only once a slow answer came back is judged in time."""
    return int(clickme["CLICK_GRACE_MS"]) + int(clickme.get("CLICK_LATE_MS", 0))


def stored_count_valid(raw):
    """A post's `n_stored` (docs/API.md "Players"): None when absent, else a whole number >= 0."""
    if raw is None:
        return None
    if not _is_int(raw) or raw < 0:
        raise ClickRejected("n_stored: expected the number of clicks already stored (an integer >= 0)", "invalid")
    return raw


def clicks_already_stored(stored, n_stored, raw):
    """How many of a post's leading clicks the round holds already, the page believing `n_stored` of
    them stored before the post: the stored clicks from `n_stored` on and the post's must agree as far
    as both go (a batch sent again after its answer was lost, possibly followed by newer clicks).
    None when they differ, or when `n_stored` is ahead of the stored count."""
    if n_stored > len(stored):
        return None
    if not isinstance(raw, list):
        return 0  # validate_clicks refuses it
    behind = stored[n_stored:]
    overlap = min(len(behind), len(raw))
    return overlap if raw[:overlap] == behind[:overlap] else None
