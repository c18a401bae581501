#!/usr/bin/env python
"""How the staff dashboard's plot series scale with the number of rounds.

    .venv/bin/python bench/dashboard.py [--rounds 10000,100000,1000000] [--json OUT]

It creates its own PostgreSQL database (default `clickme_bench_dashboard`, dropped and re-created; the
name must contain "bench"), migrates it, and fills it in steps up to each round count: 2,000 players,
1,000 images in 20 categories, maps for 70% of them, 5 training jobs of 30 epochs, and completed
rounds spread over the last 60 days (so a day holds about 1/60 of them, a week 7/60). At each size
(after ANALYZE) it times `frontend.monitoring.dashboard_series` (every plot's series: the 24-hour and
7-day activity, coverage, split-half rho, win rate, training curves) 5 times and reports the median,
with the number of SQL queries. Everything is removed on exit (database, temporary folder; Redis db 12
is flushed at the end only if it was empty).

Goal: the series cost a fixed number of queries, and 1,000,000 rounds cost at most 10x the time of
10,000 (aggregates grouped in the database over the indexed time columns, not rows loaded in Python).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from sandbox import BenchSandbox

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/clickme_bench_dashboard"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/12"
MARK = "@@BENCH@@"
N_PLAYERS, N_IMAGES, N_CATEGORIES = 2000, 1000, 20


def log(message):
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def child(sizes, repeats):
    """In the sandbox's environment: seed each size in turn and time the series there."""
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import random
    from datetime import timedelta

    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from annotations.models import ClickMap
    from frontend.monitoring import dashboard_series
    from game.models import Category, Image, Partner, Player, Round
    from training.models import TrainingJob

    rng = random.Random(0)
    now = timezone.now()
    categories = Category.objects.bulk_create(Category(name=f"c{k}", wnid=f"b{k:07d}") for k in range(N_CATEGORIES))
    images = Image.objects.bulk_create(
        Image(file="images/b.png", sha256=f"{k:064x}", width=256, height=256, category=categories[k % N_CATEGORIES])
        for k in range(N_IMAGES)
    )
    players = Player.objects.bulk_create(Player() for _ in range(N_PLAYERS))
    partners = [Partner.objects.create(name=f"p{k}", architecture="exported", weights_file="p") for k in range(3)]
    ClickMap.objects.bulk_create(
        ClickMap(
            image=image,
            data=b"",
            height=256,
            width=256,
            n_players=5,
            n_clicks=100,
            split_half_rho=rng.random(),
            updated_at=now - timedelta(days=rng.random() * 40),
        )
        for image in images[: int(0.7 * N_IMAGES)]
    )
    for _ in range(5):
        history = [{"epoch": e, "train_loss": 1 / e, "train_top1": 0.5, "val_top1": 0.4} for e in range(1, 31)]
        TrainingJob.objects.create(config={"arch": "gala_resnet_tiny"}, history=history)

    results, made = [], 0
    for size in sizes:
        started = time.perf_counter()
        batch = []
        for k in range(made, size):
            # One round per (player, image) pair, as the unique constraint wants.
            began = now - timedelta(seconds=rng.random() * 60 * 86400)
            won = rng.random() < 0.5
            batch.append(
                Round(
                    player=players[k % N_PLAYERS],
                    image=images[k // N_PLAYERS],
                    partner=partners[k % 3],
                    state=Round.State.WON if won else Round.State.EXPIRED,
                    score=60 if won else 0,
                    n_clicks=30,
                    time_limit_ms=7000,
                    started_at=began,
                    finished_at=began + timedelta(seconds=5),
                )
            )
            if len(batch) == 10_000:
                Round.objects.bulk_create(batch)
                batch = []
        Round.objects.bulk_create(batch)
        made = size
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        seeded = time.perf_counter() - started
        dashboard_series(now)  # warm the connection and the caches
        times = []
        for _ in range(repeats):
            with CaptureQueriesContext(connection) as queries:
                began_s = time.perf_counter()
                dashboard_series(now)
                times.append(time.perf_counter() - began_s)
        result = {
            "rounds": size,
            "median_ms": 1000 * statistics.median(times),
            "queries": len(queries),
            "seed_s": seeded,
        }
        print(MARK + json.dumps(result), flush=True)
        results.append(result)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", default="10000,100000,1000000", help="sizes, comma-separated (at most 2,000,000)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL)
    parser.add_argument("--json", help="also write every number to this file")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.rounds.split(","))
    if max(sizes) > N_PLAYERS * N_IMAGES:
        parser.error(f"at most {N_PLAYERS * N_IMAGES} rounds (one per player and image)")
    if args.child:
        child(sizes, args.repeats)
        return 0

    sandbox = BenchSandbox(args.database_url, args.redis_url, "clickme-bench-dashboard-", log)
    try:
        sandbox.redis_check()
        sandbox.database_create()
        python = sys.executable
        subprocess.run([python, str(ROOT / "manage.py"), "migrate", "--verbosity", "0"], env=sandbox.env, check=True)
        command = [python, __file__, "--child", "--rounds", args.rounds, "--repeats", str(args.repeats)]
        results = []
        with subprocess.Popen(command, env=sandbox.env, stdout=subprocess.PIPE, text=True) as process:
            for line in process.stdout:
                if line.startswith(MARK):
                    results.append(json.loads(line[len(MARK) :]))
                    r = results[-1]
                    log(
                        f"{r['rounds']:>9,} rounds: {r['median_ms']:.1f} ms, {r['queries']} queries (seeded in {r['seed_s']:.0f} s)"
                    )
        if process.returncode:
            raise SystemExit(f"the child failed ({process.returncode})")
        base = results[0]
        print("\n| rounds | dashboard_series median ms | queries | time / smallest |")
        print("|---:|---:|---:|---:|")
        for r in results:
            print(
                f"| {r['rounds']:,} | {r['median_ms']:.1f} | {r['queries']} | {r['median_ms'] / base['median_ms']:.2f} |"
            )
        fixed = len({r["queries"] for r in results}) == 1
        ratio = results[-1]["median_ms"] / base["median_ms"]
        print(
            f"\nqueries fixed: {'PASS' if fixed else 'MISS'}; largest / smallest time {ratio:.2f} "
            f"({'PASS' if ratio <= 10 else 'MISS'} at most 10)"
        )
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=2))
        return 0
    finally:
        sandbox.cleanup()


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.exit(main())
