"""`make run`'s process manager (scripts/supervisord.conf, what scripts/run.sh starts): kill -9 of the
real Celery worker restarts it while web and beat keep running; SIGINT (Ctrl-C) stops all three."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
from celery import Celery

from tests.conftest import worker_database_url

from .conftest import RedisServer, free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CONF = ROOT / "scripts" / "supervisord.conf"


def ctl(env, *args):
    result = subprocess.run(
        [str(BIN / "supervisorctl"), "-c", str(CONF), *args], env=env, capture_output=True, text=True, timeout=30
    )
    return result.stdout.strip()


def pids(env):
    found = {}
    for name in ("web", "worker", "beat"):
        out = ctl(env, "pid", name)
        found[name] = int(out) if out.isdigit() and int(out) > 0 else None
    return found


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_for(predicate, timeout_s, what):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def live(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz/live", timeout=5) as response:
            return response.status == 200
    except Exception:
        return False


@pytest.mark.django_db(transaction=True)
def test_a_killed_worker_is_restarted_and_web_and_beat_keep_running(tmp_path):
    redis_server = RedisServer().start()  # its own broker: this worker must not take the suite's tasks
    run_dir = Path(tempfile.mkdtemp(prefix="cm-sv-"))  # short: the control socket's path has a length limit
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "clickme_site.settings.test",
        "DATABASE_URL": worker_database_url(),
        "REDIS_URL": redis_server.url,
        "CLICKME_VAR_DIR": str(tmp_path / "var"),
        "CLICKME_MEDIA_ROOT": str(tmp_path / "media"),
        "CLICKME_PRIVATE_ROOT": str(tmp_path / "private"),
        "CLICKME_BIN": str(BIN),
        "CLICKME_RUN_DIR": str(run_dir),
        "PORT": str(port),
    }
    log = open(tmp_path / "supervisord.out", "wb")
    manager = subprocess.Popen([str(BIN / "supervisord"), "-c", str(CONF)], env=env, cwd=ROOT, stdout=log, stderr=log)
    broker = Celery(broker=redis_server.url, set_as_current=False)  # shared tasks keep the project app
    try:
        wait_for(lambda: all(pids(env).values()) and live(port), 180, "web, worker and beat to start")
        wait_for(lambda: bool(broker.control.ping(timeout=1.0)), 120, "the worker to answer a ping")
        before = pids(env)

        os.kill(before["worker"], signal.SIGKILL)
        wait_for(lambda: pids(env)["worker"] not in (None, before["worker"]), 60, "a new worker process")
        after = pids(env)
        assert after["web"] == before["web"] and after["beat"] == before["beat"]
        assert live(port)
        wait_for(lambda: bool(broker.control.ping(timeout=1.0)), 120, "the restarted worker to answer a ping")

        manager.send_signal(signal.SIGINT)  # what Ctrl-C sends
        manager.wait(timeout=90)
        wait_for(lambda: not any(alive(pid) for pid in after.values()), 30, "every child to exit")
        assert not live(port)
    finally:
        if manager.poll() is None:
            manager.kill()
            manager.wait()
        log.close()
        broker.close()
        redis_server.stop()
        shutil.rmtree(run_dir, ignore_errors=True)
