#!/usr/bin/env python
"""Throughput and peak memory of the researchers' bulk reads: the .npz map export and the clicks stream.

    .venv/bin/python bench/export.py [--maps 1000,10000] [--rounds 10000,100000] [--json OUT]

What it does, all in one run (see bench/README.md):

1. Sets up its own world: a fresh PostgreSQL database (default `clickme_bench_export`, dropped and
   re-created; the name must contain "bench"), Redis db 11 for the cache (flushed at the end only
   when it was empty at the start), CLICKME_MEDIA_ROOT / CLICKME_VAR_DIR under a temporary folder,
   and runs `migrate`.
2. Seeds rows with bulk_create (in a child process): 10 categories; as many images as the largest
   map count (all pointing at one shared 1 x 1 PNG, a distinct sha256 each, 256 x 256); 2,000
   players; ClickMaps holding real float32 256 x 256 .npy bytes (as stored) (8 distinct maps made by
   `annotations.maps.clickme_map` from clustered clicks, reused round-robin); completed rounds with
   60 integer [x, y, t_ms] clicks each (one per player and image, as the unique constraint wants).
   The database is filled up to each size in turn (1,000 maps and 10,000 rounds, then 10,000 maps
   and 100,000 rounds), ANALYZEd, and measured at that size.
3. Measures every size in its own fresh child process (`python bench/export.py --child ...`), so that
   the child's peak RSS (`resource.getrusage(RUSAGE_SELF).ru_maxrss`) belongs to that size alone:
   * export: an Export row (filters {}, size 224) is created queued and
     `annotations.services.export_build(id)` -- the worker's code path -- is timed; the row must end
     `done` with every map; the .npz's maps header and first map are checked afterwards.
   * stream: a user with a DRF token, then `GET /api/v1/clicks/` through `django.test.Client` with
     `HTTP_AUTHORIZATION: Token ...` (the real `ClicksStream` view, middleware and auth); the
     streaming body is consumed chunk by chunk, counting bytes and lines (one line per round).
   The baseline RSS (after Django, numpy and the app are imported and set up, before the work) is
   printed beside the peak. The parent imports no Django or numpy, so it passes children no memory.
4. Prints the table and PASS/MISS against the goals; `--json OUT` writes every number.

Goals (the issue): peak RSS at 10,000 maps is at most 1.5x that at 1,000 (the export streams rather
than loading everything) -- also reported for 100,000 vs 10,000 rounds of the stream -- and the
.npz export of 10,000 maps takes under 60 s on this machine.

Everything it created is removed on exit, error or Ctrl-C: children, the database, Redis db 11 (only
when it was empty at the start) and the temporary folder.
"""

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

from sandbox import BenchSandbox

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/clickme_bench_export"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/11"
EXPORT_SIZE_PX = 224
MAP_SIZE_PX = 256
N_CATEGORIES = 10
N_PLAYERS = 2000
N_DISTINCT_MAPS = 8
CLICKS_PER_ROUND = 60
GOAL_RSS_RATIO = 1.5
GOAL_EXPORT_S = 60.0
MARK = "@@BENCH@@"


def log(message):
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def mib(kib):
    return kib / 1024.0


# ============================================================================ children (Django side)


def django_setup():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clickme_site.settings.base")
    import django

    django.setup()


def emit(result):
    print(MARK + json.dumps(result), flush=True)


def child_seed(args):
    """Fill the database up to args.maps_to ClickMaps and args.rounds_to rounds (creating what is missing)."""
    django_setup()
    import numpy as np
    from django.conf import settings
    from django.db import connection, transaction
    from django.utils import timezone
    from PIL import Image as PILImage

    from annotations import maps
    from annotations.map_encoding import npy_bytes
    from annotations.models import ClickMap
    from game.models import Category, Image, Player, Round

    started = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    n_images = args.images
    now = timezone.now()

    png = Path(settings.MEDIA_ROOT) / "images" / "bench.png"
    if not png.exists():
        png.parent.mkdir(parents=True, exist_ok=True)
        PILImage.new("RGB", (1, 1), (128, 128, 128)).save(png)

    with transaction.atomic():
        if not Category.objects.exists():
            Category.objects.bulk_create(
                Category(name=f"bench category {i}", wnid=f"n{i:08d}") for i in range(N_CATEGORIES)
            )
        category_ids = list(Category.objects.order_by("id").values_list("id", flat=True))
        have = Image.objects.count()
        if have < n_images:
            Image.objects.bulk_create(
                (
                    Image(
                        file="images/bench.png",
                        sha256=f"{i:064x}",
                        source_name=f"bench-{i}.png",
                        width=MAP_SIZE_PX,
                        height=MAP_SIZE_PX,
                        category_id=category_ids[i % len(category_ids)],
                        split=("train", "val", "test")[i % 3],
                        completed_rounds=15,
                    )
                    for i in range(have, n_images)
                ),
                batch_size=2000,
            )
        have = Player.objects.count()
        if have < N_PLAYERS:
            Player.objects.bulk_create(
                (Player(nickname=f"bench{i}", consented_at=now) for i in range(have, N_PLAYERS)), batch_size=2000
            )
    image_ids = list(Image.objects.order_by("id").values_list("id", flat=True))
    player_ids = list(Player.objects.order_by("id").values_list("id", flat=True))

    # ClickMaps: a few real maps (docs/SCIENCE.md section 2 from clustered clicks), reused round-robin.
    distinct = []
    for _ in range(N_DISTINCT_MAPS):
        centre = rng.uniform(60, 196, size=2)
        rounds = [np.clip(np.floor(centre + rng.normal(0, 25, size=(100, 2))), 0, MAP_SIZE_PX - 1) for _ in range(15)]
        distinct.append(npy_bytes(maps.clickme_map(rounds, MAP_SIZE_PX, MAP_SIZE_PX)))
    maps_started = time.perf_counter()
    have_maps = set(ClickMap.objects.values_list("image_id", flat=True))
    wanted = [image_id for image_id in image_ids[: args.maps_to] if image_id not in have_maps]
    for start in range(0, len(wanted), 250):
        with transaction.atomic():
            ClickMap.objects.bulk_create(
                ClickMap(
                    image_id=image_id,
                    data=distinct[image_id % N_DISTINCT_MAPS],
                    height=MAP_SIZE_PX,
                    width=MAP_SIZE_PX,
                    n_players=15,
                    n_clicks=15 * CLICKS_PER_ROUND,
                    split_half_rho=0.6,
                    fingerprint="bench",
                    source="clicks",
                    updated_at=now,
                )
                for image_id in wanted[start : start + 250]
            )

    maps_seconds = time.perf_counter() - maps_started

    # Rounds: round k is player k % P on image (k // P + 7 * (k % P)) % n_images: one per player and image.
    have_rounds = Round.objects.count()
    n_players = len(player_ids)
    if args.rounds_to > n_players * n_images:
        raise SystemExit(f"{args.rounds_to} rounds need more than {n_players} players x {n_images} images")
    base = now - timezone.timedelta(days=30)
    rounds_started = time.perf_counter()
    for start in range(have_rounds, args.rounds_to, 5000):
        stop = min(start + 5000, args.rounds_to)
        xy = np.clip(
            np.floor(
                rng.uniform(40, 216, size=(stop - start, 1, 2)) + rng.normal(0, 30, (stop - start, CLICKS_PER_ROUND, 2))
            ),
            0,
            MAP_SIZE_PX - 1,
        ).astype(np.int64)
        t_ms = np.sort(rng.integers(0, 7000, size=(stop - start, CLICKS_PER_ROUND, 1)), axis=1)
        clicks = np.concatenate([xy, t_ms], axis=2).tolist()
        batch = []
        for offset, k in enumerate(range(start, stop)):
            p = k % n_players
            started_at = base + timezone.timedelta(seconds=k)
            won = k % 3 != 0
            batch.append(
                Round(
                    player_id=player_ids[p],
                    image_id=image_ids[(k // n_players + 7 * p) % n_images],
                    state="won" if won else "expired",
                    score=int(100 * (k % 50)) if won else 0,
                    clicks=clicks[offset],
                    n_clicks=CLICKS_PER_ROUND,
                    time_limit_ms=7000,
                    started_at=started_at,
                    finished_at=started_at + timezone.timedelta(milliseconds=6500),
                    recognized_at_ms=4200 if won else None,
                    last_guesses=[],
                    user_agent="bench",
                    screen_width=1280,
                    screen_height=800,
                )
            )
        with transaction.atomic():
            Round.objects.bulk_create(batch, batch_size=1000)
    rounds_seconds = time.perf_counter() - rounds_started
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        cursor.execute("SELECT pg_database_size(current_database())")
        db_bytes = cursor.fetchone()[0]
    emit(
        {
            "seconds": time.perf_counter() - started,
            "maps_seconds": maps_seconds,
            "rounds_seconds": rounds_seconds,
            "n_images": Image.objects.count(),
            "n_maps": ClickMap.objects.count(),
            "n_rounds": Round.objects.count(),
            "db_bytes": db_bytes,
        }
    )


def child_export(args):
    django_setup()
    import zipfile

    import numpy as np
    from django.conf import settings

    from annotations import maps
    from annotations.map_encoding import npy_array
    from annotations.models import ClickMap, Export
    from annotations.services import export_build

    export = Export.objects.create(format="npz", filters={}, size=EXPORT_SIZE_PX)
    baseline_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    export_build(export_id=str(export.id))
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    export.refresh_from_db()
    if export.status != Export.Status.DONE:
        raise SystemExit(f"the export ended {export.status}: {export.error}")
    if export.n_maps != args.expect:
        raise SystemExit(f"the export holds {export.n_maps} maps, expected {args.expect}")
    path = Path(settings.MEDIA_ROOT) / export.file
    size_bytes = path.stat().st_size
    if size_bytes != export.size_bytes:
        raise SystemExit(f"file is {size_bytes} bytes, the row says {export.size_bytes}")
    with zipfile.ZipFile(path) as archive, archive.open("maps.npy") as handle:
        version = np.lib.format.read_magic(handle)
        read_header = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
        shape, _fortran, dtype = read_header[version](handle)
        if shape != (args.expect, EXPORT_SIZE_PX, EXPORT_SIZE_PX) or dtype != np.float16:
            raise SystemExit(f"maps.npy is {shape} {dtype}")
        first = np.frombuffer(handle.read(EXPORT_SIZE_PX * EXPORT_SIZE_PX * 2), dtype=np.float16)
    first_id = ClickMap.objects.order_by("image_id").values_list("image_id", "data").first()
    expected = maps.resize_bilinear(npy_array(first_id[1]).astype(np.float64), EXPORT_SIZE_PX, EXPORT_SIZE_PX)
    if not np.allclose(first.reshape(EXPORT_SIZE_PX, EXPORT_SIZE_PX), expected.astype(np.float16), atol=1e-3):
        raise SystemExit("the first exported map is not the stored map resized")
    path.unlink()
    emit(
        {
            "seconds": seconds,
            "n": export.n_maps,
            "bytes": size_bytes,
            "baseline_kib": baseline_kib,
            "peak_kib": peak_kib,
        }
    )


def child_stream(args):
    django_setup()
    from django.contrib.auth import get_user_model
    from django.test import Client
    from rest_framework.authtoken.models import Token

    user, _created = get_user_model().objects.get_or_create(username=f"bench-stream-{args.expect}")
    token, _created = Token.objects.get_or_create(user=user)
    client = Client(HTTP_HOST="localhost")
    # Warm the URL resolver, DRF and the auth path on an empty result, outside the measurement.
    warm = client.get("/api/v1/clicks/", {"since": "2999-01-01T00:00:00Z"}, HTTP_AUTHORIZATION=f"Token {token.key}")
    if warm.status_code != 200:
        raise SystemExit(f"GET /api/v1/clicks/ answered {warm.status_code}: {b''.join(warm.streaming_content)[:300]}")
    b"".join(warm.streaming_content)
    warm.close()

    baseline_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    response = client.get("/api/v1/clicks/", HTTP_AUTHORIZATION=f"Token {token.key}")
    if response.status_code != 200 or not response.streaming:
        raise SystemExit(f"GET /api/v1/clicks/ answered {response.status_code} (streaming {response.streaming})")
    n_bytes = n_lines = 0
    first_line = b""
    for chunk in response.streaming_content:
        if not first_line:
            first_line = chunk.split(b"\n", 1)[0]
        n_bytes += len(chunk)
        n_lines += chunk.count(b"\n")
    response.close()
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if n_lines != args.expect:
        raise SystemExit(f"the stream held {n_lines} lines, expected {args.expect}")
    row = json.loads(first_line)
    if len(row["clicks"]) != CLICKS_PER_ROUND or "player" not in row:
        raise SystemExit(f"unexpected first row: {first_line[:300]!r}")
    emit({"seconds": seconds, "n": n_lines, "bytes": n_bytes, "baseline_kib": baseline_kib, "peak_kib": peak_kib})


# ============================================================================== parent (no Django here)


class World(BenchSandbox):
    """Everything the benchmark creates; `close()` removes it all and is safe to call twice."""

    def __init__(self, args):
        super().__init__(args.database_url, args.redis_url, "clickme-bench-export-", log)
        self.args = args
        self.process = None
        self.env["OMP_NUM_THREADS"] = "1"

    def child_stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def run(self, *arguments, label):
        """Run a child (`manage.py ...` or this script's --child mode); its emitted JSON, or None."""
        started = time.perf_counter()
        self.process = subprocess.Popen(
            [sys.executable, *arguments],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        stdout, stderr = self.process.communicate()
        code = self.process.returncode
        self.process = None
        if code != 0:
            raise RuntimeError(f"{label} failed ({code}):\n{stdout[-3000:]}\n{stderr[-3000:]}")
        log(f"{label} ({time.perf_counter() - started:.1f} s)")
        for line in stdout.splitlines():
            if line.startswith(MARK):
                return json.loads(line[len(MARK) :])
        return None

    def spawn(self, mode, **options):
        arguments = [str(Path(__file__).resolve()), "--child", mode]
        for key, value in options.items():
            arguments += [f"--{key.replace('_', '-')}", str(value)]
        return self.run(*arguments, label=f"{mode} {options}")

    def close(self):
        self.cleanup(self.child_stop)


def sizes(text):
    values = sorted({int(v) for v in text.split(",") if v.strip()})
    if len(values) < 2 or values[0] < 1:
        raise argparse.ArgumentTypeError("at least two positive sizes, e.g. 1000,10000")
    return values


def verdict(ok):
    return "PASS" if ok else "MISS"


def report(results, args):
    exports, streams = results["export"], results["stream"]
    print(f"ClickMe bulk reads: .npz export (size {EXPORT_SIZE_PX}, filters {{}}) and GET /api/v1/clicks/ (JSON Lines)")
    print(
        f"PostgreSQL {args.database_url.rsplit('/', 1)[-1]}, one fresh child process per size, cores {os.cpu_count()}"
    )
    print()
    header = (
        f"{'export':>8} {'seconds':>8} {'maps/s':>8} {'MB/s':>7} {'file MB':>8} "
        f"{'base RSS MB':>11} {'peak RSS MB':>11} {'peak-base':>9}"
    )
    print(header)
    print("-" * len(header))
    for row in exports:
        print(
            f"{row['n']:>8} {row['seconds']:>8.2f} {row['n'] / row['seconds']:>8.0f} "
            f"{row['bytes'] / 1e6 / row['seconds']:>7.1f} {row['bytes'] / 1e6:>8.1f} "
            f"{mib(row['baseline_kib']):>11.1f} {mib(row['peak_kib']):>11.1f} "
            f"{mib(row['peak_kib'] - row['baseline_kib']):>9.1f}"
        )
    print()
    header = (
        f"{'rounds':>8} {'seconds':>8} {'rounds/s':>8} {'MB/s':>7} {'body MB':>8} "
        f"{'base RSS MB':>11} {'peak RSS MB':>11} {'peak-base':>9}"
    )
    print(header)
    print("-" * len(header))
    for row in streams:
        print(
            f"{row['n']:>8} {row['seconds']:>8.2f} {row['n'] / row['seconds']:>8.0f} "
            f"{row['bytes'] / 1e6 / row['seconds']:>7.1f} {row['bytes'] / 1e6:>8.1f} "
            f"{mib(row['baseline_kib']):>11.1f} {mib(row['peak_kib']):>11.1f} "
            f"{mib(row['peak_kib'] - row['baseline_kib']):>9.1f}"
        )
    print()
    small, large = exports[0], exports[-1]
    export_ratio = large["peak_kib"] / small["peak_kib"]
    stream_ratio = streams[-1]["peak_kib"] / streams[0]["peak_kib"]
    ten_k = [row for row in exports if row["n"] == 10_000]

    def growth(rows):
        above = [max(row["peak_kib"] - row["baseline_kib"], 1) for row in (rows[0], rows[-1])]
        return above[1] / above[0]

    export_growth, stream_growth = growth(exports), growth(streams)
    print(
        f"peak above baseline (baseline = after django.setup(), which imports torch via the admin): export "
        f"{export_growth:.2f}x from {small['n']:,} to {large['n']:,} maps, stream {stream_growth:.2f}x from "
        f"{streams[0]['n']:,} to {streams[-1]['n']:,} rounds (informational)"
    )
    print()
    print("goals")
    print(
        f"  {verdict(export_ratio <= GOAL_RSS_RATIO)}  export peak RSS at {large['n']:,} maps / at {small['n']:,}: "
        f"{export_ratio:.2f}x <= {GOAL_RSS_RATIO}x ({mib(large['peak_kib']):.1f} / {mib(small['peak_kib']):.1f} MB)"
    )
    print(
        f"  {verdict(stream_ratio <= GOAL_RSS_RATIO)}  stream peak RSS at {streams[-1]['n']:,} rounds / at "
        f"{streams[0]['n']:,}: {stream_ratio:.2f}x <= {GOAL_RSS_RATIO}x "
        f"({mib(streams[-1]['peak_kib']):.1f} / {mib(streams[0]['peak_kib']):.1f} MB)"
    )
    if ten_k:
        print(
            f"  {verdict(ten_k[0]['seconds'] < GOAL_EXPORT_S)}  export of 10,000 maps in {ten_k[0]['seconds']:.1f} s "
            f"< {GOAL_EXPORT_S:.0f} s"
        )
    else:
        print("  ----  export of 10,000 maps: not measured (pass --maps with 10000)")
    results["goals"] = {
        "export_rss_ratio": export_ratio,
        "stream_rss_ratio": stream_ratio,
        "export_10k_seconds": ten_k[0]["seconds"] if ten_k else None,
        "export_above_baseline_ratio": export_growth,
        "stream_above_baseline_ratio": stream_growth,
    }


def _terminate(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--maps", type=sizes, default=[1000, 10000], help="export sizes, comma-separated")
    parser.add_argument("--rounds", type=sizes, default=[10000, 100000], help="stream sizes, comma-separated")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="also write every number to this file")
    parser.add_argument("--child", choices=["seed", "export", "stream"], help=argparse.SUPPRESS)
    parser.add_argument("--images", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--expect", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--maps-to", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--rounds-to", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        {"seed": child_seed, "export": child_export, "stream": child_stream}[args.child](args)
        return 0

    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    world = World(args)
    results = {"export": [], "stream": [], "seed": []}
    try:
        world.redis_check()
        world.database_create()
        world.run(str(ROOT / "manage.py"), "migrate", "--verbosity", "0", label="manage.py migrate")
        n_images = max(args.maps)
        steps = max(len(args.maps), len(args.rounds))
        for step in range(steps):
            n_maps = args.maps[min(step, len(args.maps) - 1)]
            n_rounds = args.rounds[min(step, len(args.rounds) - 1)]
            seeded = world.spawn("seed", images=n_images, maps_to=n_maps, rounds_to=n_rounds, seed=args.seed)
            results["seed"].append(seeded)
            log(
                f"database: {seeded['n_maps']} maps, {seeded['n_rounds']} rounds, {seeded['db_bytes'] / 1e6:.0f} MB "
                f"(seeded in {seeded['seconds']:.1f} s: maps {seeded['maps_seconds']:.1f} s, "
                f"rounds {seeded['rounds_seconds']:.1f} s)"
            )
            if step < len(args.maps):
                results["export"].append(world.spawn("export", expect=n_maps))
            if step < len(args.rounds):
                results["stream"].append(world.spawn("stream", expect=n_rounds))
        report(results, args)
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=2))
        return 0
    except KeyboardInterrupt:
        log("interrupted: cleaning up")
        return 130
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up short
        world.close()


if __name__ == "__main__":
    sys.exit(main())
