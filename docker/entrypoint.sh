#!/bin/sh
# ClickMe container entrypoint. The first argument names a role; anything else is exec'd as is
# (e.g. `docker compose run --rm web python manage.py createsuperuser`).
#
#   web          gunicorn clickme_site.wsgi:application on $PORT (default 8000)
#   worker       celery worker for $CELERY_QUEUES (default celery,maps)
#   gpu-worker   celery worker for the training queue: one task at a time, prefetch 1
#   beat         celery beat with django-celery-beat's DatabaseScheduler
#   migrate      manage.py migrate, move_private_files, then collectstatic (once before the others start)
#   healthcheck  web|ready|worker|gpu-worker|beat: exit 0 when that role in this container is healthy
#                (web: liveness /healthz/live; ready: readiness /healthz, for a load balancer)
set -eu

role="${1:-web}"
if [ "$#" -gt 0 ]; then shift; fi

case "$role" in
  web)
    exec gunicorn clickme_site.wsgi:application \
      --config scripts/gunicorn.conf.py \
      --bind "0.0.0.0:${PORT:-8000}" \
      --workers "${GUNICORN_WORKERS:-2}" \
      --threads "${GUNICORN_THREADS:-4}" \
      --timeout "${GUNICORN_TIMEOUT:-60}" \
      --keep-alive "${GUNICORN_KEEPALIVE:-5}" \
      --graceful-timeout 30 \
      --worker-tmp-dir /dev/shm \
      --control-socket "${GUNICORN_CONTROL_SOCKET:-/tmp/gunicorn.ctl}" \
      --forwarded-allow-ips "${GUNICORN_FORWARDED_ALLOW_IPS:-*}" \
      --access-logfile - \
      --error-logfile - \
      "$@"
    ;;
  worker)
    exec celery -A clickme_site worker \
      --hostname "worker@%h" \
      --queues "${CELERY_QUEUES:-celery,maps}" \
      --concurrency "${CELERY_CONCURRENCY:-2}" \
      --prefetch-multiplier 1 \
      --loglevel "${CELERY_LOG_LEVEL:-INFO}" \
      "$@"
    ;;
  gpu-worker)
    exec celery -A clickme_site worker \
      --hostname "gpu@%h" \
      --queues training \
      --concurrency 1 \
      --prefetch-multiplier 1 \
      --loglevel "${CELERY_LOG_LEVEL:-INFO}" \
      "$@"
    ;;
  beat)
    exec celery -A clickme_site beat \
      --scheduler django_celery_beat.schedulers:DatabaseScheduler \
      --pidfile /tmp/celerybeat.pid \
      --loglevel "${CELERY_LOG_LEVEL:-INFO}" \
      "$@"
    ;;
  migrate)
    python manage.py migrate --noinput "$@"
    python manage.py move_private_files
    exec python manage.py collectstatic --noinput
    ;;
  healthcheck)
    what="${1:-web}"
    case "$what" in
      web|ready)
        # web: liveness, GET /healthz/live (the process answers). ready: readiness, GET /healthz
        # (database, broker and a worker). Host is the first allowed host (production settings
        # reject others); X-Forwarded-Proto avoids the HTTPS redirect of production settings.
        if [ "$what" = web ]; then path=/healthz/live; else path=/healthz; fi
        exec python - "$path" <<'PY'
import os, sys, urllib.error, urllib.request
hosts = [h.strip() for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "").split(",") if h.strip()]
host = next((h.lstrip("*.") for h in hosts if h.lstrip("*.")), "localhost")
request = urllib.request.Request(
    f"http://127.0.0.1:{os.environ.get('PORT', '8000')}{sys.argv[1]}",
    headers={"Host": host, "X-Forwarded-Proto": "https"},
)
try:
    with urllib.request.urlopen(request, timeout=10) as response:
        sys.exit(0 if response.status == 200 else 1)
except urllib.error.HTTPError as error:
    print(f"{sys.argv[1]} {error.code}: {error.read()[:500]!r}")
except Exception as error:
    print(f"{sys.argv[1]} unreachable: {error}")
sys.exit(1)
PY
        ;;
      worker)
        exec celery -A clickme_site inspect ping --destination "worker@${HOSTNAME:-$(hostname)}" --timeout 10
        ;;
      gpu-worker)
        exec celery -A clickme_site inspect ping --destination "gpu@${HOSTNAME:-$(hostname)}" --timeout 10
        ;;
      beat)
        # Beat answers no ping: healthy while the process that wrote the pidfile lives.
        [ -s /tmp/celerybeat.pid ] && kill -0 "$(cat /tmp/celerybeat.pid)"
        ;;
      *)
        echo "healthcheck: unknown role '$what' (web|ready|worker|gpu-worker|beat)" >&2
        exit 2
        ;;
    esac
    ;;
  *)
    exec "$role" "$@"
    ;;
esac
