"""GET /healthz: 200 with db, broker and a worker; 503 naming the failing part."""

from django.db import OperationalError

from clickme_site import health
from clickme_site.celery import app


def test_healthz_is_ok_with_a_real_worker(client, db, celery_worker_process):
    response = client.get("/healthz")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["db"] == "ok" and body["broker"] == "ok" and body["workers"] >= 1


def test_healthz_names_an_unreachable_broker(client, db, monkeypatch):
    with monkeypatch.context() as patch:
        patch.setattr(app.conf, "broker_url", "redis://127.0.0.1:1/0")
        response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["db"] == "ok" and body["broker"] == "error" and "broker" in body["detail"]


def test_healthz_names_a_failing_database(client, db, monkeypatch):
    def down():
        raise OperationalError("connection refused")

    monkeypatch.setattr(health, "_database", down)
    response = client.get("/healthz")
    assert response.status_code == 503 and "db" in response.json()["detail"]


def test_a_503_from_the_readiness_probe_is_not_logged_as_a_server_error(client, db, monkeypatch, caplog):
    """Every start polls /healthz until 200: its 503s are answers, not errors (`make run` printed
    "ERROR django.request: Service Unavailable: /healthz" on each start). Other 5xx stay logged."""
    monkeypatch.setattr(health, "_workers", lambda: 0)
    with caplog.at_level("INFO"):
        assert client.get("/healthz").status_code == 503
    assert not [r for r in caplog.records if r.name == "django.request" and r.levelname == "ERROR"]
    import logging

    record = logging.LogRecord("django.request", logging.ERROR, __file__, 1, "Service Unavailable: %s", ("/x",), None)
    record.status_code = 503
    record.request = type("Request", (), {"path": "/api/v1/stats/"})()
    assert logging.getLogger("django.request").filters[0].filter(record)
