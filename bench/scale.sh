#!/usr/bin/env bash
# `make bench-scale`: issue #14's table at 100,000 articles, with no page cache and one client.
#
# Prepares the database kb_scale once (bench/scale_db.py: generate_corpus, tens of minutes on two
# cores) and reuses it afterwards, serves the site with gunicorn under production settings and
# PAGE_CACHE=0 on 127.0.0.1:8051, and measures every row of the table one request at a time
# (bench/scale.py: p50/p95/p99, requests/s and its ratio to /livez, errors). Writes
# bench/results-scale.md and the scale table in README.md.
#
# Needs PostgreSQL (BENCH_SCALE_DATABASE_URL's server) and Redis (BENCH_REDIS_URL; the cache other
# than pages still runs there, under a key prefix of its own, removed afterwards).
set -euo pipefail
cd "$(dirname "$0")/.."

PORT=${BENCH_SCALE_PORT:-8051}
DATABASE=${BENCH_SCALE_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/kb_scale}
REDIS=${BENCH_REDIS_URL:-redis://127.0.0.1:6379/14}
PY=.venv/bin/python
BASE="http://127.0.0.1:${PORT}"

export DEBUG=0 PAGE_CACHE=0
# One client sending hundreds of searches a minute is what the per-client limit on expensive requests
# (kb/throttle.py) exists to stop; here each request's own cost is measured, so it is off.
export EXPENSIVE_RATE_PER_MINUTE=0
SECRET_KEY="bench-$($PY -c 'import secrets; print(secrets.token_urlsafe(40))')"
export SECRET_KEY
export DATABASE_URL="$DATABASE" REDIS_URL="$REDIS" CACHE_KEY_PREFIX="kb-bench-scale-$$"
export ALLOWED_HOSTS="127.0.0.1,localhost" GUNICORN_BIND="127.0.0.1:${PORT}"

echo "Preparing: collectstatic, database ${DATABASE##*/}…"
$PY manage.py collectstatic --noinput -v0
$PY bench/scale_db.py

SERVER_LOG=$(mktemp)
RAW=$(mktemp)
GUNICORN_PID=
cleanup() {
  if [[ -n "$GUNICORN_PID" ]] && kill -0 "$GUNICORN_PID" 2>/dev/null; then
    kill -TERM "$GUNICORN_PID"
    wait "$GUNICORN_PID" || true
  fi
  $PY - <<'EOF' || true
import os
import redis

client = redis.Redis.from_url(os.environ["REDIS_URL"])
for key in client.scan_iter(f"{os.environ['CACHE_KEY_PREFIX']}:*"):
    client.delete(key)
EOF
  rm -f "$RAW"
  echo "Server log: $SERVER_LOG"
}
trap cleanup EXIT

# The configured default: sync workers, as many as gunicorn.conf.py (kb/serving.py) starts.
BENCH_SCALE_WORKERS=$($PY -c 'import runpy; print(runpy.run_path("gunicorn.conf.py")["workers"])')
export BENCH_SCALE_WORKERS
echo "Serving with gunicorn: ${BENCH_SCALE_WORKERS} workers on ${BASE}, no page cache"
.venv/bin/gunicorn --config gunicorn.conf.py kb.wsgi:application >"$SERVER_LOG" 2>&1 &
GUNICORN_PID=$!
$PY bench/status.py "$BASE/readyz" 100 >/dev/null

BENCH_SCALE_LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
export BENCH_SCALE_LOAD_BEFORE
echo "Measuring, one request at a time (load average ${BENCH_SCALE_LOAD_BEFORE}):"
$PY bench/scale.py run "$BASE" "$RAW"
errors_logged=$(grep -c '"level": "ERROR"' "$SERVER_LOG" || true)
echo "Errors logged by the app: ${errors_logged}"
$PY bench/scale.py report "$RAW"
