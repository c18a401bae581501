#!/usr/bin/env python
"""Click-post latency and throughput against gunicorn on loopback, beside the bare partner forward pass.

    .venv/bin/python bench/partner_latency.py [--levels 1,4,16] [--duration 15] [--json OUT]

What it does, all in one run (see bench/README.md):

1. Sets up its own world: a fresh PostgreSQL database (default `clickme_bench`, dropped and
   re-created; the name must contain "bench"), Redis db 13 for the cache and broker, and
   CLICKME_VAR_DIR / CLICKME_MEDIA_ROOT / DJANGO_STATIC_ROOT under a temporary folder. It runs
   `migrate`, `collectstatic`, `generate_benchmark --per-category 40`, `import_images`, and registers
   and activates a partner: by default an untrained `SmallCNN` (training/nets/small_cnn.py, input 112
   and the demo partner's mean/std, so exactly the demo partner's cost) exported with
   `training.partner_export.partner_export`; `--train` trains the demo partner instead
   (`train_demo_partner --epochs 2`); `--partner FILE` registers an existing exported artifact.
   CLICKME_PLAYS_PER_IMAGE is set very high so no image retires.
2. Measures the bare partner in this process: `game.partner.PartnerRuntime` built from the active
   partner's row exactly as game/services.py builds it, one intra-op thread, on a (1, 224, 224, 3)
   view of an imported image: forward (predict) latency, render (partner_view) + forward latency, and
   back-to-back throughput with 1 process and with one process per core (multiprocessing, one thread
   each). This is done once before and once after the endpoint levels; the table uses both.
3. Starts gunicorn (`clickme_site.wsgi:application`, settings base) on a free loopback port with
   one worker per core and the production thread count (docker/entrypoint.sh: gthread, 4 threads),
   CLICKME_TORCH_THREADS=1 (applied by game.partner.runtime_for at first load).
4. For each level N: N simulated players (threads with keep-alive `http.client` connections, cookies
   and CSRF as a browser: GET /, PATCH /api/game/me/, POST /api/game/rounds/) post 10 clicks per
   request, back to back with no think time, for a warm-up and then `--duration` seconds. The clicks
   wander in the image's top-left corner, outside the partner's centre crop, so they reveal nothing
   and rarely win a round, while the server does the full work of every post (lock, validate,
   append, render the whole view, forward, save). A player starts a new round after 14 posts (140
   clicks, as the browser makes in 7 s), when a round is won, or when a post answers 409.
5. Prints the table and PASS/MISS against the goals; `--json OUT` writes every number.

Everything it started is cleaned up on exit, error or Ctrl-C: gunicorn, the helper processes, the
database, Redis db 13 (flushed only when it was empty at start) and the temporary folder.
"""

import argparse
import contextlib
import http.client
import http.cookies
import json
import os
import random
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/clickme_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/13"
CLICKS_PER_POST = 10  # the browser posts about every 10 clicks (SCIENCE.md section 1)
POSTS_PER_ROUND = 14  # 140 clicks: one every 50 ms for 7 s
CLICK_STEP_MS = 50
CORNER_PX = 5  # clicks in [0, 5]^2: with a 21 px partner bubble they reach x, y <= 15, outside the 224 crop
GOAL_LATENCY_RATIO = 1.20
GOAL_THROUGHPUT_RATIO = 0.80
MARK = "@@BENCH@@"


def log(message):
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def percentile(values, q):
    """Linear-interpolated percentile (q in 0..100) of a list of numbers; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100.0
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


# --------------------------------------------------------------------------------------------- world


class World:
    """Everything the benchmark creates; `close()` removes it all and is safe to call twice."""

    def __init__(self, args):
        self.args = args
        self.tmp = Path(tempfile.mkdtemp(prefix="clickme-bench-"))
        self.database_url = args.database_url
        parts = urlsplit(self.database_url)
        self.db_name = parts.path.lstrip("/")
        if "bench" not in self.db_name:
            raise SystemExit(f"refusing to drop and re-create database {self.db_name!r}: its name must contain 'bench'")
        self.admin_url = urlunsplit(parts._replace(path="/postgres"))
        self.db_created = False
        self.redis_flush_at_end = False
        self.gunicorn = None
        self.gunicorn_log = self.tmp / "gunicorn.log"
        self.port = None
        self.env = dict(os.environ)
        self.env.update(
            {
                "DJANGO_SETTINGS_MODULE": "clickme_site.settings.base",
                "DATABASE_URL": self.database_url,
                "REDIS_URL": args.redis_url,
                "CLICKME_VAR_DIR": str(self.tmp / "var"),
                "CLICKME_MEDIA_ROOT": str(self.tmp / "media"),
                "DJANGO_STATIC_ROOT": str(self.tmp / "static"),
                "CLICKME_PLAYS_PER_IMAGE": str(10**9),
                "CLICKME_TORCH_THREADS": "1",
                "DJANGO_DEBUG": "false",
                "DJANGO_LOG_LEVEL": "WARNING",
                "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
            }
        )
        if args.omp_threads:
            self.env["OMP_NUM_THREADS"] = str(args.omp_threads)
        (self.tmp / "var").mkdir()
        (self.tmp / "media").mkdir()

    # -- database and redis

    def _admin(self):
        import psycopg2

        connection = psycopg2.connect(self.admin_url)
        connection.autocommit = True
        return connection

    def database_create(self):
        with contextlib.closing(self._admin()) as connection, connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
            cursor.execute(f'CREATE DATABASE "{self.db_name}"')
        self.db_created = True

    def database_drop(self):
        if not self.db_created:
            return
        with contextlib.closing(self._admin()) as connection, connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
        self.db_created = False

    def backend_pids(self):
        """PostgreSQL backends serving the benchmark database (gunicorn's connections)."""
        with contextlib.closing(self._admin()) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [self.db_name])
            return [row[0] for row in cursor.fetchall()]

    def redis_check(self):
        import redis

        client = redis.Redis.from_url(self.args.redis_url)
        size = client.dbsize()
        if size:
            log(f"warning: {self.args.redis_url} holds {size} keys already; it will not be flushed at the end")
        else:
            self.redis_flush_at_end = True

    def redis_flush(self):
        if not self.redis_flush_at_end:
            return
        import redis

        redis.Redis.from_url(self.args.redis_url).flushdb()
        self.redis_flush_at_end = False

    # -- manage.py

    def manage(self, *arguments, capture=False):
        command = [sys.executable, str(ROOT / "manage.py"), *arguments]
        started = time.perf_counter()
        result = subprocess.run(command, cwd=ROOT, env=self.env, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(
                f"manage.py {' '.join(arguments[:1])} failed ({result.returncode}):\n{result.stdout[-3000:]}"
                f"\n{result.stderr[-3000:]}"
            )
        log(
            f"manage.py {' '.join(a if len(a) < 60 else a[:57] + '...' for a in arguments)} "
            f"({time.perf_counter() - started:.1f} s)"
        )
        return result.stdout if capture else None

    def partner_artifact(self):
        """An untrained SmallCNN exported exactly like the demo partner (input 112, demo mean/std)."""
        import torch

        from game.synthetic_benchmark import CATEGORIES
        from training.demo_partner import MEAN, STD, DemoConfig
        from training.nets.small_cnn import SmallCNN
        from training.partner_export import partner_export

        torch.manual_seed(0)
        config = DemoConfig()
        model = SmallCNN(len(CATEGORIES), width=config.width)
        return partner_export(
            model,
            self.tmp / "media" / "partners" / "bench-small-cnn.pt2",
            categories=[{"wnid": wnid, "name": name} for name, wnid, _colour in CATEGORIES],
            input_size=config.input_size,
            mean=MEAN,
            std=STD,
            architecture="small_cnn",
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
        if self.args.partner:
            self.manage(
                "register_partner",
                "--weights",
                str(Path(self.args.partner).resolve()),
                "--name",
                "bench-partner",
                "--activate",
            )
        elif self.args.train:
            self.manage("train_demo_partner", "--epochs", "2")
        else:
            path = self.partner_artifact()
            self.manage("register_partner", "--weights", str(path), "--name", "bench-small-cnn", "--activate")

    def facts(self):
        """The active partner's row, the game settings and one imported image, read through Django."""
        code = (
            "import json\n"
            "from django.conf import settings\n"
            "from game.models import Image, Partner, Category\n"
            "p = Partner.objects.get(is_active=True)\n"
            "i = Image.objects.order_by('id').first()\n"
            "print('" + MARK + "' + json.dumps({'partner': {'id': p.pk, 'name': p.name, 'architecture': p.architecture,"
            " 'weights_file': p.weights_file, 'n_outputs': len(p.category_mapping), 'input_size': p.input_size,"
            " 'mean': list(p.mean), 'std': list(p.std)},"
            " 'n_outputs_mapped': sum(1 for c, _ in p.category_mapping if c),"
            " 'n_categories': Category.objects.count(), 'n_images': Image.objects.count(),"
            " 'image_path': i.file.path, 'image_id': i.pk,"
            " 'clickme': {k: settings.CLICKME[k] for k in ('PARTNER_CROP_PX', 'PARTNER_BUBBLE_PX', 'NOISE_STD',"
            " 'TIME_LIMIT_MS', 'MAX_CLICKS', 'PLAYS_PER_IMAGE', 'TORCH_THREADS')}}))\n"
        )
        out = self.manage("shell", "-c", code, capture=True)
        line = next(line for line in out.splitlines() if line.startswith(MARK))
        return json.loads(line[len(MARK) :])

    # -- gunicorn

    def gunicorn_start(self, workers, threads):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        executable = Path(sys.executable).parent / "gunicorn"
        command = [
            str(executable) if executable.exists() else shutil.which("gunicorn"),
            "clickme_site.wsgi:application",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(workers),
            "--timeout",
            "60",
            "--worker-tmp-dir",
            "/dev/shm" if Path("/dev/shm").is_dir() else str(self.tmp),
            "--error-logfile",
            str(self.gunicorn_log),
            "--log-level",
            "warning",
        ]
        if threads > 1:
            command += ["--worker-class", "gthread", "--threads", str(threads)]
        else:
            command += ["--worker-class", "sync"]
        self.gunicorn = subprocess.Popen(
            command,
            cwd=ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.gunicorn.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({self.gunicorn.returncode}):\n{self.gunicorn_log_tail()}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                connection.request("GET", "/")
                response = connection.getresponse()
                response.read()
                connection.close()
                if response.status == 200 and len(self.gunicorn_workers()) >= workers:
                    return command
                if response.status >= 500:
                    raise RuntimeError(f"GET / answered {response.status}:\n{self.gunicorn_log_tail()}")
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"gunicorn did not answer on port {self.port}:\n{self.gunicorn_log_tail()}")

    def gunicorn_log_tail(self):
        try:
            return self.gunicorn_log.read_text()[-3000:]
        except OSError:
            return ""

    def gunicorn_workers(self):
        return child_pids(self.gunicorn.pid) if self.gunicorn else []

    def gunicorn_stop(self):
        if self.gunicorn is None or self.gunicorn.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.gunicorn.pid, signal.SIGTERM)  # its own session: the master and its workers
        try:
            self.gunicorn.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.gunicorn.pid, signal.SIGKILL)
            self.gunicorn.wait(timeout=5)

    def close(self):
        for step in (self.gunicorn_stop, self.database_drop, self.redis_flush):
            try:
                step()
            except Exception as error:  # keep cleaning up whatever failed
                log(f"cleanup: {step.__name__} failed: {error}")
        if not self.args.keep_tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            log(f"kept {self.tmp}")


# ------------------------------------------------------------------------------------- CPU accounting

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid):
    with open(f"/proc/{pid}/stat") as handle:
        text = handle.read()
    return text[text.rindex(")") + 2 :].split()  # fields from 3 (state) on


def child_pids(parent):
    children = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                if int(_stat_fields(entry)[1]) == parent:
                    children.append(int(entry))
    return children


def process_cpu_s(pids):
    """{pid: utime + stime in seconds} of the processes that still exist."""
    result = {}
    for pid in pids:
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = _stat_fields(pid)
            result[pid] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return result


def machine_cpu_s():
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    with open("/proc/stat") as handle:
        values = [int(v) for v in handle.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return (sum(values[:8]) - idle) / CLOCK_TICKS, sum(values[:8]) / CLOCK_TICKS


class CpuSnapshot:
    def __init__(self, world):
        self.time = time.perf_counter()
        usage = resource.getrusage(resource.RUSAGE_SELF)
        self.client = usage.ru_utime + usage.ru_stime
        self.workers = process_cpu_s(world.gunicorn_workers())
        try:
            self.postgres = process_cpu_s(world.backend_pids())
        except Exception:
            self.postgres = {}
        self.machine = machine_cpu_s()


def cpu_between(a, b):
    """CPU seconds used between two snapshots, per part (processes present in both only)."""

    def delta(before, after):
        return sum(after[pid] - before[pid] for pid in after if pid in before)

    return {
        "wall_s": b.time - a.time,
        "gunicorn_workers_s": delta(a.workers, b.workers),
        "gunicorn_per_worker_s": {str(pid): b.workers[pid] - a.workers[pid] for pid in b.workers if pid in a.workers},
        "postgres_backends_s": delta(a.postgres, b.postgres),
        "client_s": b.client - a.client,
        "machine_busy_s": b.machine[0] - a.machine[0],
        "machine_total_s": b.machine[1] - a.machine[1],
    }


# ------------------------------------------------------------------------------------------ the bare partner


def _bare_setup(facts):
    import numpy as np
    import torch
    from PIL import Image as PILImage

    from game import partner as partner_runtime
    from game.images import as_float_array

    torch.set_num_threads(1)
    row = facts["partner"]
    spec = partner_runtime.PartnerSpec(  # as game/services.py partner_guesses builds it
        architecture=row["architecture"],
        weights_path=row["weights_file"],
        n_outputs=row["n_outputs"],
        input_size=row["input_size"],
        mean=tuple(row["mean"]),
        std=tuple(row["std"]),
    )
    runtime = partner_runtime.PartnerRuntime(spec)
    with PILImage.open(facts["image_path"]) as pil:
        image = as_float_array(pil)
    rng = random.Random(1)
    clicks = [(rng.randint(0, CORNER_PX), rng.randint(0, CORNER_PX)) for _ in range(70)]  # mid-round
    settings = facts["clickme"]
    render_kwargs = {
        "crop_px": settings["PARTNER_CROP_PX"],
        "bubble_px": settings["PARTNER_BUBBLE_PX"],
        "noise_std": settings["NOISE_STD"],
    }
    return np, runtime, image, clicks, render_kwargs


def _bare_step(mode, runtime, image, clicks, render_kwargs, view, seed):
    from game.reveal import partner_view

    if mode == "forward":
        runtime.predict(view[None])
    elif mode == "render":
        partner_view(image, clicks, seed=seed, **render_kwargs)
    else:
        runtime.predict(partner_view(image, clicks, seed=seed, **render_kwargs)[None])


def bare_latency(facts, mode, seconds, warmup=20):
    """Per-call milliseconds of `mode` (forward, render or render+forward), back to back, one thread."""
    from game.reveal import partner_view

    _np, runtime, image, clicks, render_kwargs = _bare_setup(facts)
    view = partner_view(image, clicks, seed=1, **render_kwargs)
    assert view.shape == (render_kwargs["crop_px"], render_kwargs["crop_px"], 3), view.shape
    for i in range(warmup):
        _bare_step(mode, runtime, image, clicks, render_kwargs, view, i)
    samples = []
    deadline = time.perf_counter() + seconds
    i = 0
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        _bare_step(mode, runtime, image, clicks, render_kwargs, view, i)
        samples.append((time.perf_counter() - started) * 1000.0)
        i += 1
    return samples


def _bare_worker(facts, mode, seconds, barrier, results):
    try:
        from game.reveal import partner_view

        _np, runtime, image, clicks, render_kwargs = _bare_setup(facts)
        view = partner_view(image, clicks, seed=1, **render_kwargs)
        for i in range(20):
            _bare_step(mode, runtime, image, clicks, render_kwargs, view, i)
        barrier.wait(timeout=120)
        started = time.perf_counter()
        deadline = started + seconds
        count = 0
        while time.perf_counter() < deadline:
            _bare_step(mode, runtime, image, clicks, render_kwargs, view, count)
            count += 1
        results.put((count, time.perf_counter() - started))
    except Exception:
        results.put(("error", traceback.format_exc()))


def bare_throughput(facts, mode, processes, seconds):
    """Calls per second of `mode` with `processes` processes, one torch thread each, back to back."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(processes)
    results = context.Queue()
    children = [
        context.Process(target=_bare_worker, args=(facts, mode, seconds, barrier, results), daemon=True)
        for _ in range(processes)
    ]
    env_before = os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = "1"
    try:
        for child in children:
            child.start()
        outcomes = [results.get(timeout=300 + seconds) for _ in children]
    finally:
        if env_before is None:
            os.environ.pop("OMP_NUM_THREADS", None)
        else:
            os.environ["OMP_NUM_THREADS"] = env_before
        for child in children:
            child.join(timeout=10)
            if child.is_alive():
                child.terminate()
                child.join(timeout=5)
    for outcome in outcomes:
        if outcome[0] == "error":
            raise RuntimeError(f"bare worker failed:\n{outcome[1]}")
    return sum(count / elapsed for count, elapsed in outcomes)


def bare_pass(facts, seconds, n_cores, label):
    log(f"bare partner ({label}): latency and throughput, {seconds:g} s each")
    result = {
        "forward_ms": bare_latency(facts, "forward", seconds),
        "render_ms": bare_latency(facts, "render", seconds / 2),
        "render_forward_ms": bare_latency(facts, "render+forward", seconds),
        "forward_per_s": {"1": bare_throughput(facts, "forward", 1, seconds)},
        "render_forward_per_s": {},
    }
    if n_cores > 1:
        result["forward_per_s"][str(n_cores)] = bare_throughput(facts, "forward", n_cores, seconds)
    result["render_forward_per_s"][str(n_cores)] = bare_throughput(facts, "render+forward", n_cores, seconds)
    return result


# ------------------------------------------------------------------------------------------- the players


class Client:
    """A browser-like HTTP client: one keep-alive connection, a cookie jar, the CSRF header."""

    def __init__(self, port, timeout):
        self.port = port
        self.timeout = timeout
        self.cookies = {}
        self.connection = None
        self.reconnects = 0

    def _connect(self):
        self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)

    def request(self, method, path, body=None):
        """(status, parsed JSON or None); retries once when a kept-alive connection was closed."""
        payload = None if body is None else json.dumps(body, separators=(",", ":")).encode()
        headers = {"User-Agent": "clickme-bench", "Accept": "application/json"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if payload is not None:
            headers["Content-Type"] = "application/json"
        if "csrftoken" in self.cookies and method != "GET":
            headers["X-CSRFToken"] = self.cookies["csrftoken"]
            headers["Referer"] = f"http://127.0.0.1:{self.port}/"
        for attempt in (0, 1):
            if self.connection is None:
                self._connect()
            try:
                self.connection.request(method, path, body=payload, headers=headers)
                response = self.connection.getresponse()
                data = response.read()
                break
            except (
                http.client.RemoteDisconnected,
                ConnectionResetError,
                BrokenPipeError,
                http.client.CannotSendRequest,
                http.client.ResponseNotReady,
            ):
                self.connection.close()
                self.connection = None
                self.reconnects += 1
                if attempt:
                    raise
        for header in response.headers.get_all("Set-Cookie") or []:
            jar = http.cookies.SimpleCookie()
            jar.load(header)
            for name, morsel in jar.items():
                self.cookies[name] = morsel.value
        parsed = None
        if data and response.headers.get("Content-Type", "").startswith("application/json"):
            parsed = json.loads(data)
        return response.status, parsed

    def close(self):
        if self.connection is not None:
            self.connection.close()
            self.connection = None


class BenchPlayer:
    def __init__(self, port, index, level, seed, timeout):
        self.port = port
        self.index = index
        self.level = level
        self.timeout = timeout
        self.rng = random.Random(seed)
        self.sessions = 0
        self.client = None
        self.round_id = None
        self._new_session()

    def _new_session(self):
        if self.client is not None:
            self.client.close()
        self.client = Client(self.port, self.timeout)
        status, _ = self.client.request("GET", "/")
        if status != 200 or "csrftoken" not in self.client.cookies:
            raise RuntimeError(f"GET / answered {status} without a CSRF cookie")
        nickname = f"bench-{self.level}-{self.index}-{self.sessions}"
        status, body = self.client.request("PATCH", "/api/game/me/", {"nickname": nickname, "consented": True})
        if status != 200:
            raise RuntimeError(f"PATCH /api/game/me/ answered {status}: {body}")
        self.sessions += 1

    def new_round(self):
        for _attempt in range(3):
            status, body = self.client.request("POST", "/api/game/rounds/", {})
            if status == 201:
                self.round_id = body["round_id"]
                self.posts = 0
                self.t_ms = 0
                self.x, self.y = self.rng.randint(0, CORNER_PX), self.rng.randint(0, CORNER_PX)
                return
            if status == 409 and body and body.get("code") == "no_images_left":
                self._new_session()  # this player has seen every image: a new visitor takes over
                continue
            raise RuntimeError(f"POST /api/game/rounds/ answered {status}: {body}")
        raise RuntimeError("could not start a round")

    def next_clicks(self):
        clicks = []
        for _ in range(CLICKS_PER_POST):
            # A careless player idling in the corner: steps of at most a few px, never into the crop.
            self.x = min(max(self.x + self.rng.randint(-2, 2), 0), CORNER_PX)
            self.y = min(max(self.y + self.rng.randint(-2, 2), 0), CORNER_PX)
            clicks.append([self.x, self.y, self.t_ms])
            self.t_ms += CLICK_STEP_MS
        return clicks

    def post(self):
        """One click post: (status, seconds, state)."""
        clicks = self.next_clicks()
        started = time.perf_counter()
        status, body = self.client.request("POST", f"/api/game/rounds/{self.round_id}/clicks/", {"clicks": clicks})
        elapsed = time.perf_counter() - started
        self.posts += 1
        state = body.get("state") if (status == 200 and body) else None
        return status, elapsed, state, body


def run_level(world, n_players, warmup_s, duration_s, timeout_s, record=True):
    """N players posting back to back; returns the stats of the posts completed inside the window."""
    log(f"level {n_players}: creating players")
    players = [None] * n_players
    errors = []

    def make(i):
        try:
            players[i] = BenchPlayer(world.port, i, n_players, seed=1000 * n_players + i, timeout=timeout_s)
            players[i].new_round()
        except Exception as error:
            errors.append(repr(error))

    makers = [threading.Thread(target=make, args=(i,)) for i in range(n_players)]
    for thread in makers:
        thread.start()
    for thread in makers:
        thread.join()
    if errors:
        raise RuntimeError(f"creating players failed: {errors[:3]}")

    start_gate = threading.Barrier(n_players + 1)
    t = {}
    samples = []  # (completed_at, seconds, status, state)
    counters = {"round_starts": 0, "won": 0, "status_409": 0, "other_status": 0}
    bad = []
    lock = threading.Lock()

    def play(player):
        local, local_counts, local_bad = [], dict.fromkeys(counters, 0), []
        start_gate.wait()
        end = t["end"]
        try:
            while True:
                now = time.perf_counter()
                if now >= end:
                    break
                status, elapsed, state, body = player.post()
                local.append((time.perf_counter(), elapsed, status, state))
                if status == 200:
                    if state == "won":
                        local_counts["won"] += 1
                    if state != "open" or player.posts >= POSTS_PER_ROUND:
                        player.new_round()
                        local_counts["round_starts"] += 1
                elif status == 409:
                    local_counts["status_409"] += 1
                    player.new_round()
                    local_counts["round_starts"] += 1
                else:
                    local_counts["other_status"] += 1
                    if len(local_bad) < 3:
                        local_bad.append((status, body))
                    player.new_round()
                    local_counts["round_starts"] += 1
        except Exception as error:
            local_bad.append(("exception", repr(error)))
        with lock:
            samples.extend(local)
            for key, value in local_counts.items():
                counters[key] += value
            bad.extend(local_bad)

    threads = [threading.Thread(target=play, args=(player,), daemon=True) for player in players]
    for thread in threads:
        thread.start()
    now = time.perf_counter()
    t["window_start"] = now + warmup_s
    t["window_end"] = t["window_start"] + duration_s
    t["end"] = t["window_end"]
    log(f"level {n_players}: {warmup_s:g} s warm-up, then {duration_s:g} s measured")
    start_gate.wait()
    time.sleep(max(0.0, t["window_start"] - time.perf_counter()))
    before = CpuSnapshot(world)
    time.sleep(max(0.0, t["window_end"] - time.perf_counter()))
    after = CpuSnapshot(world)
    for thread in threads:
        thread.join(timeout=timeout_s + 10)
    for player in players:
        player.client.close()
    if not record:
        return None
    window = [s for s in samples if t["window_start"] <= s[0] < t["window_end"]]
    ok_ms = [s[1] * 1000.0 for s in window if s[2] == 200]
    cpu = cpu_between(before, after)
    n_ok = len(ok_ms)
    result = {
        "players": n_players,
        "window_s": duration_s,
        "posts_ok": n_ok,
        "posts_per_s": n_ok / duration_s,
        "p50_ms": percentile(ok_ms, 50),
        "p90_ms": percentile(ok_ms, 90),
        "p99_ms": percentile(ok_ms, 99),
        "mean_ms": sum(ok_ms) / n_ok if n_ok else None,
        "max_ms": max(ok_ms) if ok_ms else None,
        "posts_409_in_window": sum(1 for s in window if s[2] == 409),
        "posts_other_in_window": sum(1 for s in window if s[2] not in (200, 409)),
        "whole_run": counters,
        "reconnects": sum(p.client.reconnects for p in players),
        "problems": bad[:5],
        "cpu": cpu,
    }
    if n_ok:
        result["cpu_ms_per_post"] = {
            "gunicorn": 1000.0 * cpu["gunicorn_workers_s"] / n_ok,
            "postgres": 1000.0 * cpu["postgres_backends_s"] / n_ok,
            "client": 1000.0 * cpu["client_s"] / n_ok,
        }
    machine_cores = cpu["machine_total_s"] / cpu["wall_s"] if cpu["wall_s"] else 0
    ours = cpu["gunicorn_workers_s"] + cpu["postgres_backends_s"] + cpu["client_s"]
    result["cpu_cores_used"] = {
        "gunicorn": cpu["gunicorn_workers_s"] / cpu["wall_s"],
        "postgres": cpu["postgres_backends_s"] / cpu["wall_s"],
        "client": cpu["client_s"] / cpu["wall_s"],
        "machine_busy": cpu["machine_busy_s"] / cpu["wall_s"],
        "machine_other": max(0.0, cpu["machine_busy_s"] - ours) / cpu["wall_s"],
        "machine_cores": machine_cores,
    }
    if bad:
        log(f"level {n_players}: problems: {bad[:3]}")
    return result


# ------------------------------------------------------------------------------------------- reporting


def fmt(value, digits=1):
    return "-" if value is None else f"{value:.{digits}f}"


def summarise(bare_runs, levels, n_cores):
    forward_ms = [v for run in bare_runs for v in run["forward_ms"]]
    render_ms = [v for run in bare_runs for v in run["render_ms"]]
    render_forward_ms = [v for run in bare_runs for v in run["render_forward_ms"]]

    def mean_of(key, procs):
        values = [run[key][str(procs)] for run in bare_runs if str(procs) in run[key]]
        return sum(values) / len(values) if values else None

    bare = {
        "forward_p50_ms": percentile(forward_ms, 50),
        "forward_p99_ms": percentile(forward_ms, 99),
        "render_p50_ms": percentile(render_ms, 50),
        "render_forward_p50_ms": percentile(render_forward_ms, 50),
        "render_forward_p99_ms": percentile(render_forward_ms, 99),
        "forward_per_s_1proc": mean_of("forward_per_s", 1),
        f"forward_per_s_{n_cores}proc": mean_of("forward_per_s", n_cores),
        f"render_forward_per_s_{n_cores}proc": mean_of("render_forward_per_s", n_cores),
        "n_forward_samples": len(forward_ms),
    }
    rows = []
    for level in levels:
        procs = min(level["players"], n_cores)
        bare_rate = mean_of("forward_per_s", procs)
        rows.append(
            {
                "level": level["players"],
                "endpoint_p50_ms": level["p50_ms"],
                "endpoint_p99_ms": level["p99_ms"],
                "posts_per_s": level["posts_per_s"],
                "bare_p50_ms": bare["forward_p50_ms"],
                "bare_forwards_per_s": bare_rate,
                "bare_processes": procs,
                "ratio_p50": level["p50_ms"] / bare["forward_p50_ms"] if level["p50_ms"] else None,
                "ratio_throughput": level["posts_per_s"] / bare_rate if bare_rate else None,
            }
        )
    goals = {}
    one = next((r for r in rows if r["level"] == 1), None)
    goals["latency_1_player"] = {
        "goal": f"endpoint p50 <= {GOAL_LATENCY_RATIO:.2f} x bare forward p50 at 1 player",
        "ratio": one["ratio_p50"] if one else None,
        "verdict": ("PASS" if one["ratio_p50"] <= GOAL_LATENCY_RATIO else "MISS")
        if one and one["ratio_p50"]
        else "not measured",
    }
    sixteen = next((r for r in rows if r["level"] == 16), None)
    goals["throughput_16_players"] = {
        "goal": f"posts/s >= {GOAL_THROUGHPUT_RATIO:.2f} x bare forwards/s ({n_cores} processes) at 16 players",
        "ratio": sixteen["ratio_throughput"] if sixteen else None,
        "verdict": ("PASS" if sixteen["ratio_throughput"] >= GOAL_THROUGHPUT_RATIO else "MISS")
        if sixteen and sixteen["ratio_throughput"] is not None
        else "not measured",
    }
    return bare, rows, goals


def print_report(config, facts, bare_runs, bare, rows, goals, levels, n_cores):
    out = sys.stdout
    partner = facts["partner"]
    print(file=out)
    print(
        f"partner: {partner['name']} ({partner['architecture']}, {partner['n_outputs']} outputs, "
        f"input {partner['input_size']} px); {facts['n_images']} images of {facts['n_categories']} categories",
        file=out,
    )
    print(
        f"server: gunicorn {config['gunicorn']['worker_class']}, {config['gunicorn']['workers']} workers x "
        f"{config['gunicorn']['threads']} threads, CLICKME_TORCH_THREADS=1, PostgreSQL + Redis on loopback; "
        f"{n_cores} cores shared by server, database and client",
        file=out,
    )
    print(f"client: {config['client']}", file=out)
    print(file=out)
    header = [
        "level",
        "endpoint p50 ms",
        "p99 ms",
        "posts/s",
        "bare p50 ms",
        "bare forwards/s",
        "ratio p50 endpoint/bare",
        "throughput endpoint/bare",
    ]
    table = [header]
    for r in rows:
        table.append(
            [
                str(r["level"]),
                fmt(r["endpoint_p50_ms"]),
                fmt(r["endpoint_p99_ms"]),
                fmt(r["posts_per_s"]),
                fmt(r["bare_p50_ms"]),
                f"{fmt(r['bare_forwards_per_s'])} ({r['bare_processes']}p)",
                fmt(r["ratio_p50"], 2),
                fmt(r["ratio_throughput"], 2),
            ]
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for index, row in enumerate(table):
        print(" | ".join(cell.rjust(width) for cell, width in zip(row, widths)), file=out)
        if index == 0:
            print("-+-".join("-" * width for width in widths), file=out)
    print(file=out)
    print(
        f"bare, 1 thread: forward p50 {fmt(bare['forward_p50_ms'], 2)} ms (p99 {fmt(bare['forward_p99_ms'], 2)}); "
        f"render (partner_view) p50 {fmt(bare['render_p50_ms'], 2)} ms; render+forward p50 "
        f"{fmt(bare['render_forward_p50_ms'], 2)} ms (p99 {fmt(bare['render_forward_p99_ms'], 2)})",
        file=out,
    )
    print(
        f"bare throughput: forward {fmt(bare['forward_per_s_1proc'])}/s with 1 process, "
        f"{fmt(bare.get(f'forward_per_s_{n_cores}proc'))}/s with {n_cores}; render+forward "
        f"{fmt(bare.get(f'render_forward_per_s_{n_cores}proc'))}/s with {n_cores}",
        file=out,
    )
    for run, label in zip(bare_runs, ("before", "after")):
        print(
            f"  bare {label} the endpoint levels: forward p50 {fmt(percentile(run['forward_ms'], 50), 2)} ms, "
            + ", ".join(f"{v:.1f}/s ({k}p)" for k, v in run["forward_per_s"].items()),
            file=out,
        )
    print(file=out)
    print("endpoint detail (measured window only):", file=out)
    for level in levels:
        cpu = level.get("cpu_ms_per_post", {})
        used = level["cpu_cores_used"]
        run = level["whole_run"]
        print(
            f"  {level['players']:>2} players: {level['posts_ok']} posts ok, p90 {fmt(level['p90_ms'])} ms, "
            f"max {fmt(level['max_ms'])} ms, 409s {level['posts_409_in_window']}, other {level['posts_other_in_window']}; "
            f"CPU per post: gunicorn {fmt(cpu.get('gunicorn'), 2)} ms, postgres {fmt(cpu.get('postgres'), 2)} ms, "
            f"client {fmt(cpu.get('client'), 2)} ms; cores busy: gunicorn {used['gunicorn']:.2f}, "
            f"postgres {used['postgres']:.2f}, client {used['client']:.2f}, other processes "
            f"{used['machine_other']:.2f} of {used['machine_cores']:.0f}; whole run: {run['round_starts']} new rounds, "
            f"{run['won']} won",
            file=out,
        )
    print(file=out)
    for goal in goals.values():
        print(f"{goal['verdict']:>4}  {goal['goal']}: ratio {fmt(goal['ratio'], 2)}", file=out)


# ------------------------------------------------------------------------------------------------ main


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--levels", default="1,4,16", help="concurrent players per level, comma separated")
    parser.add_argument("--duration", type=float, default=15.0, help="measured seconds per level")
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds before each level")
    parser.add_argument("--bare-seconds", type=float, default=5.0, help="seconds per bare measurement")
    parser.add_argument("--workers", type=int, default=cores(), help="gunicorn workers (default: cores)")
    parser.add_argument(
        "--threads",
        type=int,
        default=4,
        help="threads per gunicorn worker (gthread; 1 = sync workers); default 4 as docker/entrypoint.sh",
    )
    parser.add_argument(
        "--omp-threads",
        type=int,
        default=0,
        help="also set OMP_NUM_THREADS for gunicorn (default: unset, as in production)",
    )
    parser.add_argument("--partner", help="an exported partner artifact (.pt2) to register instead of the default")
    parser.add_argument("--train", action="store_true", help="train the demo partner (2 epochs) instead")
    parser.add_argument("--per-category", type=int, default=40, help="benchmark images per category")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL)
    parser.add_argument("--timeout", type=float, default=60.0, help="HTTP timeout per request, seconds")
    parser.add_argument("--json", dest="json_out", help="write every number to this file")
    parser.add_argument("--keep-tmp", action="store_true", help="keep the temporary folder (gunicorn log)")
    args = parser.parse_args(argv)
    args.levels = [int(level) for level in args.levels.split(",") if level.strip()]
    if not args.levels or min(args.levels) < 1:
        parser.error("--levels: positive integers")
    return args


def _terminate(signum, _frame):
    raise SystemExit(128 + signum)


def main(argv=None):
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    n_cores = cores()
    started = time.time()
    world = World(args)
    try:
        world.setup()
        facts = world.facts()
        log(
            f"partner {facts['partner']['name']}: {facts['partner']['n_outputs']} outputs "
            f"({facts['n_outputs_mapped']} mapped), input {facts['partner']['input_size']} px"
        )

        bare_runs = [bare_pass(facts, args.bare_seconds, n_cores, "before")]

        command = world.gunicorn_start(args.workers, args.threads)
        log(f"gunicorn on 127.0.0.1:{world.port}, workers {world.gunicorn_workers()}")
        # Every worker loads the partner on its first post: play unmeasured until all have.
        run_level(world, max(max(args.levels), 2 * args.workers), 3.0, 3.0, args.timeout, record=False)
        levels = []
        for n_players in args.levels:
            levels.append(run_level(world, n_players, args.warmup, args.duration, args.timeout))
            log(
                f"level {n_players}: p50 {fmt(levels[-1]['p50_ms'])} ms, p99 {fmt(levels[-1]['p99_ms'])} ms, "
                f"{levels[-1]['posts_per_s']:.1f} posts/s"
            )
        worker_threads = {}
        for pid in world.gunicorn_workers():
            with contextlib.suppress(OSError):
                status = Path(f"/proc/{pid}/status").read_text()
                worker_threads[str(pid)] = int(
                    next(line.split()[1] for line in status.splitlines() if line.startswith("Threads:"))
                )
        world.gunicorn_stop()

        bare_runs.append(bare_pass(facts, args.bare_seconds, n_cores, "after"))
        bare, rows, goals = summarise(bare_runs, levels, n_cores)
        config = {
            "cores": n_cores,
            "gunicorn": {
                "workers": args.workers,
                "threads": args.threads,
                "worker_class": "gthread" if args.threads > 1 else "sync",
                "command": command,
                "os_threads_per_worker_at_end": worker_threads,
                "env": {
                    k: world.env[k]
                    for k in ("DJANGO_SETTINGS_MODULE", "CLICKME_TORCH_THREADS", "CLICKME_PLAYS_PER_IMAGE")
                    if k in world.env
                }
                | ({"OMP_NUM_THREADS": world.env["OMP_NUM_THREADS"]} if args.omp_threads else {}),
            },
            "client": (
                f"{max(args.levels)} max threads in one Python process, http.client keep-alive, "
                f"{CLICKS_PER_POST} clicks per post, no think time, new round every "
                f"{POSTS_PER_ROUND} posts; {args.warmup:g} s warm-up + {args.duration:g} s per level"
            ),
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "bare_seconds": args.bare_seconds,
            "load_average_at_end": os.getloadavg(),
        }
        print_report(config, facts, bare_runs, bare, rows, goals, levels, n_cores)
        if args.json_out:
            document = {
                "config": config,
                "facts": facts,
                "bare": bare,
                "bare_runs": [
                    {key: value for key, value in run.items() if not key.endswith("_ms")}
                    | {f"{key}_p50": percentile(value, 50) for key, value in run.items() if key.endswith("_ms")}
                    | {f"{key}_p99": percentile(value, 99) for key, value in run.items() if key.endswith("_ms")}
                    for run in bare_runs
                ],
                "levels": levels,
                "table": rows,
                "goals": goals,
                "elapsed_s": time.time() - started,
            }
            Path(args.json_out).write_text(json.dumps(document, indent=2) + "\n")
            log(f"wrote {args.json_out}")
        return 0
    except KeyboardInterrupt:
        log("interrupted; cleaning up")
        return 130
    except Exception:
        traceback.print_exc()
        tail = world.gunicorn_log_tail()
        if tail:
            log(f"gunicorn log:\n{tail}")
        return 1
    finally:
        world.close()
        log(f"cleaned up ({time.time() - started:.0f} s in all)")


if __name__ == "__main__":
    sys.exit(main())
