"""Expensive anonymous requests can't starve the cheap ones (#14).

An *expensive* request is one of EXPENSIVE_VIEWS with its parameter given
(an uncached search, the API's `q`): it may cost a hundred milliseconds of
PostgreSQL where a cached page costs a tenth of one. Two limits apply:

- **Per client, in Redis**: a generic cell rate algorithm (one key per client
  address, one round trip, Redis's clock) allows EXPENSIVE_RATE_PER_MINUTE on
  average with bursts of EXPENSIVE_RATE_BURST. Past it: 429 with
  `Retry-After`, a friendly page, or a problem document on the API. Signed-in
  users are not limited. The client address is the one django-axes uses
  (TRUSTED_PROXY_COUNT): X-Forwarded-For only behind trusted proxies.
  Without Redis (tests, `make run`) there is no rate limit; if Redis is
  unreachable the request goes through.
- **At once**: at most EXPENSIVE_CONCURRENCY_PER_PROCESS such requests run in
  one process (a semaphore; threaded workers) and EXPENSIVE_CONCURRENCY_PER_HOST
  on one machine (that many lock files, `flock`ed; gunicorn's sync workers are
  one request per process, so only a limit across them leaves workers free for
  cached pages). An excess request is answered 503 with `Retry-After` at once,
  never queued. A lock held by a process that dies is released by the kernel.

Pages the cache can serve are never counted: the limits apply only to
requests that reach the view.

**Refusing cheaply.** A flood does not stop at its first 429: a client that
ignores `Retry-After` keeps every worker busy with refusals, and a cached
page waits behind them for a worker (sync workers take connections in turn).
So each process remembers, for the rest of its wait, a client it refused
(`_blocked`), and `BlockedClientMiddleware`, just below the request log (so
each refusal is still logged), refuses that client's expensive requests again
with no Redis round trip (not even the page cache's), no session, no routing
and no template (the page is rendered once per Retry-After value). The
refusal passes through the security-header middleware alone
(HEADER_MIDDLEWARE), so it carries the same headers. A client is remembered by each process that refused it, only while
its wait lasts; a signed-in user's request (a session cookie) is never
refused there. Unlike the first refusal, these are refused even when the page
cache holds the page asked for. And since even that cost what serving a
cached page does, the first such refusal of each kind is recorded as it left
Django and kb/wsgi.py replays it, before Django runs, to later expensive
requests of remembered clients ("refused again, before Django" below).
"""

import fcntl
import functools
import hashlib
import json
import logging
import math
import os
import tempfile
import threading
import time
from pathlib import Path

from django.conf import settings
from django.core.cache import caches
from django.http import HttpResponse
from django.template import loader
from redis.exceptions import RedisError

logger = logging.getLogger("kb.throttle")

# One key per client: KEYS[1]; ARGV: emission interval and tolerance in microseconds.
# Returns 0 when allowed, else the microseconds to wait.
_GCRA = """
local now = redis.call('TIME')
now = tonumber(now[1]) * 1000000 + tonumber(now[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
if tat - now > tolerance then return tat - now - tolerance end
redis.call('SET', KEYS[1], tat + interval, 'PX', math.ceil((tat + interval - now) / 1000) + 1000)
return 0
"""


# ---------------------------------------------------------------- what is expensive


def is_expensive(request, view_name: str | None) -> bool:
    parameter = settings.EXPENSIVE_VIEWS.get(view_name or "")
    return parameter is not None and bool(request.GET.get(parameter, "").strip())


def client_address(request) -> str:
    """The client's address as django-axes resolves it (through django-ipware, TRUSTED_PROXY_COUNT proxies)."""
    headers = tuple(request.META.get(name) for name in settings.AXES_IPWARE_META_PRECEDENCE_ORDER)
    key = (headers, tuple(settings.AXES_IPWARE_META_PRECEDENCE_ORDER), settings.AXES_IPWARE_PROXY_COUNT)
    return _address_from(key) or request.META.get("REMOTE_ADDR") or "unknown"


@functools.lru_cache(maxsize=4096)
def _address_from(key) -> str | None:
    # ipware reads only the headers it is told to, but folds every header of the request first: 60-100 µs
    # a request, a third of what refusing a flooding client costs. The same headers give the same address.
    from types import SimpleNamespace

    from axes.helpers import get_client_ip_address

    headers, names, _ = key
    meta = {name: value for name, value in zip(names, headers, strict=True) if value is not None}
    return get_client_ip_address(SimpleNamespace(META=meta))


# ---------------------------------------------------------------- per client, in Redis


def wait_seconds(client: str, *, rate: int | None = None, burst: int | None = None, scope: str = "throttle") -> float:
    """0 if `client` may make an expensive request now (and counts it), else the seconds until it may.

    Other limits (kb/csp_reports.py) pass their own rate a minute, burst and
    scope, the key prefix that keeps their counts apart from this one's.
    """
    rate = settings.EXPENSIVE_RATE_PER_MINUTE if rate is None else rate
    burst = settings.EXPENSIVE_RATE_BURST if burst is None else burst
    backend = caches["default"]
    if rate <= 0 or not hasattr(backend, "redis"):
        return 0.0
    interval = 60_000_000 // rate
    key = backend.make_and_validate_key(f"{scope}:{hashlib.sha256(client.encode()).hexdigest()[:32]}")
    try:
        waited = backend.redis().eval(_GCRA, 1, key, interval, interval * max(burst - 1, 0))
    except (RedisError, OSError):
        logger.warning("Rate limit unavailable (Redis unreachable); request allowed", exc_info=True)
        return 0.0
    return int(waited) / 1_000_000


# ---------------------------------------------------------------- at once


class Slots:
    """At most `size` holders at once across the processes sharing `directory`, via `flock` on `size` files."""

    def __init__(self, directory: Path, size: int):
        self.directory, self.size = directory, size
        directory.mkdir(parents=True, exist_ok=True)

    def acquire(self):
        """An open file holding a slot, or None when all are taken. Never waits."""
        for number in range(self.size):
            handle = open(self.directory / f"slot-{number}", "a+b")  # noqa: SIM115 (held until release)
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            return handle
        return None

    @staticmethod
    def release(handle) -> None:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


_process_slots = None
_host_slots = None
_setup_lock = threading.Lock()


def _limits():
    global _process_slots, _host_slots
    if _process_slots is None:
        with _setup_lock:
            if _process_slots is None:
                # One directory per gunicorn master (the workers' parent). pytest-xdist's workers share a
                # parent too, but each is a server of its own: one test's search must not make another's busy.
                server = f"{os.getppid()}{os.environ.get('PYTEST_XDIST_WORKER', '')}"
                directory = settings.EXPENSIVE_SLOTS_DIR or os.path.join(
                    tempfile.gettempdir(), f"kb-expensive-{server}"
                )
                _host_slots = Slots(Path(directory), settings.EXPENSIVE_CONCURRENCY_PER_HOST)
                _process_slots = threading.BoundedSemaphore(settings.EXPENSIVE_CONCURRENCY_PER_PROCESS)
    return _process_slots, _host_slots


def reset_limits() -> None:
    """Forget the limits built from settings (tests change them), and which clients are refused."""
    global _process_slots, _host_slots, _expensive_paths
    _process_slots = _host_slots = _expensive_paths = None
    with _blocked_lock:
        _blocked.clear()
    _pages.clear()
    _replies.clear()


# ---------------------------------------------------------------- refused again, cheaply

# Client address -> time.monotonic() until which this process refuses its expensive requests.
_blocked: dict[str, float] = {}
_blocked_lock = threading.Lock()
_BLOCKED_MAX = 10_000  # clients remembered at once; past it the expired ones are swept, then the oldest
_expensive_paths: dict[str, str] | None = None


def remember_refused(client: str, seconds: float) -> None:
    until = time.monotonic() + seconds
    with _blocked_lock:
        if len(_blocked) >= _BLOCKED_MAX:
            now = time.monotonic()
            for key in [key for key, ends in _blocked.items() if ends <= now] or list(_blocked)[: _BLOCKED_MAX // 10]:
                del _blocked[key]
        _blocked[client] = until


def refused_for(client: str) -> float:
    """Seconds this process still refuses `client`'s expensive requests (0: not refused)."""
    until = _blocked.get(client)
    if until is None:
        return 0.0
    left = until - time.monotonic()
    if left <= 0:
        with _blocked_lock:
            if _blocked.get(client) == until:
                del _blocked[client]
        return 0.0
    return left


def expensive_parameter(path: str) -> str | None:
    """The parameter that makes a request for `path` expensive, if its view is one of EXPENSIVE_VIEWS."""
    global _expensive_paths
    if _expensive_paths is None:
        from django.urls import NoReverseMatch, reverse

        paths = {}
        for view_name, parameter in settings.EXPENSIVE_VIEWS.items():
            try:
                paths[reverse(view_name)] = parameter
            except NoReverseMatch:
                continue
        _expensive_paths = paths
    return _expensive_paths.get(path)


# The middleware that add the security headers (kb/settings.py): a refusal from memory passes through these
# alone, in the order MIDDLEWARE lists them (tests/test_throttle_refusals.py compares it with a full-path 429).
HEADER_MIDDLEWARE = (
    "django.middleware.security.SecurityMiddleware",
    "kb.headers.SecurityHeadersMiddleware",
    "kb.middleware.CSPMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
)


def _with_headers(answer):
    from django.core.handlers.exception import convert_exception_to_response
    from django.utils.module_loading import import_string

    handler = convert_exception_to_response(answer)
    for path in reversed([name for name in settings.MIDDLEWARE if name in HEADER_MIDDLEWARE]):
        handler = convert_exception_to_response(import_string(path)(handler))
    return handler


class BlockedClientMiddleware:
    """Refuses a remembered client's expensive requests before anything else runs (see the module's docstring)."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.refuse = _with_headers(lambda request: too_many(request, request._kb_refused_for))

    def __call__(self, request):
        seconds = remembered_refusal(request)
        if seconds > 0:
            request._kb_refused_for = seconds
            # kb/wsgi.py records this refusal as it leaves Django, to replay it (see "before Django").
            request.environ[REPLAY_KEY] = _reply_key(request, seconds)
            return self.refuse(request)
        return self.get_response(request)


def remembered_refusal(request) -> float:
    """Seconds this process still refuses `request` from memory: a remembered client's expensive request, unsigned."""
    if _blocked and settings.SESSION_COOKIE_NAME not in request.COOKIES:
        parameter = expensive_parameter(request.path_info)
        if parameter is not None and request.GET.get(parameter, "").strip():
            return refused_for(client_address(request))
    return 0.0


# ---------------------------------------------------------------- refused again, before Django
#
# Even from memory, a refusal through Django cost what serving a cached page does (150 µs in-process: the
# request signals, the middleware above, the header middleware setting a dozen headers one by one), four
# times /livez: under 8 clients flooding searches, a cached page's p95 was 2.6-3.1 times its idle value. So
# the first refusal from memory of each kind is recorded in each process as it left Django (status, headers
# and body), and kb/wsgi.py replays it to later expensive requests of remembered clients before Django runs,
# each with its own request id, log line and metrics. The request is read by Django's own request class and
# judged by remembered_refusal(), as the middleware judges it; a kind is what the reply depends on: the path
# (page or API), the scheme (HSTS) and the Retry-After. Anything else goes through Django.

REPLAY_KEY = "kb.refused"  # in the environ of a refusal from memory: its _reply_key()
_replies: dict[tuple, tuple[str, list[tuple[str, str]], bytes]] = {}
_REPLIES_MAX = 512  # two paths, two schemes, Retry-After up to 60 s by default; bounded whatever the settings


def _reply_key(request, seconds: float) -> tuple:
    return (request.path_info, request.is_secure(), _retry_after(seconds))


def record_reply(key, status: str, headers: list[tuple[str, str]], body: bytes) -> None:
    """Keep Django's refusal for `key` (REPLAY_KEY's value), without what is the request's own."""
    if not status.startswith("429"):
        return  # not a refusal after all (an HTTPS redirect, a bad request): never replayed
    if any(name.lower() == "set-cookie" for name, _ in headers):
        return  # a cookie is some client's own (none is set today)
    if len(_replies) < _REPLIES_MAX:
        _replies[key] = (status, [(name, value) for name, value in headers if name != "X-Request-ID"], body)


def replay_refusal(environ, start_response):
    """The WSGI answer to a remembered client's expensive request, when it can be given without Django; else None."""
    # Other pages (a cached page while a flood is refused) pay nothing more: no request object is made for them.
    if not _blocked or not _replies or expensive_parameter(environ.get("PATH_INFO", "")) is None:
        return None
    from django.core.exceptions import SuspiciousOperation
    from django.core.handlers.wsgi import WSGIRequest

    from kb import metrics
    from kb.middleware import log_request, request_id_from

    started = time.perf_counter()
    request = WSGIRequest(environ)
    try:
        seconds = remembered_refusal(request)
    except SuspiciousOperation:  # a query string Django refuses (too many fields): Django answers it
        return None
    reply = _replies.get(_reply_key(request, seconds)) if seconds > 0 else None
    if reply is None:
        return None  # not refused, or not yet this kind: Django refuses it, and kb/wsgi.py records the reply
    status, headers, body = reply
    request_id = request_id_from(request)
    start_response(status, [*headers, ("X-Request-ID", request_id)])
    elapsed, code = time.perf_counter() - started, int(status[:3])
    metrics.observe_response(metrics.view_name(request), request.method, code, elapsed)
    log_request(request_id=request_id, method=request.method, path=request.path, status=code, seconds=elapsed)
    return [] if request.method == "HEAD" else [body]


class Held:
    def __init__(self, semaphore, handle):
        self.semaphore, self.handle = semaphore, handle

    def release(self) -> None:
        Slots.release(self.handle)
        self.semaphore.release()


def try_start():
    """A `Held` to release when the request ends, or None when too many expensive requests are running."""
    semaphore, slots = _limits()
    if not semaphore.acquire(blocking=False):
        return None
    handle = slots.acquire()
    if handle is None:
        semaphore.release()
        return None
    return Held(semaphore, handle)


# ---------------------------------------------------------------- answers


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def _problem(status: int, detail: str) -> HttpResponse:
    from http import HTTPStatus

    body = {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status, "detail": detail}
    return HttpResponse(json.dumps(body), status=status, content_type="application/problem+json")


# Rendered 429 pages by Retry-After: a flood is answered without rendering a template each time.
_pages: dict[int, str] = {}


def _retry_after(seconds: float) -> int:
    return max(1, math.ceil(seconds))


def too_many(request, seconds: float) -> HttpResponse:
    retry = _retry_after(seconds)
    if _is_api(request):
        response = _problem(429, f"Too many searches from your address. Try again in {retry} seconds.")
    else:
        page = _pages.get(retry)
        if page is None:
            page = loader.render_to_string("429.html", {"retry_after": retry})
            if len(_pages) < 128:
                _pages[retry] = page
        response = HttpResponse(page, status=429)
    response["Retry-After"] = str(retry)
    response["Cache-Control"] = "no-store"
    return response


def busy(request) -> HttpResponse:
    retry = settings.EXPENSIVE_BUSY_RETRY_AFTER
    if _is_api(request):
        response = _problem(503, "The server is busy with other searches. Try again in a moment.")
    else:
        response = HttpResponse(loader.render_to_string("503_busy.html", {"retry_after": retry}), status=503)
    response["Retry-After"] = str(retry)
    response["Cache-Control"] = "no-store"
    return response


class ExpensiveRequestMiddleware:
    """Applies both limits to expensive requests, after routing (process_view) and before the view runs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            return self.get_response(request)
        finally:
            held = getattr(request, "_kb_expensive_slot", None)
            if held is not None:
                request._kb_expensive_slot = None
                held.release()

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if match is None or not is_expensive(request, match.view_name):
            return None
        if _served_from_cache(request, view_func):
            return None
        user = getattr(request, "user", None)
        if not (user is not None and user.is_authenticated):
            client = client_address(request)
            seconds = wait_seconds(client)
            if seconds > 0:
                remember_refused(client, seconds)
                logger.info(
                    "Rate limited: %s",
                    match.view_name,
                    extra={"query_kind": match.view_name, "retry_after": math.ceil(seconds)},
                )
                return too_many(request, seconds)
        held = try_start()
        if held is None:
            logger.warning(
                "Too many expensive requests at once: %s", match.view_name, extra={"query_kind": match.view_name}
            )
            return busy(request)
        request._kb_expensive_slot = held
        return None


def _served_from_cache(request, view_func) -> bool:
    if not getattr(view_func, "page_cached", False) or not settings.PAGE_CACHE or request.method not in ("GET", "HEAD"):
        return False
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return False
    from articles import caching

    return caching.lookup(request) is not None
