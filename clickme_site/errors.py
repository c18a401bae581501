"""One error shape for every API answer: {"detail": "...", "code": "..."} with a 4xx status.

Django's own error handlers (urls.py handler400/403/404/500) answer in the same shape on /api/ paths,
so a body too large (413), an unknown path (404) or a crash (500) is JSON there too; a database or
broker that is unreachable is a 503 with Retry-After (clickme_site/outages.py), never a 500.
"""

import sys

from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import APIView, exception_handler


class ServiceError(Exception):
    """A rule a service refused; the API turns it into a 4xx answer with a stable code."""

    status_code: int = status.HTTP_400_BAD_REQUEST
    code: str = "invalid"

    def __init__(
        self, detail: str, code: str | None = None, status_code: int | None = None, extra: dict | None = None
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra or {}  # added to the answer's body beside detail and code
        if code is not None:
            self.code = code
        if status_code is not None:
            self.status_code = status_code


class NotFound(ServiceError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "not_found"


class Conflict(ServiceError):
    status_code = status.HTTP_409_CONFLICT
    code = "conflict"


def _first_message(detail, path=()):
    """Flatten DRF's nested error details into ("field.sub: message", code)."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            return _first_message(value, (*path, str(key)))
    if isinstance(detail, list):
        if not detail:
            return ".".join(path) or "request", "invalid"
        return _first_message(detail[0], path)
    where = ".".join(p for p in path if p != "non_field_errors")
    message = f"{where}: {detail}" if where else str(detail)
    return message, getattr(detail, "code", None) or "invalid"


def api_exception_handler(exc, context):
    if isinstance(exc, ServiceError):
        return Response({**exc.extra, "detail": str(exc.detail), "code": exc.code}, status=exc.status_code)
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        message, code = _first_message(exc.detail)
        response.data = {"detail": message, "code": code, "errors": exc.detail}
    elif isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        response.data = {"detail": str(exc.detail), "code": codes if isinstance(codes, str) else "error"}
    return response


class ResearchNotFound(APIView):
    """Any /api/v1/ path that matches nothing: 401 without a token (docs/API.md), else a JSON 404."""

    schema = None

    def _not_found(self, request, *args, **kwargs):
        raise NotFound("no such endpoint", "not_found")

    get = post = put = patch = delete = _not_found


def api_not_found(request):
    return JsonResponse({"detail": "no such endpoint", "code": "not_found"}, status=404)


def is_api(request) -> bool:
    return request.path.startswith("/api/")


def error_json(detail: str, code: str, status_code: int) -> JsonResponse:
    return JsonResponse({"detail": detail, "code": code}, status=status_code)


def handler400(request, exception=None):
    if isinstance(exception, RequestDataTooBig):
        return error_json("the request body is too large", "too_large", status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if is_api(request):
        return error_json("bad request", "bad_request", status.HTTP_400_BAD_REQUEST)
    return defaults.bad_request(request, exception)


def handler403(request, exception=None):
    if is_api(request):
        return error_json("permission denied", "permission_denied", status.HTTP_403_FORBIDDEN)
    return defaults.permission_denied(request, exception)


def csrf_failure(request, reason=""):
    """settings.CSRF_FAILURE_VIEW: JSON on /api/ paths, Django's page elsewhere."""
    if is_api(request):
        return error_json(f"CSRF failed: {reason}", "csrf_failed", status.HTTP_403_FORBIDDEN)
    from django.views.csrf import csrf_failure as django_csrf_failure

    return django_csrf_failure(request, reason)


def handler404(request, exception=None):
    if is_api(request):
        return error_json("not found", "not_found", status.HTTP_404_NOT_FOUND)
    return defaults.page_not_found(request, exception)


def handler500(request):
    from .outages import unavailable_response

    unavailable = unavailable_response(request, sys.exc_info()[1])
    if unavailable is not None:
        return unavailable
    if is_api(request):
        return error_json("the server failed; it has been logged", "server_error", 500)
    return defaults.server_error(request)
