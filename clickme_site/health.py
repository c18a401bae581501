"""GET /healthz (readiness): is the database reachable, is the broker reachable, how many workers
answer, and does this web process hold what the apps need to serve (clickme_site/readiness.py: the
game's partner loaded). GET /healthz/live (liveness): the process answers, whatever its dependencies."""

import logging

from django.db import connection
from django.http import JsonResponse

from .celery import app
from .readiness import READY_STATES, readiness_parts

log = logging.getLogger(__name__)


def _database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _broker():
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


def _workers():
    return len(app.control.ping(timeout=1.0) or [])


def health_report():
    """{"db": "ok"|"error", "broker": "ok"|"error", "workers": N} and whether all is well."""
    body: dict[str, str | int] = {}
    healthy = True
    for part, probe in (("db", _database), ("broker", _broker)):
        try:
            probe()
            body[part] = "ok"
        except Exception as error:  # any failure of the part is reported, never raised
            log.warning("healthz: %s failed: %s", part, error)
            body[part] = "error"  # details go to the log, not to anonymous callers
            healthy = False
    try:
        body["workers"] = _workers() if body["broker"] == "ok" else 0
    except Exception as error:
        log.warning("healthz: worker ping failed: %s", error)
        body["workers"] = 0
    if body["workers"] == 0:
        healthy = False
    if body["db"] == "ok":
        for ready in readiness_parts():
            try:
                state = ready.probe()
            except Exception as error:
                log.warning("healthz: %s failed: %s", ready.name, error)
                state = "error"
            body[ready.name] = state
            healthy = healthy and state in READY_STATES
    return body, healthy


def healthz(request):
    body, healthy = health_report()
    if not healthy:
        failing = [part for part in ("db", "broker") if body[part] != "ok"]
        failing += [ready.name for ready in readiness_parts() if body.get(ready.name, "ok") not in READY_STATES]
        failing = failing or ["workers"]
        body["detail"] = f"unhealthy: {', '.join(failing)}"
        body["code"] = "unhealthy"
    return JsonResponse(body, status=200 if healthy else 503)


def healthz_live(request):
    """200 while this process answers requests; touches no database, broker or cache."""
    return JsonResponse({"status": "alive"})
