"""Calling kb.wsgi.application as a WSGI server does (gunicorn), without Django's test client in between."""

import io
from wsgiref.util import setup_testing_defaults

from django.core.signals import request_finished, request_started
from django.db import close_old_connections

# Imported with the test modules: kb.wsgi sets Django up, which configures logging anew, and inside a test
# that would drop the handler pytest's caplog listens with.
import kb.wsgi


def call(method: str, path: str, query: str = "", **environ) -> tuple[str, dict, bytes]:
    """(status line, headers, body) of one request; `environ` adds or replaces WSGI variables."""
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "HTTP_HOST": "testserver",
        "wsgi.input": io.BytesIO(),
        **environ,
    }
    setup_testing_defaults(environ)
    started = {}

    def start_response(status, headers, exc_info=None):
        started.update(status=status, headers=dict(headers))

    # As Django's test client does: the test's transaction must keep its connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        result = kb.wsgi.application(environ, start_response)
        try:
            body = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return started["status"], started["headers"], body
