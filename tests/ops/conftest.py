"""Operations fixtures: the players' fixtures of tests/game, a real HTTP server in front of the
project's WSGI application, and a Redis server of the test's own."""

import shutil
import signal
import socket
import subprocess
import threading
import time
import types
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest

from tests.game.conftest import make_player, player_client, recognised_images, unrecognised_images  # noqa: F401


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def wsgi_server(transactional_db):
    """The project's WSGI application (Django's request signals included: persistent connections,
    CONN_HEALTH_CHECKS) behind a real HTTP server in one thread; wsgiref decodes the path as gunicorn
    does, and Django's live_server would answer /media/ itself, bypassing the project's view.
    Yields .url and .backend_pid() (the PostgreSQL backend of the server thread's connection)."""
    from django.core.wsgi import get_wsgi_application
    from django.db import connection

    application = get_wsgi_application()
    state = {"pid": None}

    def app(environ, start_response):
        try:
            return application(environ, start_response)
        finally:
            try:
                if connection.connection is not None and not connection.connection.closed:
                    with connection.cursor() as cursor:
                        cursor.execute("SELECT pg_backend_pid()")
                        state["pid"] = cursor.fetchone()[0]
            except Exception:
                state["pid"] = None

    server = make_server("127.0.0.1", 0, app, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield types.SimpleNamespace(url=f"http://127.0.0.1:{server.server_port}", backend_pid=lambda: state["pid"])
    server.shutdown()
    server.server_close()
    if state["pid"] is not None:
        terminate_backend(state["pid"])  # the thread's connection would outlive the test database


def terminate_backend(pid: int) -> None:
    """pg_terminate_backend(pid) from a connection of its own, and wait until the backend is gone."""
    import psycopg2
    from django.db import connection

    db = connection.settings_dict
    admin = psycopg2.connect(host=db["HOST"], port=db["PORT"], user=db["USER"], dbname="postgres")
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
            for _ in range(50):
                cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid])
                if cursor.fetchone()[0] == 0:
                    return
                time.sleep(0.1)
    finally:
        admin.close()


class RedisServer:
    """`redis-server --port <free> --save '' --appendonly no`, started and stopped by the test."""

    def __init__(self) -> None:
        if shutil.which("redis-server") is None:
            pytest.skip("redis-server is not installed")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self) -> "RedisServer":
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        import redis

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                redis.Redis(port=self.port, socket_timeout=0.5).ping()
                return self
            except redis.exceptions.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError("redis-server did not start")

    def pause(self) -> None:
        """SIGSTOP: the server keeps its port and accepts connections (the kernel does), but answers nothing."""
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.resume()
            self.process.terminate()
            self.process.wait(timeout=20)


@pytest.fixture
def own_redis():
    server = RedisServer().start()
    yield server
    server.stop()
