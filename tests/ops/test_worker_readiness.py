"""Ready means ready: a web worker loads the game's partner before it serves its first request
(scripts/gunicorn.conf.py, clickme_site/readiness.py), and GET /healthz says "partner": "ok" only in a
process that holds the active partner."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from clickme_site import health
from game import partner as partner_runtime
from game.partner_play import partner_readiness, partner_warm
from tests.conftest import worker_database_url

from .conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture
def cold_process():
    """This process as a freshly started one: no partner runtime held."""
    partner_runtime._cache.clear()
    yield
    partner_runtime._cache.clear()


@pytest.mark.django_db(transaction=True)
def test_healthz_is_503_partner_loading_until_the_process_holds_the_active_partner(
    client, ranked_partner, cold_process, monkeypatch
):
    monkeypatch.setattr(health, "_workers", lambda: 1)  # the broker's worker is not what this test is about
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["partner"] == "loading" and "partner" in response.json()["detail"]
    deadline = time.monotonic() + 60  # the probe started the load on a thread
    while partner_readiness() != "ok" and time.monotonic() < deadline:
        time.sleep(0.1)
    response = client.get("/healthz")
    assert response.status_code == 200, response.json()
    assert response.json()["partner"] == "ok"


@pytest.mark.django_db(transaction=True)
def test_a_promoted_partner_makes_the_process_not_ready_until_it_is_loaded(
    categories, ranked_partner, cold_process, tmp_path
):
    from tests.conftest import constant_partner

    assert partner_warm() and partner_readiness() == "ok"
    constant_partner("promoted", categories, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0], tmp_path)
    assert partner_readiness() == "loading"


@pytest.mark.django_db(transaction=True)
def test_without_an_active_partner_there_is_nothing_to_load(client, categories, cold_process, monkeypatch):
    monkeypatch.setattr(health, "_workers", lambda: 1)
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json()["partner"] == "none"


@pytest.mark.django_db(transaction=True)
def test_a_gunicorn_worker_holds_the_partner_before_its_first_request(ranked_partner, unrecognised_images, tmp_path):
    """The first request a worker answers (here /healthz, as a player's first click post would) finds
    the partner loaded: before the post_worker_init hook, a worker loaded it lazily on its first post
    (9-14 s on a busy machine, and the round's clicks were refused as late)."""
    from django.conf import settings

    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "clickme_site.settings.test",
        "DATABASE_URL": worker_database_url(),
        "CLICKME_MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "CLICKME_PRIVATE_ROOT": str(settings.PRIVATE_ROOT),
    }
    log = open(tmp_path / "gunicorn.out", "wb")
    web = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "clickme_site.wsgi:application",
            "--config",
            "scripts/gunicorn.conf.py",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--threads",
            "2",
        ],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=log,
    )
    try:
        deadline = time.monotonic() + 120
        body = None
        while time.monotonic() < deadline:
            try:
                status, body = get(f"http://127.0.0.1:{port}/healthz")
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):  # not listening, or still loading
                assert web.poll() is None, (tmp_path / "gunicorn.out").read_text()
                time.sleep(0.2)
        assert body is not None, "gunicorn did not answer"
        assert body["partner"] == "ok", body
    finally:
        web.send_signal(signal.SIGTERM)
        try:
            web.wait(timeout=30)
        except subprocess.TimeoutExpired:
            web.kill()
            web.wait()
            raise AssertionError("gunicorn did not stop: " + (tmp_path / "gunicorn.out").read_text()) from None
        finally:
            log.close()
