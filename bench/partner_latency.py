#!/usr/bin/env python
"""Click-post latency and throughput against gunicorn on loopback, beside the bare partner forward pass.

    .venv/bin/python bench/partner_latency.py [--levels 1,4,16] [--duration 15] [--json OUT]

What it does, all in one run (see bench/README.md):

1. Sets up its own world: a fresh PostgreSQL database (default `clickme_bench`, dropped and
   re-created; the name must contain "bench"), Redis db 13 for the cache and broker, and
   CLICKME_VAR_DIR / CLICKME_MEDIA_ROOT / DJANGO_STATIC_ROOT under a temporary folder. It runs
   `migrate`, `collectstatic`, `generate_benchmark --per-category 40`, `import_images`, and registers
   and activates a partner: by default the untrained demo network (training/nets/local_fcn.py, input 112
   and the demo partner's mean/std, so exactly the demo partner's cost) exported with
   `training.partner_export.partner_export`; `--train` plays the trained demo partner instead
   (the shipped one: `install_demo_partner`); `--partner FILE` registers an existing exported artifact.
   CLICKME_PLAYS_PER_IMAGE is set very high so no image retires.
2. Measures the bare partner in processes of its own (one per core, started once, one torch thread
   each): `game.partner.PartnerRuntime` built from the active partner's row exactly as
   game/partner_play.py builds it, on a (1, 224, 224, 3) view of an imported image: forward (predict),
   render (partner_view) and render + forward latency, interleaved in one process, and
   back-to-back throughput with 1 process and with one per core. It does so before the first level
   and after every level; each level is compared with the bare runs just before and after it, so
   both see about the same load from whatever else runs on the machine.
3. Starts gunicorn (`clickme_site.wsgi:application`, settings base) on a free loopback port with
   one worker per core and the production thread count (docker/entrypoint.sh: gthread, 4 threads),
   CLICKME_TORCH_THREADS=1 (applied by game.partner.runtime_for at first load).
4. For each level N: N simulated players (threads with keep-alive `http.client` connections, cookies
   and CSRF as a browser: GET /, PATCH /api/game/me/, POST /api/game/rounds/) post 10 clicks per
   request, back to back with no think time, for a warm-up and then `--duration` seconds. The clicks
   wander in the image's top-left corner, outside the partner's centre crop, so they reveal nothing
   (a round is still won when the partner's top 5 of the 10 categories happens to hold the true
   one), while the server does the full work of every post (lock, validate, append, render the
   whole view, forward, save). A player starts a new round after 14 posts (140
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
import threading
import time
import traceback
from pathlib import Path

from sandbox import BenchSandbox

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/clickme_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/13"
CLICKS_PER_POST = 10  # the browser posts about every 10 clicks (docs/SCIENCE.md section 1)
POSTS_PER_ROUND = 14  # 140 clicks: one every 50 ms for 7 s
CLICK_STEP_MS = 50
CORNER_PX = 5  # clicks in [0, 5]^2: with a 21 px partner bubble they reach x, y <= 15, outside the 224 crop
GOAL_LATENCY_RATIO = 1.20
GOAL_THROUGHPUT_RATIO = 0.80
OTHER_LOAD_TOLERANCE_CORES = 0.3
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


PRETRAINED = ("efficientnet_lite0",)  # game/pretrained.py: `--partner efficientnet_lite0`


def imagenet_categories(manifest):
    """Give the benchmark's categories ImageNet wnids (the first 64 of timm's class table), so an
    ImageNet partner maps its outputs to them; the images, and so the work per post, are unchanged."""
    import csv

    from game.pretrained import imagenet_classes

    classes = imagenet_classes()
    with open(manifest, newline="") as handle:
        rows = list(csv.DictReader(handle))
    renamed = {wnid: k for k, wnid in enumerate(dict.fromkeys(row["wnid"] for row in rows))}
    for row in rows:
        wnid, label = classes[renamed[row["wnid"]]]
        row["wnid"], row["category"] = wnid, label.split(",")[0]
    with open(manifest, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


# --------------------------------------------------------------------------------------------- world


class World(BenchSandbox):
    """Everything the benchmark creates; `close()` removes it all and is safe to call twice."""

    def __init__(self, args):
        super().__init__(args.database_url, args.redis_url, "clickme-bench-", log)
        self.args = args
        self.gunicorn = None
        self.pool = None
        self.gunicorn_log = self.tmp / "gunicorn.log"
        self.port = None
        self.env.update({"CLICKME_PLAYS_PER_IMAGE": str(10**9), "CLICKME_TORCH_THREADS": "1"})
        # Players with no think time outrun the per-session and per-IP limits a person never meets (40 round
        # starts a minute): the limits are raised out of reach, while every request still counts in Redis.
        for scope in ("ROUND_START", "CLICKS", "GAME"):
            self.env[f"CLICKME_THROTTLE_{scope}"] = self.env[f"CLICKME_THROTTLE_{scope}_IP"] = "1000000/min"
        self.env["CLICKME_THROTTLE_NEW_SESSION_IP"] = "1000000/min"  # every player is a new session from 127.0.0.1
        if args.omp_threads:
            self.env["OMP_NUM_THREADS"] = str(args.omp_threads)

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
        """An untrained demo network exported exactly like the demo partner (its input size, mean/std)."""
        import torch

        from game.synthetic_benchmark import CATEGORIES
        from training.demo_partner import ARCHITECTURE, MEAN, STD, DemoConfig, demo_net
        from training.partner_export import partner_export

        torch.manual_seed(0)
        config = DemoConfig()
        model = demo_net(len(CATEGORIES), config, codes=[code for _name, _wnid, code in CATEGORIES])
        return partner_export(
            model,
            self.tmp / "media" / "partners" / "bench-demo.pt2",
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
        if self.args.partner in PRETRAINED:
            imagenet_categories(out / "manifest.csv")
        self.manage("import_images", str(out / "manifest.csv"))
        if self.args.partner in PRETRAINED:
            # wins through the noise on some images are measured by its validity report, not here
            self.manage(
                "register_partner", "--pretrained", self.args.partner, "--activate", "--force", "--images", "10"
            )
        elif self.args.partner:
            self.manage(
                "register_partner",
                "--weights",
                str(Path(self.args.partner).resolve()),
                "--name",
                "bench-partner",
                "--activate",
            )
        elif self.args.train:
            self.manage("install_demo_partner")  # the shipped, trained demo partner (training/artifacts/)
        else:
            path = self.partner_artifact()
            self.manage("register_partner", "--weights", str(path), "--name", "bench-demo", "--activate")

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

    def pool_stop(self):
        if self.pool is not None:
            self.pool.close()
            self.pool = None

    def close(self):
        self.cleanup(self.gunicorn_stop, self.pool_stop, keep_tmp=self.args.keep_tmp)


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


def process_cpu(pid):
    """(utime + stime in seconds, start time in clock ticks after boot) of a process; None when gone."""
    try:
        fields = _stat_fields(pid)
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS, int(fields[19])
    except (OSError, ValueError, IndexError):
        return None


def machine_cpu_s():
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    with open("/proc/stat") as handle:
        values = [int(v) for v in handle.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return (sum(values[:8]) - idle) / CLOCK_TICKS, sum(values[:8]) / CLOCK_TICKS


def uptime_ticks():
    with open("/proc/uptime") as handle:
        return float(handle.read().split()[0]) * CLOCK_TICKS


class CpuSampler:
    """CPU seconds used during a window by the gunicorn workers, the database's backends (sampled
    every `every` s, so a backend opened or closed inside the window still counts), this client
    process and the whole machine."""

    def __init__(self, world, every=0.25):
        self.world = world
        self.every = every
        self.seen = {}  # pid -> {"role", "base", "last"}
        self.stop_event = threading.Event()
        self.thread = None
        self.admin = None

    def _sample(self, first=False):
        pids = [(pid, "gunicorn") for pid in self.world.gunicorn_workers()]
        if self.admin is not None:
            with contextlib.suppress(Exception), self.admin.cursor() as cursor:
                cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [self.world.db_name])
                pids += [(row[0], "postgres") for row in cursor.fetchall()]
        for pid, role in pids:
            sample = process_cpu(pid)
            if sample is None:
                continue
            cpu, started = sample
            if pid not in self.seen:
                # Seen at the window's start, or started before it: count from now; else from zero.
                base = cpu if (first or started < self.start_ticks) else 0.0
                self.seen[pid] = {"role": role, "base": base, "last": cpu}
            else:
                self.seen[pid]["last"] = cpu

    def _run(self):
        while not self.stop_event.wait(self.every):
            self._sample()

    def start(self):
        with contextlib.suppress(Exception):
            self.admin = self.world._admin()
        self.start_ticks = uptime_ticks()
        self.time = time.perf_counter()
        usage = resource.getrusage(resource.RUSAGE_SELF)
        self.client = usage.ru_utime + usage.ru_stime
        self.machine = machine_cpu_s()
        self._sample(first=True)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def stop(self):
        wall = time.perf_counter() - self.time
        usage = resource.getrusage(resource.RUSAGE_SELF)
        client = usage.ru_utime + usage.ru_stime - self.client
        machine = machine_cpu_s()
        self._sample()
        self.stop_event.set()
        self.thread.join(timeout=5)
        if self.admin is not None:
            self.admin.close()

        def used(role):
            return sum(v["last"] - v["base"] for v in self.seen.values() if v["role"] == role)

        return {
            "wall_s": wall,
            "gunicorn_workers_s": used("gunicorn"),
            "gunicorn_per_worker_s": {
                str(pid): v["last"] - v["base"] for pid, v in self.seen.items() if v["role"] == "gunicorn"
            },
            "postgres_backends_s": used("postgres"),
            "postgres_backends_seen": sum(1 for v in self.seen.values() if v["role"] == "postgres"),
            "client_s": client,
            "machine_busy_s": machine[0] - self.machine[0],
            "machine_total_s": machine[1] - self.machine[1],
        }


# ------------------------------------------------------------------------------------------ the bare partner


def _bare_setup(facts):
    import torch
    from PIL import Image as PILImage

    from game import partner as partner_runtime
    from game.images import as_float_array

    torch.set_num_threads(1)  # as game.partner.runtime_for does with CLICKME_TORCH_THREADS=1
    row = facts["partner"]
    spec = partner_runtime.PartnerSpec(  # as PartnerSpec.of builds it from the row (game/partner_play.py)
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
    return runtime, image, clicks, render_kwargs


BARE_MODES = ("forward", "render", "render+forward")


def _bare_worker(facts, connection):
    """A bare-partner process: loads the runtime once, then runs the measurements it is sent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the benchmark process ends it
    try:
        from game.reveal import partner_view

        runtime, image, clicks, render_kwargs = _bare_setup(facts)
        view = partner_view(image, clicks, seed=1, **render_kwargs)
        assert view.shape == (render_kwargs["crop_px"], render_kwargs["crop_px"], 3), view.shape

        def step(mode, seed):
            if mode == "forward":
                runtime.predict(view[None])
            elif mode == "render":
                partner_view(image, clicks, seed=seed, **render_kwargs)
            else:
                runtime.predict(partner_view(image, clicks, seed=seed, **render_kwargs)[None])

        for i in range(20):
            for mode in BARE_MODES:
                step(mode, i)
        connection.send(("ready", None))
        while True:
            command = connection.recv()
            if command is None:
                connection.close()
                os._exit(0)  # nothing to flush; torch's interpreter teardown takes seconds
            kind, start_at, seconds = command
            time.sleep(max(0.0, start_at - time.time()))
            deadline = time.perf_counter() + seconds
            if kind == "latency":
                # The three modes interleaved, so they see the same conditions on a shared machine.
                samples = {mode: [] for mode in BARE_MODES}
                i = 0
                while time.perf_counter() < deadline:
                    for mode in BARE_MODES:
                        started = time.perf_counter()
                        step(mode, i)
                        samples[mode].append((time.perf_counter() - started) * 1000.0)
                    i += 1
                connection.send(("ok", samples))
            else:
                started, cpu_started = time.perf_counter(), time.process_time()
                count = 0
                while time.perf_counter() < deadline:
                    step(kind, count)
                    count += 1
                connection.send(("ok", (count, time.perf_counter() - started, time.process_time() - cpu_started)))
    except (EOFError, BrokenPipeError):
        return
    except Exception:
        with contextlib.suppress(Exception):
            connection.send(("error", traceback.format_exc()))


class BarePool:
    """One bare-partner process per core, one torch thread each, started once for the whole run."""

    def __init__(self, facts, processes):
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        self.connections, self.children = [], []
        for _ in range(processes):
            parent_end, child_end = context.Pipe()
            child = context.Process(target=_bare_worker, args=(facts, child_end), daemon=True)
            child.start()
            child_end.close()
            self.connections.append(parent_end)
            self.children.append(child)
        for connection in self.connections:
            self._answer(connection, timeout=300)

    @staticmethod
    def _answer(connection, timeout):
        if not connection.poll(timeout):
            raise RuntimeError("a bare-partner process did not answer")
        status, value = connection.recv()
        if status == "error":
            raise RuntimeError(f"a bare-partner process failed:\n{value}")
        return value

    def _run(self, kind, processes, seconds):
        """The processes' answers, and how many cores everything else on the machine kept busy meanwhile."""
        start_at = time.time() + 0.2
        children = self.children[:processes]
        cpu_before = sum((process_cpu(child.pid) or (0.0, 0))[0] for child in children)
        machine_before = machine_cpu_s()
        for connection in self.connections[:processes]:
            connection.send((kind, start_at, seconds))
        answers = [self._answer(connection, timeout=seconds + 60) for connection in self.connections[:processes]]
        machine_after = machine_cpu_s()
        ours = sum((process_cpu(child.pid) or (0.0, 0))[0] for child in children) - cpu_before
        total = machine_after[1] - machine_before[1]
        cores_available = cores()
        other = (machine_after[0] - machine_before[0] - ours) * cores_available / total if total else 0.0
        return answers, max(0.0, other)

    def latency(self, seconds):
        """({mode: [ms, ...]} for forward, render and render+forward, one process, back to back; other cores)."""
        answers, other = self._run("latency", 1, seconds)
        return answers[0], other

    def throughput(self, mode, processes, seconds):
        """(calls per second summed over the processes, CPU ms per call, other cores busy) of `mode`."""
        outcomes, other = self._run(mode, processes, seconds)
        per_s = sum(count / elapsed for count, elapsed, _cpu in outcomes)
        calls = max(1, sum(count for count, _elapsed, _cpu in outcomes))
        return per_s, 1000.0 * sum(cpu for _count, _elapsed, cpu in outcomes) / calls, other

    def close(self):
        for connection in self.connections:
            with contextlib.suppress(Exception):
                connection.send(None)
        for child in self.children:
            child.join(timeout=5)
            if child.is_alive():
                child.terminate()
                child.join(timeout=5)
        self.children = []


def bare_run(pool, seconds, n_cores, label):
    """One round of bare measurements: latencies, then throughput with 1 process and with n_cores."""
    log(f"bare partner ({label}): {seconds:g} s latency, {seconds:g} s per throughput")
    samples, other = pool.latency(seconds)
    result = {
        "label": label,
        "other_cores": {"latency": other},
        "forward_ms": samples["forward"],
        "render_ms": samples["render"],
        "render_forward_ms": samples["render+forward"],
        "forward_per_s": {},
        "forward_cpu_ms_per_call": {},
        "render_forward_per_s": {},
        "render_forward_cpu_ms_per_call": {},
    }
    plan = [("forward", "forward", procs) for procs in sorted({1, n_cores})]
    plan.append(("render+forward", "render_forward", n_cores))
    for mode, key, procs in plan:
        per_s, cpu_ms, other = pool.throughput(mode, procs, seconds)
        result["other_cores"][f"{key}_{procs}p"] = other
        result[f"{key}_per_s"][str(procs)] = per_s
        result[f"{key}_cpu_ms_per_call"][str(procs)] = cpu_ms
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
    sampler = CpuSampler(world)
    sampler.start()
    time.sleep(max(0.0, t["window_end"] - time.perf_counter()))
    cpu = sampler.stop()
    for thread in threads:
        thread.join(timeout=timeout_s + 10)
    for player in players:
        player.client.close()
    if not record:
        return None
    window = [s for s in samples if t["window_start"] <= s[0] < t["window_end"]]
    ok_ms = [s[1] * 1000.0 for s in window if s[2] == 200]
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


def bare_summary(runs, n_cores):
    """Pooled latency percentiles and mean throughputs of some bare runs."""

    def pooled(key):
        return [v for run in runs for v in run[key]]

    def mean_of(key, procs):
        values = [run[key][str(procs)] for run in runs if str(procs) in run[key]]
        return sum(values) / len(values) if values else None

    forward, render, render_forward = pooled("forward_ms"), pooled("render_ms"), pooled("render_forward_ms")
    return {
        "runs": [run["label"] for run in runs],
        "forward_p50_ms": percentile(forward, 50),
        "forward_p99_ms": percentile(forward, 99),
        "render_p50_ms": percentile(render, 50),
        "render_forward_p50_ms": percentile(render_forward, 50),
        "render_forward_p99_ms": percentile(render_forward, 99),
        "forward_per_s": {str(p): mean_of("forward_per_s", p) for p in sorted({1, n_cores})},
        "render_forward_per_s": {str(n_cores): mean_of("render_forward_per_s", n_cores)},
        "forward_cpu_ms_per_call": mean_of("forward_cpu_ms_per_call", n_cores),
        "render_forward_cpu_ms_per_call": mean_of("render_forward_cpu_ms_per_call", n_cores),
        "n_forward_samples": len(forward),
        "other_cores": {
            key: sum(run["other_cores"][key] for run in runs) / len(runs) for key in runs[0]["other_cores"]
        },
    }


def summarise(bare_runs, levels, n_cores):
    """Each level against the bare runs just before and just after it (bare_runs[i], bare_runs[i + 1])."""
    bare = bare_summary(bare_runs, n_cores)
    rows = []
    for index, level in enumerate(levels):
        adjacent = bare_summary(bare_runs[index : index + 2], n_cores)
        procs = min(level["players"], n_cores)
        bare_rate = adjacent["forward_per_s"][str(procs)]
        server_cpu = level.get("cpu_ms_per_post", {})
        server_cpu_ms = server_cpu["gunicorn"] + server_cpu["postgres"] if server_cpu else None
        rows.append(
            {
                "level": level["players"],
                "endpoint_p50_ms": level["p50_ms"],
                "endpoint_p99_ms": level["p99_ms"],
                "posts_per_s": level["posts_per_s"],
                "bare_runs": adjacent["runs"],
                "bare_p50_ms": adjacent["forward_p50_ms"],
                "bare_render_p50_ms": adjacent["render_p50_ms"],
                "bare_render_forward_p50_ms": adjacent["render_forward_p50_ms"],
                "bare_forwards_per_s": bare_rate,
                "bare_processes": procs,
                "ratio_p50": level["p50_ms"] / adjacent["forward_p50_ms"] if level["p50_ms"] else None,
                "ratio_throughput": level["posts_per_s"] / bare_rate if bare_rate else None,
                # Context, not the goal: bare forward CPU per call over the server's CPU per post
                # (gunicorn workers + database backends): the throughput ratio on otherwise idle cores.
                "server_cpu_ms_per_post": server_cpu_ms,
                "bare_forward_cpu_ms": adjacent["forward_cpu_ms_per_call"],
                "ratio_throughput_cpu": adjacent["forward_cpu_ms_per_call"] / server_cpu_ms if server_cpu_ms else None,
                # Cores kept busy by other processes on the machine, during the level and during the
                # adjacent bare runs: when they differ, the wall-clock ratios compare unlike conditions.
                "other_cores_level": level["cpu_cores_used"]["machine_other"],
                "other_cores_bare": adjacent["other_cores"]["latency" if procs == 1 else f"forward_{procs}p"],
            }
        )
    one = next((r for r in rows if r["level"] == 1), None)
    sixteen = next((r for r in rows if r["level"] == 16), None)
    goals = {
        "latency_1_player": {
            "goal": f"endpoint p50 <= {GOAL_LATENCY_RATIO:.2f} x bare forward p50 at 1 player",
            "ratio": one["ratio_p50"] if one else None,
            "bare_render_forward_ratio": one["bare_render_forward_p50_ms"] / one["bare_p50_ms"] if one else None,
            "verdict": ("PASS" if one["ratio_p50"] <= GOAL_LATENCY_RATIO else "MISS")
            if one and one["ratio_p50"]
            else "not measured",
        },
        "throughput_16_players": {
            "goal": f"posts/s >= {GOAL_THROUGHPUT_RATIO:.2f} x bare forwards/s ({n_cores} processes) at 16 players",
            "ratio": sixteen["ratio_throughput"] if sixteen else None,
            "cpu_normalised_ratio": sixteen["ratio_throughput_cpu"] if sixteen else None,
            "verdict": ("PASS" if sixteen["ratio_throughput"] >= GOAL_THROUGHPUT_RATIO else "MISS")
            if sixteen and sixteen["ratio_throughput"] is not None
            else "not measured",
        },
    }
    return bare, rows, goals


def print_report(config, facts, bare_runs, bare, rows, goals, levels, n_cores):
    out = sys.stdout

    def say(text=""):
        print(text, file=out)

    partner = facts["partner"]
    say()
    say(
        f"partner: {partner['name']} ({partner['architecture']}, {partner['n_outputs']} outputs, "
        f"input {partner['input_size']} px); {facts['n_images']} images of {facts['n_categories']} categories"
    )
    gunicorn = config["gunicorn"]
    say(
        f"server: gunicorn {gunicorn['worker_class']}, {gunicorn['workers']} workers x {gunicorn['threads']} threads, "
        f"CLICKME_TORCH_THREADS=1, PostgreSQL + Redis on loopback; {n_cores} cores shared by server, database, "
        "client and whatever else runs on the machine"
    )
    say(f"client: {config['client']}")
    say(
        "bare: one process per core, 1 torch thread each; each level is compared with the bare runs just "
        "before and after it"
    )
    say()
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
        say(" | ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)))
        if index == 0:
            say("-+-".join("-" * width for width in widths))
    say()
    say(
        f"bare, all runs, 1 thread: forward p50 {fmt(bare['forward_p50_ms'], 2)} ms (p99 "
        f"{fmt(bare['forward_p99_ms'], 2)}); render (partner_view) p50 {fmt(bare['render_p50_ms'], 2)} ms; "
        f"render+forward p50 {fmt(bare['render_forward_p50_ms'], 2)} ms (p99 {fmt(bare['render_forward_p99_ms'], 2)})"
    )
    say(
        "bare throughput, mean of runs: forward "
        + ", ".join(f"{fmt(v)}/s with {k} process(es)" for k, v in bare["forward_per_s"].items())
        + f"; render+forward {fmt(bare['render_forward_per_s'][str(n_cores)])}/s with {n_cores}; CPU per call: "
        f"forward {fmt(bare['forward_cpu_ms_per_call'], 2)} ms, render+forward "
        f"{fmt(bare['render_forward_cpu_ms_per_call'], 2)} ms"
    )
    for run in bare_runs:
        say(
            f"  bare {run['label']}: forward p50 {fmt(percentile(run['forward_ms'], 50), 2)} ms, render p50 "
            f"{fmt(percentile(run['render_ms'], 50), 2)} ms, "
            + ", ".join(f"{v:.1f} forwards/s ({k}p)" for k, v in run["forward_per_s"].items())
            + "; other processes busy: "
            + ", ".join(f"{v:.2f} cores ({k})" for k, v in run["other_cores"].items())
        )
    one = next((r for r in rows if r["level"] == 1), None)
    if one and one["endpoint_p50_ms"]:
        say(
            f"at 1 player the endpoint p50 is {one['endpoint_p50_ms'] - one['bare_p50_ms']:.1f} ms above the bare "
            f"forward: {one['bare_render_forward_p50_ms'] - one['bare_p50_ms']:.1f} ms render (partner_view), "
            f"{one['endpoint_p50_ms'] - one['bare_render_forward_p50_ms']:.1f} ms HTTP, Django, database, waiting"
        )
    say()
    say("endpoint detail (measured window only):")
    for level, r in zip(levels, rows, strict=True):
        cpu = level.get("cpu_ms_per_post", {})
        used = level["cpu_cores_used"]
        run = level["whole_run"]
        say(
            f"  {level['players']:>2} players: {level['posts_ok']} posts ok, p90 {fmt(level['p90_ms'])} ms, "
            f"max {fmt(level['max_ms'])} ms, 409s {level['posts_409_in_window']}, other "
            f"{level['posts_other_in_window']}; whole level: {run['round_starts']} new rounds, {run['won']} won"
        )
        say(
            f"      CPU per post: gunicorn {fmt(cpu.get('gunicorn'), 2)} ms, postgres {fmt(cpu.get('postgres'), 2)} ms, "
            f"client {fmt(cpu.get('client'), 2)} ms (bare forward {fmt(r['bare_forward_cpu_ms'], 2)} ms: ratio on "
            f"otherwise idle cores about {fmt(r['ratio_throughput_cpu'], 2)}); cores busy: gunicorn "
            f"{used['gunicorn']:.2f}, postgres {used['postgres']:.2f}, client {used['client']:.2f}, other processes "
            f"{used['machine_other']:.2f} of {used['machine_cores']:.0f}"
        )
    unlike = [r for r in rows if abs(r["other_cores_level"] - r["other_cores_bare"]) > OTHER_LOAD_TOLERANCE_CORES]
    for r in unlike:
        say(
            f"  warning: at {r['level']} players other processes kept {r['other_cores_level']:.2f} cores busy during "
            f"the level but {r['other_cores_bare']:.2f} during the adjacent bare runs: the wall-clock ratios of that "
            "row compare unlike conditions; the CPU-normalised ratio does not depend on them"
        )
    say()
    for key, goal in goals.items():
        extra = ""
        if key == "latency_1_player" and goal["bare_render_forward_ratio"]:
            extra = f" (bare render+forward alone: {goal['bare_render_forward_ratio']:.2f})"
        if key == "throughput_16_players" and goal["cpu_normalised_ratio"]:
            extra = f" (CPU-normalised: {goal['cpu_normalised_ratio']:.2f})"
        say(f"{goal['verdict']:>4}  {goal['goal']}: ratio {fmt(goal['ratio'], 2)}{extra}")


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
    parser.add_argument(
        "--partner",
        help="an exported partner artifact (.pt2) to register instead of the default, or efficientnet_lite0 "
        "(the pretrained ImageNet network; the benchmark's categories get ImageNet wnids)",
    )
    parser.add_argument(
        "--train", action="store_true", help="play the shipped, trained demo partner (install_demo_partner) instead"
    )
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
    if args.omp_threads:
        os.environ["OMP_NUM_THREADS"] = str(args.omp_threads)  # the bare processes run as the server does
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with SIGINT ignored (&)
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

        log(f"starting {n_cores} bare-partner processes")
        world.pool = BarePool(facts, n_cores)
        bare_runs = [bare_run(world.pool, args.bare_seconds, n_cores, "before the first level")]

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
            # gunicorn idles meanwhile (no connections, no CPU).
            bare_runs.append(bare_run(world.pool, args.bare_seconds, n_cores, f"after level {n_players}"))
        worker_threads = {}
        for pid in world.gunicorn_workers():
            with contextlib.suppress(OSError):
                status = Path(f"/proc/{pid}/status").read_text()
                worker_threads[str(pid)] = int(
                    next(line.split()[1] for line in status.splitlines() if line.startswith("Threads:"))
                )
        world.gunicorn_stop()
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
                "bare_runs": [
                    {key: value for key, value in run.items() if not key.endswith("_ms")}
                    | {f"{key}_p50": percentile(value, 50) for key, value in run.items() if key.endswith("_ms")}
                    | {f"{key}_p99": percentile(value, 99) for key, value in run.items() if key.endswith("_ms")}
                    for run in bare_runs
                ],
                "bare_pooled": bare,
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
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up short
        world.close()
        log(f"cleaned up ({time.time() - started:.0f} s in all)")


if __name__ == "__main__":
    sys.exit(main())
