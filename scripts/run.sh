#!/usr/bin/env bash
# `make run`: migrate, make and import the synthetic benchmark (BENCHMARK_PER_CATEGORY scenes per
# category, default 40), install the shipped demo partner when the game has none that knows the
# categories in play (IMAGES=DIR: import that ImageNet-style folder, or with IMAGES_LABELS=FILE the flat
# folder DIR/<file> labelled by FILE in ImageNet's formats, IMAGES_SYNSETS=FILE the synset list its class
# indexes refer to, and play it against the pretrained EfficientNet-Lite0; FORCE_PARTNER=1 activates it
# even where it wins without paint), then serve the
# game with gunicorn beside a Celery worker and beat under supervisord (scripts/supervisord.conf), which restarts any of the three that dies; Ctrl-C stops all of them.
# "served" is printed once GET /healthz answers 200 (database, broker and a worker are up).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
PORT=${PORT:-8000}
BIN=$(cd "$(dirname "$PY")" && pwd)
export DJANGO_SETTINGS_MODULE=${DJANGO_SETTINGS_MODULE:-clickme_site.settings.base}
VAR=${CLICKME_VAR_DIR:-var}
mkdir -p "$VAR"
step() { echo "==> $*"; }

if [[ -z "${DATABASE_URL:-}" ]]; then echo "database: SQLite in $VAR/ (set DATABASE_URL for PostgreSQL)"; else echo "database: $DATABASE_URL"; fi
if [[ -z "${REDIS_URL:-}" ]]; then echo "broker: kombu filesystem transport in $VAR/broker (set REDIS_URL for Redis)"; else echo "broker: $REDIS_URL"; fi

step "migrating the database"
"$PY" manage.py migrate --noinput -v 1
"$PY" manage.py move_private_files
step "collecting static files"
"$PY" manage.py collectstatic --noinput -v 0
if [[ -n "${IMAGES:-}" ]]; then
  step "importing $IMAGES and playing it against the pretrained EfficientNet-Lite0 (ImageNet-1k)"
  "$PY" manage.py setup_game --images "$IMAGES" ${IMAGES_LABELS:+--labels "$IMAGES_LABELS"} \
    ${IMAGES_SYNSETS:+--synsets "$IMAGES_SYNSETS"} ${FORCE_PARTNER:+--force-partner}
else
  step "the synthetic benchmark and the shipped demo partner (checked on the benchmark before it plays)"
  "$PY" manage.py setup_game --benchmark-dir "$VAR/benchmark" ${BENCHMARK_PER_CATEGORY:+--per-category "$BENCHMARK_PER_CATEGORY"}
fi

export CLICKME_BIN="$BIN" PORT
# supervisord and its programs run as the invoking user (supervisord.conf's user=); as root (a container's
# only user) that is root, as var/ and its SQLite database are root's and no other user could write them.
CLICKME_USER=$(id -un)
export CLICKME_USER
CLICKME_RUN_DIR=$(cd "$VAR" && pwd)/run
export CLICKME_RUN_DIR
mkdir -p "$CLICKME_RUN_DIR"
step "starting web, worker and beat (supervisord restarts any that dies)"
"$BIN/supervisord" -c scripts/supervisord.conf &
supervisor=$!
stop() {
  trap - INT TERM
  echo; step "stopping web, worker and beat"
  kill -TERM "$supervisor" 2>/dev/null || true
  wait "$supervisor" 2>/dev/null || true
  exit 0
}
trap stop INT TERM

healthy() {
  "$PY" - "$PORT" <<'PY'
import sys, urllib.request
try:
    with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/healthz", timeout=5) as response:
        sys.exit(0 if response.status == 200 else 1)
except Exception:
    sys.exit(1)
PY
}
waited=0
until healthy; do
  if ! kill -0 "$supervisor" 2>/dev/null; then echo "supervisord exited before the site was healthy" >&2; exit 1; fi
  sleep 1; waited=$((waited + 1))
  if (( waited % 5 == 0 )); then step "waiting for /healthz (database, broker, worker): ${waited}s"; fi
done
step "ClickMe is served on http://127.0.0.1:$PORT/ (Ctrl-C stops it)"
wait "$supervisor"
