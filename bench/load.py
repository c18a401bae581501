"""Load benchmark: realistic players (bench/locustfile.py, run by locust headless and bounded in time)
against gunicorn + PostgreSQL + Redis + a real Celery worker on loopback, at a few player levels.

    .venv/bin/python bench/load.py                       # levels 4, 8, 16, 32; 30 s each
    .venv/bin/python bench/load.py --levels 2,4 --duration 10   # a quick look

It builds its own world (bench/sandbox.py): a fresh database whose name contains 'bench' (default
clickme_bench_load, dropped at the end), Redis db 12 (flushed at the end only if it was empty),
media, private files and var/ in a temporary folder; migrate, generate_benchmark, import_images and
an untrained demo-sized partner (its cost per forward is the trained one's). Then gunicorn (2 workers
x 4 threads, as make run and the container run it) and a Celery worker (queues celery,maps).

The per-session rate limits stay at their defaults (realistic play must never meet them); the per-IP
ones are switched off, because every simulated player comes from 127.0.0.1.

For each level it prints players, rounds/s, click posts/s, p50 and p99 of the click posts (ms),
errors (any 4xx other than 409 round_closed, any 5xx or network failure) and the 409s, then the
number of players held with p99 < 500 ms and no error. Afterwards it checks the data: every click the
server accepted (a 200 to its post) is stored exactly once in its round, in order, and nothing else
is; once the rounds are closed the real worker's maps count every qualifying round (no stale map).
"""

import argparse
import contextlib
import csv
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sandbox import ROOT, BenchSandbox  # noqa: E402

sys.path.insert(0, str(ROOT))

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/clickme_bench_load"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/12"
P99_GOAL_MS = 500
IP_SCOPES = ("ROUND_START", "CLICKS", "NICKNAME", "GAME", "RESEARCH", "EXPORTS", "TRAINING_JOBS", "NEW_SESSION")
MARK = "@@BENCH@@"


def log(message):
    print(f"[load] {message}", file=sys.stderr, flush=True)


class Stack(BenchSandbox):
    """The world of the benchmark; `close()` stops and removes all of it and is safe to call twice."""

    def __init__(self, args):
        super().__init__(args.database_url, args.redis_url, "clickme-load-", log)
        self.args = args
        self.processes = {}
        self.port = None
        self.env.update({f"CLICKME_THROTTLE_{scope}_IP": "" for scope in IP_SCOPES})
        self.env.update({"CLICKME_PRIVATE_ROOT": str(self.tmp / "private"), "CLICKME_TORCH_THREADS": "1"})

    def manage(self, *arguments, capture=False, extra_env=None):
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), *arguments],
            cwd=ROOT,
            env={**self.env, **(extra_env or {})},
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {arguments[0]} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
        if arguments[0] != "shell":
            log(f"manage.py {' '.join(arguments)} ({time.perf_counter() - started:.1f} s)")
        return result.stdout if capture else None

    def partner_artifact(self):
        """An untrained demo network exported exactly like the demo partner (its input size, mean/std)."""
        import torch

        from game.synthetic_benchmark import CATEGORIES
        from training.demo_partner import ARCHITECTURE, MEAN, STD, DemoConfig, demo_net
        from training.partner_export import partner_export

        torch.manual_seed(0)
        config = DemoConfig()
        return partner_export(
            demo_net(len(CATEGORIES), config, codes=[code for _name, _wnid, code in CATEGORIES]),
            self.tmp / "bench-demo.pt2",
            categories=[{"wnid": wnid, "name": name} for name, wnid, _code in CATEGORIES],
            input_size=config.input_size,
            mean=MEAN,
            std=STD,
            architecture=ARCHITECTURE,
        )

    def setup(self):
        self.redis_check()
        self.database_create()
        log(f"created database {self.db_name}; working folder {self.tmp}")
        self.manage("migrate", "--noinput", "-v", "0")
        self.manage("collectstatic", "--noinput", "-v", "0")
        out = self.tmp / "benchmark"
        self.manage("generate_benchmark", "--out", str(out), "--per-category", str(self.args.per_category))
        self.manage("import_images", str(out / "manifest.csv"))
        self.manage("register_partner", "--weights", str(self.partner_artifact()), "--name", "bench", "--activate")

    def _spawn(self, name, command):
        handle = open(self.tmp / f"{name}.log", "wb")
        self.processes[name] = subprocess.Popen(
            command,
            cwd=ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def start(self):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        bin_dir = Path(sys.executable).parent
        self._spawn(
            "gunicorn",
            [
                str(bin_dir / "gunicorn"),
                "clickme_site.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(self.args.workers),
                "--threads",
                str(self.args.threads),
                "--timeout",
                "60",
                "--keep-alive",
                "5",  # as make run and the container: longer than the 2 s between rounds
                "--log-level",
                "warning",
            ],
        )
        self._spawn(
            "worker",
            [
                str(bin_dir / "celery"),
                "-A",
                "clickme_site",
                "worker",
                "-Q",
                "celery,maps",
                "--concurrency",
                "1",
                "--loglevel",
                "WARNING",
                "--hostname",
                "bench-load@%h",
                "--without-gossip",
                "--without-mingle",
            ],
        )
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited:\n{self.tail(name)}")
            if self.get("/healthz") == 200:
                log(f"gunicorn on port {self.port} and the worker answer /healthz")
                return
            time.sleep(1)
        raise RuntimeError(f"/healthz never answered 200:\n{self.tail('gunicorn')}\n{self.tail('worker')}")

    def get(self, path):
        try:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            connection.request("GET", path)
            status = connection.getresponse().status
            connection.close()
            return status
        except OSError:
            return None

    def tail(self, name):
        with contextlib.suppress(OSError):
            return (self.tmp / f"{name}.log").read_text(errors="replace")[-3000:]
        return ""

    def stop(self):
        for process in self.processes.values():
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)

    def close(self):
        self.cleanup(self.stop, keep_tmp=self.args.keep_tmp)


def run_level(stack, players, args, duration=None):
    """Locust at `players` users for `duration` (default --duration) measured seconds after a ramp."""
    duration = duration or args.duration
    prefix = stack.tmp / f"level-{players}-{int(duration)}s"
    accepted = stack.tmp / f"accepted-{players}-{int(duration)}s.jsonl"
    ramp_s = max(2.0, players / args.spawn_rate)
    locust = shutil.which("locust", path=str(Path(sys.executable).parent)) or "locust"
    command = [
        locust,
        "-f",
        str(ROOT / "bench" / "locustfile.py"),
        "--headless",
        "--users",
        str(players),
        "--spawn-rate",
        str(args.spawn_rate),
        "--run-time",
        f"{int(ramp_s + args.duration)}s",
        "--host",
        f"http://127.0.0.1:{stack.port}",
        "--csv",
        str(prefix),
        "--only-summary",
        "--reset-stats",
        "--stop-timeout",
        "12",
        "--loglevel",
        "WARNING",
    ]
    log(f"level {players}: locust for {duration:.0f} s after a {ramp_s:.0f} s ramp")
    result = subprocess.run(
        command, cwd=ROOT, env={**stack.env, "BENCH_ACCEPTED_FILE": str(accepted)}, capture_output=True, text=True
    )
    with open(f"{prefix}_stats.csv") as handle:
        rows = {row["Name"]: row for row in csv.DictReader(handle)}
    clicks, starts, total = rows.get("POST clicks/", {}), rows.get("POST rounds/", {}), rows["Aggregated"]
    lines = accepted.read_text().splitlines() if accepted.exists() else []
    closed = next((json.loads(line)["closed_409"] for line in lines if "closed_409" in line), 0)
    failures = []
    with contextlib.suppress(OSError), open(f"{prefix}_failures.csv") as handle:
        failures = [f"{row['Occurrences']} x {row['Name']}: {row['Error'][:160]}" for row in csv.DictReader(handle)]
    return {
        "players": players,
        "rounds_per_s": float(starts.get("Request Count", 0)) / duration,
        "posts_per_s": float(clicks.get("Request Count", 0)) / duration,
        "p50_ms": float(clicks.get("50%", "nan") or "nan"),
        "p99_ms": float(clicks.get("99%", "nan") or "nan"),
        "all_p99_ms": float(total.get("99%", "nan") or "nan"),
        "errors": int(total.get("Failure Count", 0)),
        "closed_409": closed,
        "locust_exit": result.returncode,
        "failures": failures,
        "accepted_file": str(accepted),
    }


VERIFY = r"""
import json, os, time
from django.conf import settings
from annotations.models import ClickMap
from annotations.selectors import qualifying_rounds, stale_image_ids
from game.models import Round
from game.click_rules import clicks_window_ms
from game.services import rounds_expire_stale

accepted = {}
for path in os.environ["BENCH_ACCEPTED_FILES"].split(os.pathsep):
    for line in open(path):
        row = json.loads(line)
        if "round_id" in row:
            accepted[row["round_id"]] = row["clicks"]
limit_s = (settings.CLICKME["TIME_LIMIT_MS"] + clicks_window_ms(settings.CLICKME)) / 1000
time.sleep(limit_s + 1)
expired = rounds_expire_stale()
stored = dict(Round.objects.values_list("id", "clicks"))
missing = [r for r in accepted if r not in stored]
mismatched = [r for r, clicks in stored.items() if clicks != accepted.get(r, [])]
n_accepted = sum(len(c) for c in accepted.values())
n_stored = sum(len(c) for c in stored.values())
deadline = time.monotonic() + float(os.environ["BENCH_MAP_WAIT_S"])
stale = stale_image_ids()
while stale and time.monotonic() < deadline:
    time.sleep(1)
    stale = stale_image_ids()
wrong_maps = []
for clickmap in ClickMap.objects.all():
    rounds = qualifying_rounds(image_id=clickmap.image_id)
    if clickmap.n_players != len(rounds) or clickmap.n_clicks != sum(len(c) for _r, c in rounds):
        wrong_maps.append(clickmap.image_id)
open_left = Round.objects.filter(state="open").count()
print("@@BENCH@@" + json.dumps({
    "rounds": len(stored), "accepted_clicks": n_accepted, "stored_clicks": n_stored, "missing_rounds": missing[:10],
    "mismatched_rounds": mismatched[:10], "n_mismatched": len(mismatched), "expired_at_end": expired,
    "stale_maps": len(stale), "wrong_maps": wrong_maps[:10], "n_maps": ClickMap.objects.count(),
    "open_rounds_left": open_left,
}))
"""


def verify(stack, rows, args):
    log("checking the stored clicks and waiting for the worker's maps")
    files = os.pathsep.join(row["accepted_file"] for row in rows if Path(row["accepted_file"]).exists())
    out = stack.manage(
        "shell",
        "-c",
        VERIFY,
        capture=True,
        extra_env={"BENCH_ACCEPTED_FILES": files, "BENCH_MAP_WAIT_S": str(args.map_wait)},
    )
    return json.loads(next(line for line in out.splitlines() if line.startswith(MARK))[len(MARK) :])


def report(rows, check):
    print()
    print("| players | rounds/s | click posts/s | p50 ms | p99 ms | errors | 409 closed |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row['players']} | {row['rounds_per_s']:.2f} | {row['posts_per_s']:.1f} | {row['p50_ms']:.0f} | "
            f"{row['p99_ms']:.0f} | {row['errors']} | {row['closed_409']} |"
        )
    for row in rows:
        for failure in row["failures"]:
            print(f"  errors at {row['players']} players: {failure}")
    held = [row["players"] for row in rows if row["p99_ms"] < P99_GOAL_MS and row["errors"] == 0]
    print()
    print(f"players held with click-post p99 < {P99_GOAL_MS} ms and 0 errors: {max(held) if held else 0}")
    ok = (
        not check["missing_rounds"]
        and check["n_mismatched"] == 0
        and check["stale_maps"] == 0
        and not check["wrong_maps"]
        and check["accepted_clicks"] == check["stored_clicks"]
    )
    print(
        f"data check: {check['accepted_clicks']} clicks accepted, {check['stored_clicks']} stored in "
        f"{check['rounds']} rounds; {check['n_mismatched']} rounds differ; {check['stale_maps']} stale maps and "
        f"{len(check['wrong_maps'])} wrong of {check['n_maps']} maps after the worker -> {'PASS' if ok else 'FAIL'}"
    )
    return ok


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--levels", default="4,8,16,32", help="concurrent players per level, comma separated")
    parser.add_argument("--duration", type=float, default=30.0, help="measured seconds per level")
    parser.add_argument("--warmup", type=float, default=8.0, help="unreported seconds first (2 players per worker)")
    parser.add_argument("--spawn-rate", type=float, default=4.0, help="players started per second")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker")
    parser.add_argument("--per-category", type=int, default=40, help="benchmark images per category")
    parser.add_argument("--map-wait", type=float, default=180.0, help="seconds to wait for the worker's maps")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL)
    parser.add_argument("--json", dest="json_out", help="write every number to this file")
    parser.add_argument("--keep-tmp", action="store_true", help="keep the temporary folder and the logs")
    args = parser.parse_args()

    stack = Stack(args)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        os.environ.update({k: v for k, v in stack.env.items() if k.startswith(("DJANGO_", "CLICKME_", "DATABASE"))})
        stack.setup()
        stack.start()
        warmup = run_level(stack, 2 * args.workers, args, duration=args.warmup)  # loads the partner everywhere
        rows = [run_level(stack, int(level), args) for level in args.levels.split(",")]
        check = verify(stack, [warmup, *rows], args)
        ok = report(rows, check)
        if args.json_out:
            Path(args.json_out).write_text(json.dumps({"levels": rows, "check": check}, indent=2))
        return 0 if ok else 1
    finally:
        stack.close()


if __name__ == "__main__":
    sys.exit(main())
