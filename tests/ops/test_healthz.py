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
