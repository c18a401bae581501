#!/usr/bin/env bash
# `make run`: migrate, make and import the synthetic benchmark, train the demo partner when none is
# registered, then serve the game with gunicorn beside a Celery worker and beat; Ctrl-C stops all.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
PORT=${PORT:-8000}
BIN=$(dirname "$PY")
export DJANGO_SETTINGS_MODULE=${DJANGO_SETTINGS_MODULE:-clickme_site.settings.base}
VAR=${CLICKME_VAR_DIR:-var}
mkdir -p "$VAR"

if [[ -z "${DATABASE_URL:-}" ]]; then echo "database: SQLite in $VAR/ (set DATABASE_URL for PostgreSQL)"; else echo "database: $DATABASE_URL"; fi
if [[ -z "${REDIS_URL:-}" ]]; then echo "broker: kombu filesystem transport in $VAR/broker (set REDIS_URL for Redis)"; else echo "broker: $REDIS_URL"; fi

"$PY" manage.py migrate --noinput -v 0
"$PY" manage.py collectstatic --noinput -v 0
if [[ "$("$PY" manage.py shell -c 'from game.models import Image; print(Image.objects.exists())')" != "True" ]]; then
  echo "generating and importing the synthetic benchmark"
  [[ -f "$VAR/benchmark/manifest.csv" ]] || "$PY" manage.py generate_benchmark --out "$VAR/benchmark"
  "$PY" manage.py import_images "$VAR/benchmark/manifest.csv"
fi
"$PY" manage.py train_demo_partner --if-none

pids=()
stop() {
  trap - INT TERM EXIT
  echo; echo "stopping web, worker and beat"
  kill -TERM "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
}
trap stop INT TERM EXIT

"$BIN/celery" -A clickme_site worker -Q celery,maps,training --concurrency 2 --loglevel INFO \
  --hostname "worker@%h" &
pids+=($!)
"$BIN/celery" -A clickme_site beat --loglevel INFO --schedule "$VAR/celerybeat-schedule" \
  --scheduler django_celery_beat.schedulers:DatabaseScheduler &
pids+=($!)
"$BIN/gunicorn" clickme_site.wsgi:application --bind "127.0.0.1:$PORT" --workers 2 --threads 4 \
  --access-logfile - --graceful-timeout 5 &
pids+=($!)
echo "ClickMe is served on http://127.0.0.1:$PORT/ (Ctrl-C stops it)"
wait -n "${pids[@]}"
