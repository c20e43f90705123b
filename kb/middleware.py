"""Request logging, clean failure while the database is down or a request costs too much, and a cheaper CSP header."""

import functools
import logging
import re
import time
import uuid

import csp.constants
import csp.middleware
import csp.utils
from django.conf import settings
from django.shortcuts import render
from django.urls import reverse
from django.utils.functional import empty

from kb import dbguard, deadline, errors, metrics
from kb.jsonlog import current_request_id

request_logger = logging.getLogger("kb.request")

# An id from the proxy or the client is kept only if it is short and plain:
# it is echoed in a header and written to the logs, so nothing that could
# split a header or forge a log field gets through.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")


def request_id_from(request) -> str:
    given = request.META.get("HTTP_X_REQUEST_ID", "")
    return given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


def log_request(*, request_id: str, method: str, path: str, status: int, seconds: float, user_id=None) -> None:
    """The request's JSON line (also written for answers given before Django runs: kb/throttle.py)."""
    request_logger.info(
        "%s %s %s",
        method,
        path,
        status,
        extra={
            "request_id": request_id,
            "method": method,
            "path": path,
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
            "user_id": user_id,
        },
    )


def _user_id(request):
    # Only a user that the request already looked up: evaluating the lazy user
    # here would cost a session query on requests that never needed one (and
    # fail while the database is down).
    user = getattr(request, "user", None)
    if user is None or getattr(user, "_wrapped", None) is empty:
        return None
    return user.pk if user.is_authenticated else None


class RequestLogMiddleware:
    """One JSON line per request (time, id, method, path, status, duration, user), and X-Request-ID echoed."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        request.request_id = request_id_from(request)
        token = current_request_id.set(request.request_id)
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request.request_id
            seconds = time.perf_counter() - started
            metrics.observe_request(request, response, seconds)
            log_request(
                request_id=request.request_id,
                method=request.method,
                path=request.path,
                status=response.status_code,
                seconds=seconds,
                user_id=_user_id(request),
            )
            return response
        finally:
            current_request_id.reset(token)


class QueryBudgetMiddleware:
    """Bounds the database time of the whole request, not only each statement (kb/deadline.py)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with deadline.request_deadline(), metrics.database_time(request):
            return self.get_response(request)


class DatabaseUnavailableMiddleware:
    """A view that cannot reach PostgreSQL answers 503 with the site's page, and the next request tries again.

    Nothing needs restarting: the connection pool drops broken connections and
    opens new ones once the database is back.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if errors.is_too_expensive(exception):
            # The database is fine; this request asked too much of it (kb/deadline.py).
            return errors.too_expensive(request, exception)
        if isinstance(exception, errors.DATABASE_UNAVAILABLE):
            if dbguard.breaker.is_open:
                # Known already: one line, not a traceback per request for the whole outage.
                errors.logger.warning("Database unavailable (failing fast): %s", type(exception).__name__)
            else:
                errors.logger.error("Database unavailable: %s", exception, exc_info=exception)
            dbguard.breaker.trip()  # the next requests fail fast until it answers (kb/dbguard.py)
            return errors.database_unavailable(request)
        return None


_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _has_nul(request) -> bool:
    if any("\x00" in name or "\x00" in value for name, value in request.COOKIES.items()):
        return True
    # The public pages read their parameters through forms and their paths through converters, which
    # refuse a NUL themselves (a 404 saying so); the admin's own views read them raw.
    if not request.path_info.startswith(_admin_prefix()):
        return False
    query = request.META.get("QUERY_STRING", "")
    if "%00" in query or "\x00" in query or "\x00" in request.path_info:
        return True
    if request.method == "POST" and request.content_type in _FORM_TYPES:
        # The form's fields, not uploaded files (whose bytes may hold anything).
        return any("\x00" in name or any("\x00" in value for value in values) for name, values in request.POST.lists())
    return False


@functools.cache
def _admin_prefix() -> str:
    return reverse("admin:index")


class NulByteMiddleware:
    """A NUL byte in a cookie, or in the admin's address or forms, answers 400 with the site's page (#15).

    No text the site stores or looks up may hold one: PostgreSQL refuses it in
    any string, so a NUL reaching a query (the admin's search and autocomplete,
    a list filter, a session cookie) would otherwise fail as a 500. Forms
    already refuse it field by field; this covers every parameter that is not
    read through one, in one place.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if _has_nul(request):
            request_logger.info("Refused a NUL byte", extra={"path": request.path.replace("\x00", "\\x00")})
            response = render(request, "400.html", status=400)
            response["Cache-Control"] = "no-store"
            return response
        return self.get_response(request)


_CSP_OVERRIDES = tuple(
    f"_csp_{name}{suffix}" for name in ("exempt", "config", "update", "replace") for suffix in ("", "_ro")
)


class CSPMiddleware(csp.middleware.CSPMiddleware):
    """django-csp's middleware, with the site-wide policy built once rather than for every response.

    Building the header costs about 0.2 ms a response (a dataclass copy and a
    string join per directive), a sixth of serving a cached page. Any response
    the site-wide policy does not fully describe — a nonce, a per-view
    override or exemption, a report-only policy, DEBUG — goes through
    django-csp's own code unchanged.
    """

    def __init__(self, get_response):
        super().__init__(get_response)
        self._policy = None

    def process_response(self, request, response):
        if (
            settings.DEBUG
            or getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None)
            or getattr(request, "_csp_nonce", None) is not None
            or csp.constants.HEADER in response
            or any(hasattr(response, name) for name in _CSP_OVERRIDES)
        ):
            return super().process_response(request, response)
        prefixes = tuple(settings.CONTENT_SECURITY_POLICY.get("EXCLUDE_URL_PREFIXES") or ())
        if not request.path_info.startswith(prefixes):
            if self._policy is None:
                self._policy = csp.utils.build_policy()
            response[csp.constants.HEADER] = self._policy
        # As django-csp does: a nonce asked for after the header is written could never be honoured.
        request.csp_nonce = csp.middleware.CheckableLazyObject(self._csp_nonce_post_response)
        return response
