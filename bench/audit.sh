#!/usr/bin/env bash
# `make audit`: Lighthouse (mobile and desktop) and the Nu HTML Checker on the
# reader pages and the API reference, as outside clients see the site (#15).
#
# Serves the seeded site with gunicorn under production settings (DEBUG off,
# hashed and compressed static files, Redis page cache), as `make bench` does,
# then for each page runs Lighthouse AUDIT_RUNS times per form factor on
# Debian's chromium (the median performance score is kept; the other
# categories do not vary) and vnu.jar once on its HTML. Writes
# bench/results-audit.md and the table between the audit markers in README.md;
# the full Lighthouse reports stay in $AUDIT_REPORTS. Fails when a category
# scores under 95, except SEO on pages that ask not to be indexed.
#
# Needs: PostgreSQL (AUDIT_DATABASE_URL's server; the database is created),
# Redis (AUDIT_REDIS_URL; a key prefix of its own, removed afterwards),
# chromium (CHROME_PATH), Java, and `npm ci --ignore-scripts` (lighthouse and
# vnu-jar from package.json; no script downloads a browser or a JRE).
# AUDIT_BASE_URL audits a server that is already running instead.
set -euo pipefail
cd "$(dirname "$0")/.."

PORT=${AUDIT_PORT:-8060}
DATABASE=${AUDIT_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/kb_audit}
REDIS=${AUDIT_REDIS_URL:-redis://127.0.0.1:6379/13}
RUNS=${AUDIT_RUNS:-3}
REPORTS=${AUDIT_REPORTS:-$(mktemp -d -t kb-audit-XXXXXX)}
RESULTS=${AUDIT_RESULTS:-bench/results-audit.md}
export CHROME_PATH=${CHROME_PATH:-/usr/bin/chromium}
PY=.venv/bin/python
LIGHTHOUSE=node_modules/.bin/lighthouse
# localhost, not 127.0.0.1: chromium treats http://localhost as a secure
# context, as the site is behind its TLS proxy in production.
BASE=${AUDIT_BASE_URL:-http://localhost:${PORT}}
PAGES=(
  "home /"
  "category /categories/product-engineering/"
  "article /articles/jwt-authentication-implementation-and-security-patterns/"
  "tag /tags/api/"
  "search /search/?q=circuit+breaker"
  "api-reference /api/v1/docs"
)
CHROME_FLAGS="--headless=new --no-sandbox --disable-gpu --disable-background-networking \
--disable-component-update --disable-sync --no-first-run --disable-dev-shm-usage"

for tool in "$LIGHTHOUSE" node_modules/vnu-jar/build/dist/vnu.jar "$CHROME_PATH"; do
  if [[ ! -e "$tool" ]]; then
    echo "$tool is missing: run \`npm ci --ignore-scripts\` (make vnu) and install chromium" >&2
    exit 1
  fi
done
mkdir -p "$REPORTS"

GUNICORN_PID=
cleanup() {
  if [[ -n "$GUNICORN_PID" ]] && kill -0 "$GUNICORN_PID" 2>/dev/null; then
    kill -TERM "$GUNICORN_PID"
    wait "$GUNICORN_PID" || true
  fi
  if [[ -z "${AUDIT_BASE_URL:-}" ]]; then
    $PY - <<'EOF' || true
import os
import redis

client = redis.Redis.from_url(os.environ["REDIS_URL"])
for key in client.scan_iter(f"{os.environ['CACHE_KEY_PREFIX']}:*"):
    client.delete(key)
EOF
  fi
}
trap cleanup EXIT

if [[ -z "${AUDIT_BASE_URL:-}" ]]; then
  # Production settings, as bench/run.sh sets them. The TLS proxy is absent:
  # no HTTPS redirect, the rest (HSTS, secure cookies, CSP) as deployed.
  export DEBUG=0 SECURE_SSL_REDIRECT=0
  SECRET_KEY="audit-$($PY -c 'import secrets; print(secrets.token_urlsafe(40))')"
  export SECRET_KEY
  export DATABASE_URL="$DATABASE" REDIS_URL="$REDIS" CACHE_KEY_PREFIX="kb-audit-$$"
  export ALLOWED_HOSTS="127.0.0.1,localhost" GUNICORN_BIND="127.0.0.1:${PORT}" WEB_CONCURRENCY=${WEB_CONCURRENCY:-2}
  export EXPENSIVE_RATE_PER_MINUTE=0 SITE_URL="$BASE"

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

  echo "Serving with gunicorn on ${BASE} (${WEB_CONCURRENCY} workers)"
  .venv/bin/gunicorn --config gunicorn.conf.py kb.wsgi:application >"$REPORTS/server.log" 2>&1 &
  GUNICORN_PID=$!
  for _ in $(seq 100); do
    if curl -sf -o /dev/null "http://127.0.0.1:${PORT}/readyz"; then break; fi
    sleep 0.2
  done
fi

for page in "${PAGES[@]}"; do
  read -r name path <<<"$page"
  url="$BASE$path"
  # Warm, as readers find it, and kept for the Nu checker.
  curl -sf -H 'Accept-Encoding: identity' -o "$REPORTS/$name.html" "$url" || {
    echo "$url did not answer 200" >&2
    exit 1
  }
  for form in mobile desktop; do
    preset=()
    [[ $form == desktop ]] && preset=(--preset=desktop)
    for run in $(seq "$RUNS"); do
      echo "  lighthouse $form $url (run $run of $RUNS)"
      # Lighthouse now and then loses the trace of a load (NO_NAVSTART, NO_FCP): that run is
      # taken again, twice at most; a page that fails three times in a row fails the audit.
      for attempt in 1 2 3; do
        "$LIGHTHOUSE" "$url" "${preset[@]}" --quiet --output=json --output=html \
          --output-path="$REPORTS/$name-$form-$run" \
          --only-categories=performance,accessibility,best-practices,seo \
          --chrome-flags="$CHROME_FLAGS" >/dev/null && break
        [[ $attempt == 3 ]] && exit 1
        echo "    Lighthouse failed; running it again"
      done
    done
  done
done

echo "  vnu on ${#PAGES[@]} pages"
(cd "$REPORTS" && java -Xss2m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -jar \
  "$OLDPWD/node_modules/vnu-jar/build/dist/vnu.jar" --format json --stdout --exit-zero-always \
  $(for page in "${PAGES[@]}"; do read -r name _ <<<"$page"; echo "$name.html"; done)) >"$REPORTS/vnu.json"

$PY bench/audit_report.py "$REPORTS" "$RESULTS" "$RUNS" "${PAGES[@]}"
