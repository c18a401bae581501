"""One error shape for every API answer: {"detail": "...", "code": "..."} with a 4xx status."""

from django.http import JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import APIView, exception_handler


class ServiceError(Exception):
    """A rule a service refused; the API turns it into a 4xx answer with a stable code."""

    status_code = status.HTTP_400_BAD_REQUEST
    code = "invalid"

    def __init__(self, detail, code=None, status_code=None):
        super().__init__(detail)
        self.detail = detail
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
        return Response({"detail": str(exc.detail), "code": exc.code}, status=exc.status_code)
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
    """Any /api/v1/ path that matches nothing: 401 without a token (API.md), else a JSON 404."""

    schema = None

    def _not_found(self, request, *args, **kwargs):
        raise NotFound("no such endpoint", "not_found")

    get = post = put = patch = delete = _not_found


def api_not_found(request):
    return JsonResponse({"detail": "no such endpoint", "code": "not_found"}, status=404)
