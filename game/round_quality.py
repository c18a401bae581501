"""Quality flags of a finished round: which rounds a script or a cheat made (pure: numpy, no Django).

A flagged round stays stored (nothing accepted is lost) but is left out of the maps, the exports,
split-half reliability, retirement and the leaderboard. The rule, with its thresholds and why
(docs/SCIENCE.md section 1: the browser's brush adds a bubble centre every 50 ms that moves at most 7 px
towards the pointer; lifting the pointer and pressing elsewhere starts a new stroke there):

- ``too_fast``: bubbles closer in time than the brush makes them. An interval under 40 ms (the
  50 ms tick less 10 ms of timer jitter) counts; the round is flagged when at least 3 intervals
  and at least a quarter of them do. A browser makes such an interval only when a stalled timer
  catches up or a stroke starts right after the last one, a few times a round at most.
- ``teleport``: jumps the brush cannot make. A step longer than 7 px (plus 1.5 px for rounding
  the centre to a pixel) is a new stroke, which takes lifting and pressing the pointer again:
  under 100 ms that counts as a teleport; flagged when at least 6 steps and half of them do. A
  careful player who glances elsewhere jumps a few percent of the time (the simulated careful
  player, 20,000 rounds: at most 5 of 9 steps in a 10-click round), a script every step.
- ``regular_timing``: every interval the same to the millisecond (at least 9 of them) at a pace
  the brush does not have (not 50 +- 5 ms). Human taps and strokes never keep a constant rhythm;
  a constant 50 ms is the brush itself (and what the simulated players make), so it is allowed.
- ``static``: at least 10 clicks that never leave a 3 px circle: the pointer held still or one
  coordinate replayed; such a round says nothing about where the object is.
- ``duplicate_path``: the same path as another round of the same image or of the same player.
  The fingerprint is the path resampled to 16 points along its clicks (rounded to pixels) and its
  click count; two rounds of at least 10 clicks match when their counts are within 25% of each
  other and their points lie 1.5 px apart on average. Two people, or one person on two images, do
  not trace the same 16 points that closely (at 3 px, short careful paths over a 35 px object
  did); a replayed path does. Both rounds are flagged.
- ``inhuman_pace``: at least 10 rounds (skips aside) started within 10 s by one player. A human
  round takes a look at the image, paint, the partner's answer and a click on "next": 2 s at the
  very least, so this is five times faster than the fastest player. Every round of such a burst
  is flagged.

What it does not catch, honestly: a script that paints brush-like strokes at exactly 50 ms with
fresh paths at a human pace looks like the simulated players and is not flagged; the admin can
still ban its player.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

TOO_FAST = "too_fast"
TELEPORT = "teleport"
REGULAR_TIMING = "regular_timing"
STATIC = "static"
DUPLICATE_PATH = "duplicate_path"
INHUMAN_PACE = "inhuman_pace"
ALL_FLAGS = (TOO_FAST, TELEPORT, REGULAR_TIMING, STATIC, DUPLICATE_PATH, INHUMAN_PACE)


@dataclass(frozen=True)
class QualityRules:
    """The thresholds of the rule above (docs/SCIENCE.md section 1 gives the brush's 50 ms and 7 px)."""

    brush_interval_ms: float = 50.0
    brush_step_px: float = 7.0
    interval_jitter_ms: float = 10.0
    step_rounding_px: float = 1.5
    lift_min_ms: float = 100.0
    too_fast_share: float = 0.25
    too_fast_min: int = 3
    teleport_share: float = 0.5
    teleport_min: int = 6
    regular_min_intervals: int = 9
    regular_spread_ms: float = 1.0
    brush_band_ms: float = 5.0
    static_min_clicks: int = 10
    static_radius_px: float = 3.0
    path_points: int = 16
    path_min_clicks: int = 10
    path_mean_px: float = 1.5
    path_count_ratio: float = 1.25
    pace_rounds: int = 10
    pace_window_s: float = 10.0


RULES = QualityRules()


def click_flags(clicks: Sequence[Sequence[int]], rules: QualityRules = RULES) -> list[str]:
    """The flags one round earns from its own clicks [[x, y, t_ms], ...] (in order)."""
    points = np.asarray(clicks, dtype=np.float64).reshape(-1, 3)
    flags = []
    if len(points) >= 2:
        dt = np.diff(points[:, 2])
        step = np.hypot(np.diff(points[:, 0]), np.diff(points[:, 1]))
        fast = int((dt < rules.brush_interval_ms - rules.interval_jitter_ms).sum())
        if fast >= rules.too_fast_min and fast >= rules.too_fast_share * len(dt):
            flags.append(TOO_FAST)
        jumps = int(((step > rules.brush_step_px + rules.step_rounding_px) & (dt < rules.lift_min_ms)).sum())
        if jumps >= rules.teleport_min and jumps >= rules.teleport_share * len(step):
            flags.append(TELEPORT)
        if (
            len(dt) >= rules.regular_min_intervals
            and dt.max() - dt.min() <= rules.regular_spread_ms
            and abs(float(np.median(dt)) - rules.brush_interval_ms) > rules.brush_band_ms
        ):
            flags.append(REGULAR_TIMING)
    if len(points) >= rules.static_min_clicks:
        centre = points[:, :2].mean(axis=0)
        if np.hypot(*(points[:, :2] - centre).T).max() <= rules.static_radius_px:
            flags.append(STATIC)
    return flags


def path_fingerprint(clicks: Sequence[Sequence[int]], rules: QualityRules = RULES) -> list[int] | None:
    """[n_clicks, x0, y0, x1, y1, ...]: the path resampled to `path_points` points along its clicks;
    None for a path too short to tell apart from chance."""
    points = np.asarray(clicks, dtype=np.float64).reshape(-1, 3)
    n = len(points)
    if n < rules.path_min_clicks:
        return None
    at = np.linspace(0, n - 1, rules.path_points)
    xs = np.interp(at, np.arange(n), points[:, 0])
    ys = np.interp(at, np.arange(n), points[:, 1])
    return [n, *np.rint(np.column_stack([xs, ys])).astype(int).ravel().tolist()]


def same_path(a: Sequence[int], b: Sequence[int], rules: QualityRules = RULES) -> bool:
    """True when two fingerprints describe the same path (see the module's rule)."""
    if len(a) != len(b) or len(a) != 1 + 2 * rules.path_points:
        return False
    n_a, n_b = a[0], b[0]
    if max(n_a, n_b) > rules.path_count_ratio * min(n_a, n_b):
        return False
    pa = np.asarray(a[1:], dtype=np.float64).reshape(-1, 2)
    pb = np.asarray(b[1:], dtype=np.float64).reshape(-1, 2)
    return float(np.hypot(*(pa - pb).T).mean()) <= rules.path_mean_px


def matching_paths(
    fingerprint: Sequence[int] | None, others: Mapping[int, Sequence[int]], rules: QualityRules = RULES
) -> list[int]:
    """Ids of the rounds in `others` ({round id: fingerprint}) whose path is the same as this one."""
    if fingerprint is None:
        return []
    return sorted(round_id for round_id, other in others.items() if other and same_path(fingerprint, other, rules))


def pace_offenders(starts_s: Mapping[int, float], rules: QualityRules = RULES) -> set[int]:
    """Ids of the rounds ({round id: start time in s}) that lie in a burst of at least `pace_rounds`
    starts within `pace_window_s` seconds."""
    ordered = sorted(starts_s.items(), key=lambda item: (item[1], item[0]))
    times = np.array([t for _id, t in ordered], dtype=np.float64)
    offenders: set[int] = set()
    end = 0
    for begin in range(len(ordered)):
        end = max(end, begin)
        while end + 1 < len(ordered) and times[end + 1] - times[begin] <= rules.pace_window_s:
            end += 1
        if end - begin + 1 >= rules.pace_rounds:
            offenders.update(round_id for round_id, _t in ordered[begin : end + 1])
    return offenders
