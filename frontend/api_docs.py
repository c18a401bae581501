"""The API docs pages: Swagger UI and ReDoc from drf-spectacular-sidecar, with no inline script."""

from typing import Any

from drf_spectacular.views import SpectacularRedocView

# ReDoc styles itself with styled-components, which injects <style> elements: under a style-src 'self'
# policy it fails outright. This page alone allows inline styles; scripts stay 'self' only. The view sets
# the header itself, so a site-wide CSP middleware (which leaves an existing header alone) keeps it.
REDOC_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


class RedocView(SpectacularRedocView):
    def finalize_response(self, request: Any, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Content-Security-Policy"] = REDOC_CSP
        return response
