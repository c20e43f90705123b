"""Error responses that must work when the database does not."""

import logging
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, HttpResponseServerError
from django.template import loader

logger = logging.getLogger("kb.errors")

# What psycopg and the connection pool raise (wrapped by Django) when PostgreSQL
# is down, restarting or unreachable: the request could not be served now but
# may be in a moment, which is a 503, not a bug (500).
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 10


def is_too_expensive(exception) -> bool:
    """A query PostgreSQL cancelled (statement_timeout, or the request's deadline), or one never sent for lack of time.

    Not an outage: the database is there, this request asked too much of it.
    """
    from psycopg.errors import QueryCanceled

    from kb.deadline import RequestTooExpensive

    return isinstance(exception, RequestTooExpensive) or isinstance(
        getattr(exception, "__cause__", None), QueryCanceled
    )


def query_kind(request) -> str:
    """What the request was, for the log: its view's name (e.g. "search:search"), else its path."""
    match = getattr(request, "resolver_match", None)
    return (match.view_name if match is not None else None) or request.path


def too_expensive(request, exception) -> HttpResponse:
    """504 with its own page: this request was cut off for costing too much. No Retry-After, because
    retrying the same request costs the same; the page suggests narrowing it instead."""
    log_too_expensive(request, exception)
    response = HttpResponse(loader.render_to_string("504.html"), status=504)
    response["Cache-Control"] = "no-store"
    return response


def log_too_expensive(request, exception) -> None:
    from kb.deadline import remaining_ms

    left = remaining_ms()
    logger.warning(
        "Request too expensive: %s (%s)",
        query_kind(request),
        "request deadline" if left is not None and left <= 0 else "statement timeout",
        extra={
            "query_kind": query_kind(request),
            "cause": type(getattr(exception, "__cause__", None) or exception).__name__,
            "path": request.path,
        },
    )


def database_unavailable(request) -> HttpResponse:
    # Rendered without the request: context processors would query the database.
    response = HttpResponse(loader.render_to_string("503.html"), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


def server_error(request) -> HttpResponse:
    """handler500: also reached when a middleware (sessions, auth) hits the unavailable database."""
    if is_too_expensive(sys.exc_info()[1]):
        return too_expensive(request, sys.exc_info()[1])
    if isinstance(sys.exc_info()[1], DATABASE_UNAVAILABLE):
        from kb.dbguard import breaker

        breaker.trip()  # the next requests fail fast until it answers
        return database_unavailable(request)
    return HttpResponseServerError(loader.render_to_string("500.html"))
