#!/usr/bin/env python
"""Maps per second of the ClickMe map core (annotations/maps.py) against a naive reference.

    .venv/bin/python bench/maps.py [--repeats 7] [--seed 0] [--json OUT]

What it measures, all in this one process and one run (see bench/README.md):

* The core: `annotations.maps.clickme_map(rounds, 256, 256)`, docs/SCIENCE.md section 2 steps 1-4,
  with rounds as (n, 3) float64 arrays of [x, y, t_ms] (what `map_rebuild` hands it).
* The naive reference: a Python loop over every click of every round incrementing a per-round
  count map (step 1), the mean over rounds (step 2), then a *direct* 2-D convolution, twice, with the
  21 px normalised disc (step 3) -- `scipy.ndimage.convolve(M, K, mode="constant", cval=0)`, which is
  a direct (sliding-window, O(H W d^2)) convolution written in C -- and the max-normalisation (step
  4). A pure-Python pixel loop for the convolution would take minutes per 256 x 256 map, so the
  reference's convolution is the direct one in C, which makes it a *strong* naive baseline. The
  naive loop gets its clicks as ready-made Python lists (their conversion is not timed).
* Before timing, each configuration checks that the two maps agree to 1e-4 (max absolute
  difference after max-normalisation); the script exits with status 1 if they do not.

Clicks are integers in the 256 x 256 image, drawn around a few per-image "object" centres with a
uniform background share, as players click. Every timing is the best (and the median) of
`--repeats` runs, the core and the reference interleaved so that load on the 2 shared cores hits
both alike; the speedup uses the best times (the median ratio is printed beside it).

Tables:
1. maps/s of the core and the reference for 5, 15 and 50 players of 100 clicks each, and the speedup.
2. time per map against total clicks per map (100 to 3,000,000, 100 clicks per player; the naive
   reference up to 100,000), with least-squares log-log slopes over all sizes and over the largest
   decade (300,000 to 3,000,000: the asymptotic growth, once the fixed cost of the two blurs, which
   does not depend on the clicks, no longer dominates).

Goals (the issue): the core is at least 20x the reference (at every player count of table 1), and
its time grows linearly or better in clicks (slopes <= 1.1, a 0.1 allowance for timing noise).
"""

import argparse
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from scipy import ndimage  # noqa: E402

from annotations import maps  # noqa: E402

SIZE_PX = 256
CLICKS_PER_PLAYER = 100
PLAYER_COUNTS = (5, 15, 50)
GROWTH_CLICKS = (100, 1_000, 10_000, 100_000, 300_000, 1_000_000, 3_000_000)
NAIVE_GROWTH_MAX = 100_000  # the naive loop over millions of clicks takes seconds per repeat: left out
TOLERANCE = 1e-4
GOAL_SPEEDUP = 20.0
GOAL_SLOPE = 1.1


# ------------------------------------------------------------------------------------------ inputs


def player_clicks(rng, n_players, clicks_per_player=CLICKS_PER_PLAYER, size=SIZE_PX):
    """One (n, 3) float64 array of integer [x, y, t_ms] per player, clustered like real clicks."""
    centres = rng.uniform(0.25 * size, 0.75 * size, size=(3, 2))
    rounds = []
    for _ in range(n_players):
        which = rng.integers(0, len(centres), size=clicks_per_player)
        xy = centres[which] + rng.normal(0.0, 0.08 * size, size=(clicks_per_player, 2))
        background = rng.random(clicks_per_player) < 0.15
        xy[background] = rng.uniform(0, size, size=(int(background.sum()), 2))
        xy = np.clip(np.floor(xy), 0, size - 1)
        t_ms = np.sort(rng.integers(0, 7000, size=clicks_per_player))
        rounds.append(np.column_stack([xy, t_ms]).astype(np.float64))
    return rounds


# --------------------------------------------------------------------------------------- reference


def naive_map(rounds_as_lists, height, width, kernel):
    """docs/SCIENCE.md section 2 the slow way: Python click loop, direct C convolution twice."""
    if not rounds_as_lists:
        return np.zeros((height, width))
    total = np.zeros((height, width))
    for clicks in rounds_as_lists:
        counts = np.zeros((height, width))
        for click in clicks:
            x, y = math.floor(click[0]), math.floor(click[1])
            if 0 <= x < width and 0 <= y < height:
                counts[y, x] += 1.0
        total += counts
    mean = total / len(rounds_as_lists)
    blurred = ndimage.convolve(
        ndimage.convolve(mean, kernel, mode="constant", cval=0.0), kernel, mode="constant", cval=0.0
    )
    top = blurred.max()
    return blurred / top if top > 0 else np.zeros_like(blurred)


# ------------------------------------------------------------------------------------------ timing


def timed(function):
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def measure(rounds, repeats, with_naive=True):
    """Check agreement, then best and median seconds per map of the core (and the reference)."""
    kernel = maps.disc_kernel()
    as_lists = [r.tolist() for r in rounds]
    fast = maps.clickme_map(rounds, SIZE_PX, SIZE_PX)
    result = {"clicks": sum(len(r) for r in rounds), "players": len(rounds)}
    if with_naive:
        slow = naive_map(as_lists, SIZE_PX, SIZE_PX, kernel)
        difference = float(np.max(np.abs(fast - slow)))
        result["max_abs_diff"] = difference
        if not difference <= TOLERANCE:
            print(
                f"FAIL: the core and the naive reference disagree by {difference:.3g} (> {TOLERANCE}) "
                f"with {len(rounds)} players, {result['clicks']} clicks",
                file=sys.stderr,
            )
            raise SystemExit(1)
    core_times, naive_times = [], []
    for _ in range(repeats):
        core_times.append(timed(lambda: maps.clickme_map(rounds, SIZE_PX, SIZE_PX)))
        if with_naive:
            naive_times.append(timed(lambda: naive_map(as_lists, SIZE_PX, SIZE_PX, kernel)))
    result["core_best_s"], result["core_median_s"] = min(core_times), statistics.median(core_times)
    if with_naive:
        result["naive_best_s"], result["naive_median_s"] = min(naive_times), statistics.median(naive_times)
    return result


def loglog_slope(xs, ys):
    lx, ly = np.log(np.asarray(xs, dtype=float)), np.log(np.asarray(ys, dtype=float))
    return float(np.polyfit(lx, ly, 1)[0])


def verdict(ok):
    return "PASS" if ok else "MISS"


# -------------------------------------------------------------------------------------------- main


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed runs per configuration (best and median kept)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="also write every number to this file")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)

    # Warm up imports, FFT plans and caches.
    warm = player_clicks(rng, 5)
    maps.clickme_map(warm, SIZE_PX, SIZE_PX)
    naive_map([r.tolist() for r in warm], SIZE_PX, SIZE_PX, maps.disc_kernel())

    print(f"ClickMe map core vs naive reference, {SIZE_PX} x {SIZE_PX}, disc {maps.DISC_DIAMETER_PX} px twice")
    print("naive = Python loop over clicks + scipy.ndimage.convolve (direct 2-D convolution in C) twice")
    print(f"repeats = {args.repeats}, best (median) per map; numpy {np.__version__}, cores {os.cpu_count()}")
    print()

    by_players = []
    for n_players in PLAYER_COUNTS:
        by_players.append(measure(player_clicks(rng, n_players), args.repeats))
    header = (
        f"{'players':>7} {'clicks':>7} {'max|diff|':>9} {'core maps/s':>17} {'naive maps/s':>17} "
        f"{'speedup':>8} {'(median)':>8}"
    )
    print("1. maps per second, 100 clicks per player")
    print(header)
    print("-" * len(header))
    for row in by_players:
        row["core_maps_per_s"] = 1.0 / row["core_best_s"]
        row["naive_maps_per_s"] = 1.0 / row["naive_best_s"]
        row["speedup"] = row["naive_best_s"] / row["core_best_s"]
        row["speedup_median"] = row["naive_median_s"] / row["core_median_s"]
        print(
            f"{row['players']:>7} {row['clicks']:>7} {row['max_abs_diff']:>9.1e} "
            f"{row['core_maps_per_s']:>8.1f} ({1 / row['core_median_s']:>6.1f}) "
            f"{row['naive_maps_per_s']:>8.2f} ({1 / row['naive_median_s']:>6.2f}) "
            f"{row['speedup']:>7.1f}x {row['speedup_median']:>7.1f}x"
        )
    print()

    growth = []
    for total in GROWTH_CLICKS:
        rounds = player_clicks(rng, max(1, total // CLICKS_PER_PLAYER))
        repeats = args.repeats if total <= 100_000 else max(3, args.repeats // 2)
        growth.append(measure(rounds, repeats, with_naive=total <= NAIVE_GROWTH_MAX))
    header = f"{'clicks/map':>10} {'players':>7} {'core ms/map':>19} {'naive ms/map':>19} {'speedup':>8}"
    print("2. growth with clicks per map (100 clicks per player)")
    print(header)
    print("-" * len(header))
    for row in growth:
        naive = (
            f"{row['naive_best_s'] * 1e3:>9.2f} ({row['naive_median_s'] * 1e3:>7.2f})"
            if "naive_best_s" in row
            else f"{'-':>19}"
        )
        speedup = f"{row['naive_best_s'] / row['core_best_s']:>7.1f}x" if "naive_best_s" in row else f"{'-':>8}"
        print(
            f"{row['clicks']:>10} {row['players']:>7} "
            f"{row['core_best_s'] * 1e3:>9.2f} ({row['core_median_s'] * 1e3:>7.2f}) {naive} {speedup}"
        )
    clicks = [row["clicks"] for row in growth]
    core = [row["core_best_s"] for row in growth]
    slope_all = loglog_slope(clicks, core)
    top = [i for i, n in enumerate(clicks) if n >= clicks[-1] / 10]
    slope_top = loglog_slope([clicks[i] for i in top], [core[i] for i in top])
    naive_rows = [row for row in growth if "naive_best_s" in row]
    naive_slope_all = loglog_slope([r["clicks"] for r in naive_rows], [r["naive_best_s"] for r in naive_rows])
    naive_slope_top = loglog_slope([r["clicks"] for r in naive_rows[-2:]], [r["naive_best_s"] for r in naive_rows[-2:]])
    print(
        f"log-log slope of time vs clicks, core:  {slope_all:.2f} over {clicks[0]:,}..{clicks[-1]:,}, "
        f"{slope_top:.2f} over {clicks[top[0]]:,}..{clicks[-1]:,}"
    )
    print(
        f"log-log slope of time vs clicks, naive: {naive_slope_all:.2f} over "
        f"{naive_rows[0]['clicks']:,}..{naive_rows[-1]['clicks']:,}, {naive_slope_top:.2f} between "
        f"{naive_rows[-2]['clicks']:,} and {naive_rows[-1]['clicks']:,}"
    )
    print()

    worst = min(row["speedup"] for row in by_players)
    speed_ok = worst >= GOAL_SPEEDUP
    growth_ok = slope_all <= GOAL_SLOPE and slope_top <= GOAL_SLOPE
    each = ", ".join(f"{row['players']} players {row['speedup']:.1f}x" for row in by_players)
    print("goals")
    print(f"  {verdict(speed_ok)}  core >= {GOAL_SPEEDUP:.0f}x the naive reference: worst {worst:.1f}x ({each})")
    print(
        f"  {verdict(growth_ok)}  linear or better in clicks: slopes {slope_all:.2f} (all) and "
        f"{slope_top:.2f} (largest decade) <= {GOAL_SLOPE}"
    )

    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "by_players": by_players,
                    "growth": growth,
                    "slope_all": slope_all,
                    "slope_largest_decade": slope_top,
                    "naive_slope_all": naive_slope_all,
                    "naive_slope_largest_two": naive_slope_top,
                    "goal_speedup": GOAL_SPEEDUP,
                    "goal_slope": GOAL_SLOPE,
                    "speedup_pass": speed_ok,
                    "growth_pass": growth_ok,
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
