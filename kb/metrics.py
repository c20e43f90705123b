"""Prometheus metrics at /metrics, for operators, behind a token (#15).

What is measured, and where:

- every request (kb.middleware.RequestLogMiddleware, which times it anyway):
  latency by view and method, responses by view, method and status, and what
  the page cache did for it (hit, miss, unavailable; articles/caching.py
  leaves its answer on the request);
- requests that reach the database (kb.middleware.QueryBudgetMiddleware,
  below the page cache): database time and number of queries per request, by
  view;
- searches: `observe_search()`, for the search code to call with its time and
  its number of results (zero-result searches are counted apart);
- the connection pool of this process (psycopg_pool's stats): connections
  open, idle, the configured maximum and requests waiting for one; and
  whether the process is failing fast for a database it found down
  (kb/dbguard.py).

Labels are route names ("articles:article_detail"), never raw paths, so their
number is bounded by the URL configuration.

gunicorn runs several processes: with PROMETHEUS_MULTIPROC_DIR set (gunicorn.conf.py
sets one up when it is not), each process writes its values to files there
and a scrape, answered by whichever process, adds them up. Without it (runserver,
one process) the values are that process's own.

Not public: /metrics answers only with `Authorization: Bearer <METRICS_TOKEN>`
(compared in constant time), and is a 404 when METRICS_TOKEN is unset. It is
answered with the health probes, before host validation, so a scraper can use
the container's own address.
"""

import functools
import hmac
import os
import time
from contextlib import ExitStack, contextmanager

from django.conf import settings
from django.db import connections
from django.http import HttpResponse
from django.urls import Resolver404, resolve
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

_SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_COUNTS = (0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233)

REQUEST_SECONDS = Histogram(
    "kb_request_duration_seconds", "Time to answer a request, by view.", ["view", "method"], buckets=_SECONDS
)
RESPONSES = Counter("kb_responses", "Responses, by view and status.", ["view", "method", "status"])
DB_SECONDS = Histogram(
    "kb_request_db_duration_seconds", "Database time of one request, by view.", ["view"], buckets=_SECONDS
)
DB_QUERIES = Histogram("kb_request_db_queries", "Database queries of one request, by view.", ["view"], buckets=_COUNTS)
PAGE_CACHE = Counter("kb_page_cache_lookups", "Page cache lookups, by result (hit, miss, unavailable).", ["result"])
SEARCH_SECONDS = Histogram("kb_search_duration_seconds", "Time to answer a search.", ["kind"], buckets=_SECONDS)
SEARCHES = Counter("kb_searches", "Searches answered.", ["kind"])
ZERO_RESULT_SEARCHES = Counter("kb_search_zero_results", "Searches that found nothing.", ["kind"])
POOL = Gauge(
    "kb_db_pool_connections",
    "Connection pool: open (size), idle (available), the maximum (max), requests waiting for one (waiting).",
    ["alias", "state"],
    multiprocess_mode="livesum",
)
DB_FAILING_FAST = Gauge(
    "kb_db_failing_fast",
    "1 while a process fails requests fast because it found the database down (kb/dbguard.py).",
    multiprocess_mode="livemax",
)

_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
_NOT_LOOKED_UP = object()


def view_name(request) -> str:
    """The route name that answered, resolved from the path for requests answered before routing (cache hits)."""
    match = getattr(request, "resolver_match", None)
    if match is not None:
        return match.view_name or "<unnamed>"
    return _route_of(request.path_info)


@functools.lru_cache(maxsize=4096)
def _route_of(path: str) -> str:
    if path.startswith("/" + settings.STATIC_URL.lstrip("/")):
        return "static"
    try:
        return resolve(path).view_name or "<unnamed>"
    except Resolver404:
        return "<unmatched>"


# The labelled series, kept: prometheus_client's labels() takes a lock and builds a key on every call,
# which was a third of the cost of observing a request. Bounded as the labels are.
_series: dict = {}


def _child(metric, *labels):
    key = (metric, labels)
    child = _series.get(key)
    if child is None:
        child = _series[key] = metric.labels(*labels)
    return child


def observe_request(request, response, seconds: float) -> None:
    observe_response(view_name(request), request.method, response.status_code, seconds)
    # articles/caching.py's lookup() leaves (key, version) after a lookup, None when Redis was unreachable.
    state = getattr(request, "_page_cache", _NOT_LOOKED_UP)
    if state is not _NOT_LOOKED_UP:
        if state is None:
            _child(PAGE_CACHE, "unavailable").inc()
        elif getattr(request, "_page_cache_entry", None) is not None:
            _child(PAGE_CACHE, "hit").inc()
        else:
            _child(PAGE_CACHE, "miss").inc()


def observe_response(view: str, method: str, status: int, seconds: float) -> None:
    """One response of `view`; also for answers given before Django runs (kb/throttle.py's replayed refusals)."""
    method = method if method in _METHODS else "other"
    _child(REQUEST_SECONDS, view, method).observe(seconds)
    _child(RESPONSES, view, method, str(status)).inc()


def observe_search(seconds: float, results: int, kind: str = "page") -> None:
    """For the search code: one search answered in `seconds` with `results` results ("page" or "api")."""
    SEARCH_SECONDS.labels(kind).observe(seconds)
    SEARCHES.labels(kind).inc()
    if not results:
        ZERO_RESULT_SEARCHES.labels(kind).inc()


@contextmanager
def database_time(request):
    """Count the queries and database time of the body (a request below the page cache)."""
    spent = [0, 0.0]

    def timed(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            spent[0] += 1
            spent[1] += time.perf_counter() - started

    try:
        with ExitStack() as stack:
            for alias in connections:
                stack.enter_context(connections[alias].execute_wrapper(timed))
            yield
    finally:
        view = view_name(request)
        _child(DB_QUERIES, view).observe(spent[0])
        _child(DB_SECONDS, view).observe(spent[1])
        if spent[0]:
            update_pool_gauges()


def update_pool_gauges() -> None:
    from django.db.backends.postgresql.base import DatabaseWrapper

    from kb.dbguard import breaker

    for alias, pool in list(getattr(DatabaseWrapper, "_connection_pools", {}).items()):
        stats = pool.get_stats()
        POOL.labels(alias, "size").set(stats.get("pool_size", 0))
        POOL.labels(alias, "available").set(stats.get("pool_available", 0))
        POOL.labels(alias, "max").set(stats.get("pool_max", 0))
        POOL.labels(alias, "waiting").set(stats.get("requests_waiting", 0))
    DB_FAILING_FAST.set(1 if breaker.is_open else 0)


def _authorized(request) -> bool:
    token = settings.METRICS_TOKEN
    given = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, credentials = given.partition(" ")
    return bool(token) and scheme.lower() == "bearer" and hmac.compare_digest(credentials.encode(), token.encode())


def metrics_view(request):
    """The Prometheus text format, for a scraper holding METRICS_TOKEN."""
    headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
    if not settings.METRICS_TOKEN:
        return HttpResponse(b"Not found\n", status=404, content_type="text/plain", headers=headers)
    if not _authorized(request):
        headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return HttpResponse(b"A metrics token is required\n", status=401, content_type="text/plain", headers=headers)
    update_pool_gauges()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    body = generate_latest(registry)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST, headers={**headers, "Content-Length": str(len(body))})
