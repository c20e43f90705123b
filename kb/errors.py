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


def database_unavailable(request) -> HttpResponse:
    # Rendered without the request: context processors would query the database.
    response = HttpResponse(loader.render_to_string("503.html"), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


def server_error(request) -> HttpResponse:
    """handler500: also reached when a middleware (sessions, auth) hits the unavailable database."""
    if isinstance(sys.exc_info()[1], DATABASE_UNAVAILABLE):
        return database_unavailable(request)
    return HttpResponseServerError(loader.render_to_string("500.html"))
