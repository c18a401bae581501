"""Logging filters of the project's LOGGING (clickme_site/settings/base.py)."""

import logging


class ReadinessAnswers(logging.Filter):
    """Drops django.request's "Service Unavailable: /healthz" errors: a 503 from the readiness probe is
    its answer (not ready yet: every start polls it until 200), not a failure of the site. The probe
    logs what failed itself (clickme_site/health.py), at WARNING."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        return not (getattr(record, "status_code", None) == 503 and getattr(request, "path", "") == "/healthz")
