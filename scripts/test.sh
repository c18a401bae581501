#!/usr/bin/env bash
# `make test`: make sure PostgreSQL, Redis and Chromium are there, then run the whole suite.
# `make test-sqlite` (`scripts/test.sh --sqlite [ARGS]`): the embedded default's lane, the suite on SQLite
# with no Redis (clickme_site/settings/test_sqlite.py), slow and browser tests left out; needs no server.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python

if [[ "${1:-}" == "--sqlite" ]]; then
  shift
  rm -rf var/test-sqlite  # the lane's database, broker and cache files from an earlier run
  exec "$PY" -m pytest --ds clickme_site.settings.test_sqlite -m "not slow and not browser" "$@"
fi

missing=()
pg_up() { "$PY" -c "import psycopg2; psycopg2.connect(host='127.0.0.1', port=5432, user='postgres', dbname='postgres', connect_timeout=3).close()" 2>/dev/null; }
redis_up() { "$PY" -c "import redis; redis.Redis(host='127.0.0.1', port=6379, socket_timeout=3).ping()" 2>/dev/null; }

if [[ -z "${DATABASE_URL:-}" ]] && ! pg_up; then
  if command -v pg_ctlcluster >/dev/null && ls /etc/postgresql >/dev/null 2>&1; then
    echo "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
    for _ in $(seq 20); do pg_up && break; sleep 0.5; done
  fi
  pg_up || missing+=("PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth): install postgresql or set DATABASE_URL")
fi
if [[ -z "${REDIS_URL:-}" ]] && ! redis_up; then
  if command -v redis-server >/dev/null; then
    echo "starting Redis"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null || true
    for _ in $(seq 20); do redis_up && break; sleep 0.5; done
  fi
  redis_up || missing+=("Redis on 127.0.0.1:6379: install redis-server or set REDIS_URL")
fi
CHROMIUM=${CLICKME_CHROMIUM:-/usr/bin/chromium}
if [[ ! -x "$CHROMIUM" ]] && command -v apt-get >/dev/null && [[ $(id -u) == 0 ]]; then
  echo "installing Debian's chromium for the browser tests"
  (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium) >/dev/null 2>&1 || true
fi
[[ -x "$CHROMIUM" ]] || missing+=("Chromium at $CHROMIUM (Debian package chromium) for the browser tests")
if ! command -v node >/dev/null && command -v apt-get >/dev/null && [[ $(id -u) == 0 ]]; then
  echo "installing Debian's nodejs for the JavaScript unit tests"
  (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs) >/dev/null 2>&1 || true
fi
command -v node >/dev/null || missing+=("node (Debian package nodejs, v18 or later) for the JavaScript unit tests")

if (( ${#missing[@]} )); then
  echo "make test cannot run; missing:" >&2
  printf '  - %s\n' "${missing[@]}" >&2
  exit 2
fi

exec "$PY" -m pytest "$@"
