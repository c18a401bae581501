"""`make run`'s process manager (scripts/supervisord.conf, what scripts/run.sh starts): kill -9 of the
real Celery worker restarts it while web and beat keep running; SIGINT (Ctrl-C) stops all three; a
normal start with the embedded broker is quiet and Ctrl-C or SIGTERM stops everything in under 5 s."""

import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
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
        out = ctl(env, "pid", f"clickme:{name}")  # one group: supervisord.conf
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


def supervisor_env(tmp_path, run_dir, port, settings_module, redis_url=None):
    """run.sh's environment for supervisord: the test's database, its own folders and port; with
    `redis_url` its own Redis broker, else kombu's filesystem broker as `make run` has it."""
    env = {key: value for key, value in os.environ.items() if key not in ("REDIS_URL", "CELERY_BROKER_URL")}
    env |= {
        "DJANGO_SETTINGS_MODULE": settings_module,
        "DATABASE_URL": worker_database_url(),
        "CLICKME_VAR_DIR": str(tmp_path / "var"),
        "CLICKME_MEDIA_ROOT": str(tmp_path / "media"),
        "CLICKME_PRIVATE_ROOT": str(tmp_path / "private"),
        "CLICKME_BIN": str(BIN),
        "CLICKME_RUN_DIR": str(run_dir),
        "CLICKME_USER": pwd.getpwuid(os.getuid()).pw_name,
        "PORT": str(port),
    }
    return env | ({"REDIS_URL": redis_url} if redis_url else {})


@pytest.mark.django_db(transaction=True)
def test_a_killed_worker_is_restarted_and_web_and_beat_keep_running(tmp_path):
    redis_server = RedisServer().start()  # its own broker: this worker must not take the suite's tasks
    run_dir = Path(tempfile.mkdtemp(prefix="cm-sv-"))  # short: the control socket's path has a length limit
    port = free_port()
    env = supervisor_env(tmp_path, run_dir, port, "clickme_site.settings.test", redis_url=redis_server.url)
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


def descendants(pid):
    """Every process below `pid`, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


@pytest.mark.parametrize("stop", ["ctrl-c", "sigterm"])
@pytest.mark.django_db(transaction=True)
def test_a_normal_start_is_quiet_and_stopping_ends_every_process_within_5_s(tmp_path, stop):
    """As run.sh starts it with neither REDIS_URL nor a broker URL (kombu's filesystem broker under
    var/): no CRIT from supervisord, no Celery SecurityWarning, no kombu "No hostname"; then Ctrl-C
    (SIGINT to the terminal's whole process group) or SIGTERM to supervisord (run.sh's trap) ends
    supervisord, web, worker (pool included) and beat in under 5 s."""
    run_dir = Path(tempfile.mkdtemp(prefix="cm-sv-"))
    port = free_port()
    env = supervisor_env(tmp_path, run_dir, port, "clickme_site.settings.base")  # run.sh's settings
    manager = subprocess.Popen(
        [str(BIN / "supervisord"), "-c", str(CONF)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,  # a pipe, as a terminal: programs write to /dev/stdout
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, as the terminal's foreground job
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(manager.stdout), daemon=True)
    reader.start()
    processes = []

    def output():
        return "".join(lines)

    try:
        wait_for(lambda: "ready." in output() and "beat: Starting" in output() and live(port), 180, "a full start")
        time.sleep(1)  # the worker waiting on the broker, as it is between tasks
        processes = descendants(manager.pid)
        assert len(processes) >= 6  # gunicorn and its 2 workers, the worker and its 2 pool processes, beat

        started = time.monotonic()
        if stop == "ctrl-c":
            os.killpg(manager.pid, signal.SIGINT)
        else:
            manager.send_signal(signal.SIGTERM)
        manager.wait(timeout=30)
        wait_for(lambda: not any(alive(pid) for pid in processes), 30, "every child to exit")
        elapsed_s = time.monotonic() - started
        reader.join(timeout=5)

        log = output()
        assert "CRIT" not in log, log
        assert "SecurityWarning" not in log and "superuser privileges" not in log, log
        assert "No hostname" not in log, log
        assert "SIGKILL" not in log, log
        assert elapsed_s < 5.0, f"stopping took {elapsed_s:.1f} s\n{log}"
    finally:
        if manager.poll() is None:
            os.killpg(manager.pid, signal.SIGKILL)
            manager.wait()
        for pid in processes:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(run_dir, ignore_errors=True)
