"""A dependency that is down is a 503 with Retry-After, never a 500: a database connection that dropped
(OperationalError / InterfaceError) or a broker that refuses a task. The next request reconnects
(CONN_HEALTH_CHECKS), so the client is told to try again shortly."""

import logging

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from kombu.exceptions import OperationalError as BrokerError

log = logging.getLogger(__name__)
RETRY_AFTER_S = 5
UNAVAILABLE = (OperationalError, InterfaceError, BrokerError)


def unavailable_response(request: HttpRequest, exception: BaseException | None) -> HttpResponse | None:
    """The 503 for an unreachable dependency, or None when `exception` is something else."""
    if not isinstance(exception, UNAVAILABLE):
        return None
    part = "the task queue" if isinstance(exception, BrokerError) else "the database"
    log.error("%s %s: %s is unavailable: %s", request.method, request.path, part, exception)
    detail = f"{part} is unavailable for a moment; try again"
    response: HttpResponse
    if request.path.startswith(("/api/", "/healthz")):
        response = JsonResponse({"detail": detail, "code": "unavailable"}, status=503)
    else:
        response = HttpResponse(f"<!doctype html><title>ClickMe</title><p>{detail}.</p>", status=503)
    response["Retry-After"] = str(RETRY_AFTER_S)
    return response


class DatabaseUnavailableMiddleware:
    """Turns the exceptions of an unreachable database or broker raised by a view into the 503."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        return unavailable_response(request, exception)
