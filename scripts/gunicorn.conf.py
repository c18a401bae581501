"""gunicorn's settings for ClickMe's web process (`gunicorn -c scripts/gunicorn.conf.py`): each worker
loads what it needs to serve (the partner network, clickme_site/readiness.py) before it takes its first
request, so a round started right after a start or restart is not played against a cold partner."""

from clickme_site.readiness import warm_all

# Loading the partner can take several seconds on a busy machine before the worker's heartbeat starts;
# with gthread workers a long request does not stop the heartbeat, so this bounds only a stuck start.
timeout = 120


def post_worker_init(worker):
    warm_all()
