"""The Celery application shared by the web processes, the workers and beat."""

import os

from celery import Celery
from celery.signals import setup_logging

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clickme_site.settings.base")

app = Celery("clickme")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def logging_from_django(loglevel=None, **kwargs):
    """Workers and beat log through Django's LOGGING (cookiecutter-django's recipe), not Celery's
    own; `--loglevel` still sets the root level (CELERY_LOG_LEVEL in docker-compose)."""
    import logging
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)
    if loglevel:
        logging.getLogger().setLevel(loglevel)
