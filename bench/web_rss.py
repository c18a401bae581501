#!/usr/bin/env python
"""Resident memory of one gunicorn web worker after it served the game page, the research API and the admin.

    .venv/bin/python bench/web_rss.py [--root PATH] [--database-url URL] [--redis-url URL]

`--root` is the source tree to serve (default: this one), so the same script measures an older
commit exported with `git archive`. It creates its own database (its name must contain "bench";
dropped at the end), migrates it, adds a staff user with a DRF token, starts
`gunicorn clickme_site.wsgi --workers 1 --threads 1` (no preloading), then requests `/`,
`/api/v1/` and `/api/v1/images/` with the token, `/api/v1/training/jobs/` and `/api/v1/models/`,
and the admin (logged in: index, training jobs, models) and reads the worker's VmRSS and VmHWM
from /proc, and whether torch is loaded in it (/proc/PID/maps names libtorch).
"""

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from sandbox import BenchSandbox

ROOT = Path(__file__).resolve().parent.parent
PAGES = ["/", "/api/v1/", "/api/v1/images/", "/api/v1/training/jobs/", "/api/v1/models/"]
ADMIN_PAGES = ["/admin/", "/admin/training/trainingjob/", "/admin/training/modelversion/"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def proc_kib(pid: int, field: str) -> int:
    text = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(rf"^{field}:\s+(\d+) kB", text, re.M).group(1))


def torch_mapped(pid: int) -> bool:
    return "libtorch" in Path(f"/proc/{pid}/maps").read_text()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/clickme_bench_web_rss")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/11"))
    args = parser.parse_args()
    import requests

    root = args.root.resolve()
    sandbox = BenchSandbox(args.database_url, args.redis_url, "clickme-web-rss-", print)
    env = {**sandbox.env, "PYTHONPATH": str(root), "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost"}
    python = Path(sys.executable)
    server = None
    try:
        sandbox.database_create()
        subprocess.run([python, "manage.py", "migrate", "-v", "0"], cwd=root, env=env, check=True)
        subprocess.run([python, "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=root, env=env, check=True)
        token = subprocess.run(
            [
                python,
                "manage.py",
                "shell",
                "-c",
                "from django.contrib.auth.models import User; from rest_framework.authtoken.models import Token;"
                "u = User.objects.create_superuser('bench', 'b@x.org', 'bench-password');"
                "print(Token.objects.create(user=u).key)",
            ],
            cwd=root,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()[-1]
        port = free_port()
        server = subprocess.Popen(
            [python.with_name("gunicorn"), "clickme_site.wsgi:application", "--bind", f"127.0.0.1:{port}"]
            + ["--workers", "1", "--threads", "1", "--log-level", "warning"],
            cwd=root,
            env=env,
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                requests.get(base + "/healthz", timeout=120)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("gunicorn did not start") from None
                time.sleep(0.3)
        import psutil

        worker = psutil.Process(server.pid).children()[0].pid
        statuses = {}
        for page in PAGES:
            statuses[page] = requests.get(
                base + page, headers={"Authorization": f"Token {token}"}, timeout=30
            ).status_code
        session = requests.Session()
        login = session.get(base + "/admin/login/", timeout=30)
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text).group(1)
        session.post(
            base + "/admin/login/?next=/admin/",
            data={"csrfmiddlewaretoken": csrf, "username": "bench", "password": "bench-password"},
            headers={"Referer": base + "/admin/login/"},
            timeout=30,
        )
        for page in ADMIN_PAGES:
            answer = session.get(base + page, timeout=30, allow_redirects=False)
            statuses[page] = answer.status_code
        rss, hwm = proc_kib(worker, "VmRSS"), proc_kib(worker, "VmHWM")
        print(f"tree: {root}")
        print("pages: " + ", ".join(f"{page} {code}" for page, code in statuses.items()))
        print(
            f"gunicorn worker {worker}: RSS {rss / 1024:.0f} MiB, peak {hwm / 1024:.0f} MiB, torch loaded: {torch_mapped(worker)}"
        )
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
        sandbox.database_drop()
        import shutil

        shutil.rmtree(sandbox.tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
