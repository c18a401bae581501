#!/usr/bin/env python
"""How fast the next image is chosen at 1 million images: `game.selectors.assignable_image_id`.

    .venv/bin/python bench/assignment.py [--images 1000000] [--draws 300] [--json OUT]

1. Its own world (bench/sandbox.py): a fresh PostgreSQL database (default
   `clickme_bench_assignment`, dropped and re-created; the name must contain "bench"), Redis db 12
   (flushed at the end only when it was empty), a temporary folder; `migrate`.
2. Seeds with SQL: 1,000 categories and N images (one shared file name, a distinct sha256 each,
   random keys from PostgreSQL's random()); a "heavy" player who has played the 500 images the
   query meets first (the fewest played with the lowest keys), so the NOT EXISTS has to step over
   them; a new player with no round. ANALYZE.
3. Two states of the collection, measured in turn:
   * fresh: every image unplayed (the tie is all N images: the worst case for "random over all");
   * played: completed_rounds = a random 0..14 per image (a tie of about N/15), 10% retired.
   For each: the selector's own SQL under EXPLAIN (ANALYZE, BUFFERS) (plan printed), then `--draws`
   timed calls of the selector (random thresholds) for the new and the heavy player: p50 / p99 ms.
   Beside it, for scale, `ORDER BY random() LIMIT 1` over the same tie (what a naive "random among
   the least played" costs) and the old query (`ORDER BY completed_rounds, id LIMIT 50`).
4. Removes everything it created on exit, error or Ctrl-C.
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
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/clickme_bench_assignment"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/12"
HEAVY_ROUNDS = 500


def log(message):
    print(message, file=sys.stderr, flush=True)


def seed(cursor, n_images):
    cursor.execute(
        "INSERT INTO game_category (name, wnid) SELECT 'category ' || g, 'b' || lpad(g::text, 8, '0') "
        "FROM generate_series(1, 1000) g"
    )
    cursor.execute("SELECT min(id) FROM game_category")
    first_category = cursor.fetchone()[0]
    cursor.execute(
        """
        INSERT INTO game_image (file, sha256, source_name, width, height, category_id, split, mask, active,
                                retired, completed_rounds, n_abandoned, n_skipped, n_flagged, random_key, created_at)
        SELECT 'images/bench.png', md5(g::text) || md5((-g)::text), '', 256, 256, %s + (g %% 1000), 'train', '',
               true, false, 0, 0, 0, 0, random(), now()
        FROM generate_series(1, %s) g
        """,
        [first_category, n_images],
    )
    cursor.execute(
        "INSERT INTO game_player (public_id, nickname, ip_hash, created_at, nickname_hidden) "
        "VALUES (gen_random_uuid(), 'heavy', '', now(), false), (gen_random_uuid(), 'new', '', now(), false)"
    )


def heavy_rounds(cursor, heavy_id):
    """The heavy player has played the images the query meets first in the current state."""
    cursor.execute("DELETE FROM game_round")
    cursor.execute(
        """
        INSERT INTO game_round (player_id, image_id, state, score, clicks, n_clicks, time_limit_ms, started_at,
                                last_guesses, user_agent, quality_flags, flagged)
        SELECT %s, id, 'expired', 0, '[]', 0, 7000, now(), '[]', '', '[]', false
        FROM game_image WHERE active AND NOT retired ORDER BY completed_rounds, random_key LIMIT %s
        """,
        [heavy_id, HEAVY_ROUNDS],
    )


def timed_draws(selector, player_id, draws):
    times = []
    for k in range(draws):
        threshold = 0.0 if k % 10 == 0 else None  # one in ten starts at the very bottom of the keys
        start = time.perf_counter()
        image_id = selector(player_id=player_id, threshold=threshold)
        times.append((time.perf_counter() - start) * 1000)
        assert image_id is not None
    times.sort()
    return {"p50_ms": statistics.median(times), "p99_ms": times[int(0.99 * (len(times) - 1))], "max_ms": times[-1]}


def sql_time(cursor, sql, params=(), repeat=5):
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        cursor.execute(sql, params)
        cursor.fetchall()
        best = min(best, (time.perf_counter() - start) * 1000)
    return best


def measure(args):
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from game.selectors import assignable_image_id

    results = {}
    with connection.cursor() as cursor:
        log(f"seeding {args.images:,} images ...")
        started = time.perf_counter()
        seed(cursor, args.images)
        log(f"  seeded in {time.perf_counter() - started:.1f} s")
        cursor.execute("SELECT id FROM game_player WHERE nickname = 'heavy'")
        heavy_id = cursor.fetchone()[0]
        cursor.execute("SELECT id FROM game_player WHERE nickname = 'new'")
        new_id = cursor.fetchone()[0]
        for state in ("fresh", "played"):
            if state == "played":
                cursor.execute("UPDATE game_image SET completed_rounds = floor(random() * 15)::int")
                cursor.execute("UPDATE game_image SET retired = true WHERE random() < 0.1")
            heavy_rounds(cursor, heavy_id)
            cursor.execute("ANALYZE game_image")
            cursor.execute("ANALYZE game_round")
            cursor.execute(
                "SELECT count(*) FROM game_image WHERE active AND NOT retired AND completed_rounds = "
                "(SELECT min(completed_rounds) FROM game_image WHERE active AND NOT retired)"
            )
            tie = cursor.fetchone()[0]
            with CaptureQueriesContext(connection) as queries:
                assignable_image_id(player_id=heavy_id, threshold=0.0)
            sql = queries.captured_queries[-1]["sql"]
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            row = {
                "tie": tie,
                "new_player": timed_draws(assignable_image_id, new_id, args.draws),
                "heavy_player": timed_draws(assignable_image_id, heavy_id, args.draws),
                "order_by_random_ms": sql_time(
                    cursor,
                    "SELECT id FROM game_image WHERE active AND NOT retired AND completed_rounds = %s "
                    "ORDER BY random() LIMIT 1",
                    [0],
                    repeat=3,
                ),
                "old_query_ms": sql_time(
                    cursor,
                    "SELECT id, completed_rounds FROM game_image WHERE active AND NOT retired AND NOT EXISTS "
                    "(SELECT 1 FROM game_round r WHERE r.image_id = game_image.id AND r.player_id = %s) "
                    "ORDER BY completed_rounds, id LIMIT 50",
                    [heavy_id],
                ),
                "plan": plan,
            }
            results[state] = row
            log(f"\n== {state}: {args.images:,} images, tie of {tie:,} ==\n{plan}")
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=1_000_000)
    parser.add_argument("--draws", type=int, default=300)
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL)
    parser.add_argument("--json", help="write every number here")
    parser.add_argument("--keep-tmp", action="store_true")
    args = parser.parse_args()

    sandbox = BenchSandbox(args.database_url, args.redis_url, "clickme-bench-assignment-", log)
    try:
        sandbox.redis_check()
        sandbox.database_create()
        os.environ.update(sandbox.env)
        subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "migrate", "-v", "0"], env=sandbox.env, cwd=ROOT, check=True
        )
        results = measure(args)
        from django.db import connections

        connections.close_all()
    finally:
        sandbox.cleanup(keep_tmp=args.keep_tmp)

    print(f"\nassignable_image_id at {args.images:,} images ({args.draws} draws per player)")
    print(
        "| state | tie | new player p50 / p99 ms | heavy player (500 seen) p50 / p99 ms | ORDER BY random() ms | old query ms |"
    )
    print("|---|---|---|---|---|---|")
    for state, row in results.items():
        new, heavy = row["new_player"], row["heavy_player"]
        print(
            f"| {state} | {row['tie']:,} | {new['p50_ms']:.2f} / {new['p99_ms']:.2f} | "
            f"{heavy['p50_ms']:.2f} / {heavy['p99_ms']:.2f} | {row['order_by_random_ms']:.0f} | {row['old_query_ms']:.1f} |"
        )
    if args.json:
        Path(args.json).write_text(json.dumps({"images": args.images, "draws": args.draws, **results}, indent=2))


if __name__ == "__main__":
    main()
