"""The Celery application shared by the web processes, the workers and beat."""

import os
import signal

from celery import Celery
from celery.signals import setup_logging, worker_ready

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


def waiting_for_the_broker(frame) -> bool:
    """True when `frame` is kombu's virtual-transport drain loop itself: the worker is waiting for a
    message and holds none (a message is delivered, and put in the unacked set, in deeper frames)."""
    from kombu.transport.virtual.base import Transport

    return frame is not None and frame.f_code is Transport.drain_events.__code__


@worker_ready.connect
def warm_shutdown_without_polling_delay(**kwargs):
    """SIGTERM or a first SIGINT (Ctrl-C) stops a worker on a polling transport (kombu's filesystem
    broker of `make run`) at once, not 2-4 s later. Celery's handlers only set a flag that its blocking
    loop (synloop) reads between 2-second waits on the broker, and then it waits once more. When the
    signal finds the worker in that wait, this raises the WorkerShutdown the loop would raise itself;
    the warm shutdown that follows is Celery's own (running tasks finish, prefetched messages go back
    to the queue). Any other transport never waits there: nothing changes for it."""
    from celery.worker import state

    for signum in (signal.SIGTERM, signal.SIGINT):
        celery_handler = signal.getsignal(signum)
        if callable(celery_handler):
            signal.signal(signum, _stopping_from_the_wait(celery_handler, state.maybe_shutdown))


def _stopping_from_the_wait(celery_handler, maybe_shutdown):
    def handler(signum, frame):
        celery_handler(signum, frame)
        if waiting_for_the_broker(frame):
            maybe_shutdown()

    return handler
