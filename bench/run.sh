#!/usr/bin/env bash
# `make bench`: serve the seeded site with gunicorn under production settings
# on 127.0.0.1 and drive it with wrk from a second process.
#
# For each worker class in BENCH_WORKER_CLASSES (the first is the configured
# default; the others are measured beside it to justify that choice) it
# reports requests/s, p50/p95/p99 latency, bytes on the wire per response and
# errors for /livez, a category listing, an article, a tag page, three
# searches and the feed, each as identity and some also with
# `Accept-Encoding: br` and `gzip` (cached pages are stored compressed, so a
# hit must cost no more compressed than plain; the feed is compressed per
# request), and each page's requests/s as a ratio to /livez in the same run.
#
# Then, with the default worker class, the page cache's design (#15): the
# article again, as served and with every request first reading a row from
# PostgreSQL (bench/db_version_wsgi.py), the least that deriving the content
# version from the database would cost per hit. BENCH_DESIGNS=0 skips it.
# Results go to bench/results.md and, between the bench markers, to README.md.
#
# Needs: PostgreSQL (BENCH_DATABASE_URL's server; the database is created),
# Redis (BENCH_REDIS_URL; a key prefix of its own, removed afterwards), and
# wrk (installed from Debian's packages when missing; needs root).
set -euo pipefail
cd "$(dirname "$0")/.."

PORT=${BENCH_PORT:-8050}
DATABASE=${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/kb_bench}
REDIS=${BENCH_REDIS_URL:-redis://127.0.0.1:6379/14}
DURATION=${BENCH_DURATION:-10s}
WRK_THREADS=${BENCH_WRK_THREADS:-2}
CONNECTIONS=${BENCH_CONNECTIONS:-32}
WORKER_CLASSES=${BENCH_WORKER_CLASSES:-sync gthread}
PY=.venv/bin/python
BASE="http://127.0.0.1:${PORT}"
ARTICLE=/articles/jwt-authentication-implementation-and-security-patterns/
# "URL Accept-Encoding" ("identity": no Accept-Encoding header, as wrk sends by default).
CASES=(
  "/livez identity"
  "/categories/product-engineering/ identity"
  "/categories/product-engineering/ br"
  "/categories/product-engineering/ gzip"
  "$ARTICLE identity"
  "$ARTICLE br"
  "$ARTICLE gzip"
  "/tags/api/ identity"
  "/search/?q=refresh+token identity"
  "/search/?q=circuit+breaker identity"
  "/search/?q=idempotncy+keys identity"
  "/feed/ identity"
  "/feed/ br"
  "/feed/ gzip"
)
DESIGN_CASES=("$ARTICLE identity" "$ARTICLE br")

if ! command -v wrk >/dev/null; then
  echo "Installing wrk from Debian's packages…"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends wrk >/dev/null
fi

# Production settings: DEBUG off, hashed and compressed static files, Redis
# page cache, HTTPS redirects on (wrk says it came through the TLS proxy).
export DEBUG=0
SECRET_KEY="bench-$($PY -c 'import secrets; print(secrets.token_urlsafe(40))')"
export SECRET_KEY
export DATABASE_URL="$DATABASE" REDIS_URL="$REDIS" CACHE_KEY_PREFIX="kb-bench-$$"
export ALLOWED_HOSTS="127.0.0.1,localhost" GUNICORN_BIND="127.0.0.1:${PORT}"

echo "Preparing: collectstatic, database ${DATABASE##*/}, migrations, seed…"
$PY manage.py collectstatic --noinput -v0
$PY - <<'EOF'
import os
import psycopg
from urllib.parse import urlsplit

url = urlsplit(os.environ["DATABASE_URL"])
name = url.path.lstrip("/")
admin_url = url._replace(path="/postgres").geturl()
with psycopg.connect(admin_url, autocommit=True) as conn:
    if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
        conn.execute(f'CREATE DATABASE "{name}"')
EOF
DB_STATEMENT_TIMEOUT_MS=0 $PY manage.py migrate --noinput -v0 >/dev/null
$PY manage.py load_seed >/dev/null

SERVER_LOG=$(mktemp)
RESULTS=$(mktemp)
GUNICORN_PID=
stop_server() {
  if [[ -n "$GUNICORN_PID" ]] && kill -0 "$GUNICORN_PID" 2>/dev/null; then
    kill -TERM "$GUNICORN_PID"
    wait "$GUNICORN_PID" || true
  fi
  GUNICORN_PID=
}
cleanup() {
  stop_server
  $PY - <<'EOF' || true
import os
import redis

client = redis.Redis.from_url(os.environ["REDIS_URL"])
for key in client.scan_iter(f"{os.environ['CACHE_KEY_PREFIX']}:*"):
    client.delete(key)
EOF
  rm -f "$SERVER_LOG" "$RESULTS"
}
trap cleanup EXIT

# The HTTP status of one request like wrk's (no redirects followed), retried while the server starts.
status_of() {
  $PY bench/status.py "$BASE$1" "$2" "${3:-identity}"
}

# One section of the results: serve the WSGI app $3 with worker class $2, then wrk each case after $3.
measure() {
  local label=$1 worker_class=$2 app=$3
  shift 3
  # Processes and threads as gunicorn.conf.py (kb/serving.py) sets them for this class.
  read -r workers threads < <(GUNICORN_WORKER_CLASS=$worker_class $PY -c \
    'import runpy; conf = runpy.run_path("gunicorn.conf.py"); print(conf["workers"], conf["threads"])')
  echo "Serving $app with gunicorn: ${workers} ${worker_class} workers x ${threads} threads on ${BASE}"
  GUNICORN_WORKER_CLASS=$worker_class GUNICORN_THREADS=$threads WEB_CONCURRENCY=$workers \
    .venv/bin/gunicorn --config gunicorn.conf.py "$app" >"$SERVER_LOG" 2>&1 &
  GUNICORN_PID=$!
  status_of /readyz 100 >/dev/null

  local case url encoding status line
  for case in "$@"; do
    url=${case% *}
    encoding=${case##* }
    # Every page must be a plain 200 for the request wrk sends (no redirect), and warm.
    status=$(status_of "$url" 1 "$encoding")
    if [[ "$status" != 200 ]]; then
      echo "$url answered $status, not 200" >&2
      exit 1
    fi
    local headers=(-H 'X-Forwarded-Proto: https')
    if [[ "$encoding" != identity ]]; then
      headers+=(-H "Accept-Encoding: $encoding")
    fi
    echo "  wrk -t${WRK_THREADS} -c${CONNECTIONS} -d${DURATION} $url ($encoding)"
    # A 10 s timeout (wrk's default is 2 s): the uncached feed is slow under load, not failing.
    line=$(wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"$DURATION" --timeout 10s -s bench/report.lua \
      "${headers[@]}" "$BASE$url" | tail -n 1)
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$workers" "$threads" "$url" "$encoding" "$line" >>"$RESULTS"
  done
  errors_logged=$(grep -c '"level": "ERROR"' "$SERVER_LOG" || true)
  printf '%s\terrors_logged\t%s\n' "$label" "$errors_logged" >>"$RESULTS"
  stop_server
}

for worker_class in $WORKER_CLASSES; do
  measure "$worker_class" "$worker_class" kb.wsgi:application "${CASES[@]}"
done
if [[ "${BENCH_DESIGNS:-1}" != 0 ]]; then
  default_class=${WORKER_CLASSES%% *}
  measure "design: $default_class, as served" "$default_class" kb.wsgi:application "${DESIGN_CASES[@]}"
  measure "design: $default_class, plus one database read per request" "$default_class" \
    bench.db_version_wsgi:application "${DESIGN_CASES[@]}"
fi

$PY bench/report.py "$RESULTS" "${DURATION}" "${WRK_THREADS}" "${CONNECTIONS}"
