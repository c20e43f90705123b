"""Liveness and readiness probes for load balancers and orchestrators.

`HealthCheckMiddleware` is the first middleware: it answers `/livez`,
`/readyz` and `/metrics` (kb/metrics.py, behind its token) before host
validation, HTTPS redirection and sessions, so a probe
that sends an internal address as its Host header, over plain HTTP, works.
The URL patterns in kb/urls.py name the same views, so tests and docs can use
`reverse()`; requests never reach them through the URL resolver.
"""

import time

import psycopg
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpResponse, JsonResponse
from django.urls import reverse
from psycopg_pool import PoolTimeout

from kb import dbguard, metrics

_PROBE_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}

# Once every migration is applied in this process it stays so: new migrations
# only arrive with new code, which means a new process. Caching the good answer
# keeps the probe to one query.
_migrations_checked = False


def livez(request):
    """The process is up and serving: no database, no templates."""
    return HttpResponse(b"ok\n", content_type="text/plain", headers={**_PROBE_HEADERS, "Content-Length": "3"})


# Orchestrators give a probe about a second: the answer must come within it, whatever the database does.
READYZ_TIMEOUT_SECONDS = 0.8


def readyz(request):
    """Ready for traffic: the database answers (within READYZ_TIMEOUT_SECONDS) and its schema matches the code."""
    if dbguard.breaker.is_open:
        # Known down, and a probe is on it (kb/dbguard.py): no need to wait to say so.
        return _unavailable("database unreachable (failing fast until it answers)")
    try:
        _select_one()
        pending = unapplied_migrations()
    except (DatabaseError, PoolTimeout, psycopg.Error) as error:
        dbguard.breaker.trip()
        return _unavailable(f"database unreachable ({type(error).__name__})")
    if pending:
        return _unavailable("unapplied migrations", migrations=pending)
    return _json({"status": "ok"})


def _select_one() -> None:
    pool = connection.pool if connection.vendor == "postgresql" else None
    if pool is None:  # SQLite (`make run`): a file, nothing to wait on
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return
    # From the pool the site uses, with the probe's own short wait, not a request's DB_POOL_TIMEOUT;
    # the pool's check and the query are each bounded by the watchdog (kb/dbguard.py).
    started = time.monotonic()
    dbguard.install(pool)
    pool.open()
    with pool.connection(timeout=READYZ_TIMEOUT_SECONDS / 2) as conn:
        left = max(0.05, READYZ_TIMEOUT_SECONDS - (time.monotonic() - started))
        with dbguard.guard_connection(conn, left):
            conn.execute("SELECT 1")


def unapplied_migrations() -> list[str]:
    global _migrations_checked
    if _migrations_checked:
        return []
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    pending = [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]
    _migrations_checked = not pending
    return pending


def _unavailable(reason, **details):
    return _json({"status": "unavailable", "reason": reason, **details}, status=503)


def _json(data, status=200):
    # Sent before CommonMiddleware would add the length; without it the server would use chunked encoding.
    response = JsonResponse(data, status=status, headers=_PROBE_HEADERS)
    response["Content-Length"] = str(len(response.content))
    return response


class HealthCheckMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self._probes = None

    def __call__(self, request):
        if self._probes is None:
            self._probes = {
                reverse("livez"): livez,
                reverse("readyz"): readyz,
                reverse("metrics"): metrics.metrics_view,
            }
        probe = self._probes.get(request.path_info)
        if probe is not None:
            return probe(request)
        return self.get_response(request)
