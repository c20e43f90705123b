"""A server-side cache of public pages that is never stale.

`cache_public_page` wraps the reader views (home, category, tag, article,
search). For anonymous readers a page is stored under its absolute URL and the
*release* (a fingerprint of the code, templates and static files, so that a
deploy never serves HTML from the previous release: with Redis, entries
outlive processes), together with the *content version* it was rendered at.

The content version is a counter in the cache that every change to an
article, category, tag, tagging or author increments (articles/signals.py).
An entry is served only while its version is still the current one, so the
very next request after a change renders afresh.

Where a hit's time goes, and how little of it is left: each process keeps
copies of the entries it serves (`_local_entries`), so only the version has to
be known; with Redis, `version_watch` knows it without asking, because Redis
pushes a message the moment it changes. A hit then needs no network at all.
Without a copy, one round trip (MGET) reads both the version and the entry.

No entry outlives the next scheduled publication: its timeout is capped at the
seconds until the earliest scheduled article becomes public, because nothing is
saved at that moment to change the version.

`PageCacheMiddleware` serves hits early, before sessions, authentication and
URL routing, to requests without a session cookie (nobody without one can be
signed in); the decorator stores pages and serves everyone else. Higher up,
`SentPageMiddleware` serves a page as this process last sent it, security
headers included, without the middleware in between. Signed-in users (staff
see draft banners and edit links) never read or write the cache, and neither
does any response that is not a plain 200 or that sets a cookie.

Entries are stored compressed (kb/compression.py): brotli and gzip, once,
when stored, beside the page itself, each sent as is to the clients that
accept it. A hit spends no CPU on compression.

Every response from these views carries Cache-Control; cacheable ones also
an ETag and Last-Modified, which ConditionalGetMiddleware compares with
If-None-Match / If-Modified-Since to answer 304. Last-Modified is when the
content shown last changed, not when the entry was built (`_last_modified`),
so it stays the same across rebuilds for as long as the page does.

If the cache is unreachable, pages are rendered uncached. A change saved
meanwhile could not bump the version, and entries stored before it would match
again once the cache is back; so a process that found the cache unreachable
(its own bump failed, a read or store was refused, its version watch lost its
connection; not a mere timeout) bumps the version as soon as it reaches it
again, before it serves anything from it (`_recover`).
"""

import functools
import hashlib
import logging
import math
import time
from contextlib import nullcontext
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.core.cache import cache, caches
from django.db import transaction
from django.db.models import Min
from django.http import HttpResponse
from django.utils import timezone
from django.utils.cache import patch_cache_control, patch_vary_headers, set_response_etag
from django.utils.http import http_date, parse_http_date_safe
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeout

from articles.version_watch import VersionWatch
from kb import compression
from kb.cache import RedisCache

logger = logging.getLogger("articles.caching")

VERSION_KEY = "content-version"
CHANGED_AT_KEY = "content-changed-at"
CACHE_ERRORS = (RedisError, OSError)
# Headers that belong to the page itself; the rest (security headers, the
# request id) are added to every response by middleware.
_STORED_HEADERS = {
    "content-type",
    "content-language",
    "x-robots-tag",
    "link",
    # Set by `_public` before storing, so a hit served by PageCacheMiddleware needs nothing more.
    # (The ETag is kept apart: each encoding has its own.)
    "last-modified",
    "cache-control",
    "vary",
}


# --- The content version -----------------------------------------------------


def content_version() -> int:
    version = cache.get(VERSION_KEY)
    if version is None:
        version = _start_version()
    return version


def _start_version() -> int:
    # Missing on first use, or after an eviction or a Redis restart. Counting
    # from the clock in nanoseconds means the new counter can never reach a
    # value that entries still in the cache were stored under.
    cache.add(VERSION_KEY, time.time_ns(), timeout=None)
    return cache.get(VERSION_KEY)


def _new_version() -> None:
    try:
        cache.incr(VERSION_KEY)
    except ValueError:  # no counter yet: a fresh one differs from every old value
        _start_version()
    cache.set(CHANGED_AT_KEY, time.time(), timeout=None)
    # Every entry older than this version is dead, whatever this process missed before.
    global _missed_changes
    _missed_changes = False


def _bump() -> None:
    try:
        _new_version()
    except CACHE_ERRORS:
        cache_unreachable()
        logger.exception("Could not invalidate cached pages: the cache is unreachable; will when it is back")


# Whether this process found the cache unreachable since it last started a version. A change saved
# meanwhile, here or in another process, may not have bumped the version; `_recover` makes up for it.
_missed_changes = False


def cache_unreachable(error: BaseException | None = None) -> None:
    """Note that this process could not reach the cache (`error`: what a read or a store raised).

    A read or store that merely timed out is not counted: Redis was there but
    slow, and counting it would make every slow moment invalidate every page,
    which makes the next moments slower still. A bump that timed out counts
    (`_bump` passes no error), as does a lost connection.
    """
    global _missed_changes
    if not isinstance(error, RedisTimeout):
        _missed_changes = True


def _recover() -> None:
    """Start a new version, once the cache answers again after this process found it unreachable.

    Not only the process whose bump failed: every one that noticed the outage
    does it (each bump costs every page one render), so the bump is not lost
    if that one process has exited meanwhile.
    """
    _new_version()
    logger.info("Page cache reachable again: started a new content version")


def content_changed() -> None:
    """Make the next request for any page render afresh.

    Bumped at once, so this process (and a test, whose transaction never
    commits) sees it, and again when the transaction commits: a page rendered
    from the data as it was before the commit, by a request that already saw
    the first bump, must not stay cached.
    """
    _bump()
    connection = transaction.get_connection()
    if connection.in_atomic_block and not any(callback is _bump for _, callback, _ in connection.run_on_commit):
        transaction.on_commit(_bump)


# --- Keys and timeouts --------------------------------------------------------


@functools.cache
def _release() -> tuple[str, int]:
    digest, newest = hashlib.sha256(), 0
    base = Path(settings.BASE_DIR)
    # "search" too: the search page's code (and its analytics token's format) lives there since #13.
    for folder in ("kb", "articles", "search", "templates", "static"):
        for path in sorted((base / folder).rglob("*")):
            if path.suffix in {".py", ".html", ".css", ".js", ".svg", ".json"} and path.is_file():
                digest.update(str(path.relative_to(base)).encode())
                digest.update(path.read_bytes())
                newest = max(newest, int(path.stat().st_mtime))
    return digest.hexdigest()[:16], newest


def release() -> str:
    """Changes whenever code, templates or static files change, i.e. with every deploy that alters a page."""
    return _release()[0]


def release_time() -> int:
    """When the newest file of the release was written: no page of this release is older than that."""
    return _release()[1]


def page_key(request) -> str:
    url = hashlib.sha256(request.build_absolute_uri().encode()).hexdigest()
    return f"page:{release()}:{url}"


def seconds_until_next_publish() -> float | None:
    """Seconds until the earliest scheduled article becomes public, or None if none is scheduled.

    The complement of `Article.objects.published()` among published-status
    articles: the ones whose time has not come yet.
    """
    from articles.models import Article

    upcoming = Article.objects.filter(status=Article.Status.PUBLISHED, published_at__gt=timezone.now()).aggregate(
        at=Min("published_at")
    )["at"]
    return None if upcoming is None else (upcoming - timezone.now()).total_seconds()


def entry_timeout() -> int:
    """PAGE_CACHE_SECONDS, cut so that the entry is gone when the next scheduled article goes public."""
    timeout = settings.PAGE_CACHE_SECONDS
    until_publish = seconds_until_next_publish()
    if until_publish is not None:
        timeout = min(timeout, math.floor(until_publish))
    return timeout


# --- Serving and storing --------------------------------------------------------

_NOT_LOOKED_UP = object()


def lookup(request) -> dict | None:
    """The entry for this request if it is at the current content version, else None.

    Leaves `request._page_cache` as (key, version) for storing the page after
    a miss, or None when the cache is unreachable. Asked again for the same
    request, it answers from there without another round trip.
    """
    state = getattr(request, "_page_cache", _NOT_LOOKED_UP)
    if state is not _NOT_LOOKED_UP:
        return getattr(request, "_page_cache_entry", None)
    request._page_cache_entry = None
    try:
        key = page_key(request)
        local = _local_entries.get(key)
        if local is not None and local["expires_at"] <= time.time():
            local = None
        # With a copy in this process, the version alone decides, and the
        # watch usually knows it without asking Redis; otherwise it comes
        # with the page in one round trip.
        version = _watched_version() if local is not None else None
        if _missed_changes:  # found unreachable before, or by the watch just now
            _recover()
            version = None
        if version is None or version != local["version"]:
            # Ask Redis for the version, and for the page too unless this process's copy may still be current.
            found = cache.get_many([VERSION_KEY] if version is None and local is not None else [VERSION_KEY, key])
            version = found.get(VERSION_KEY)
            if version is None:
                version = _start_version()
            local = local if local is not None and local["version"] == version else None
    except CACHE_ERRORS as error:
        cache_unreachable(error)
        logger.warning("Page cache unreachable; rendering uncached", exc_info=True)
        request._page_cache = None
        return None
    request._page_cache = (key, version)
    entry = local if local is not None else found.get(key)
    if entry is None or entry["version"] != version:
        return None
    if entry is not local:
        _remember(key, entry)
    request._page_cache_entry = entry
    return entry


def _watched_version() -> int | None:
    """The content version as this thread's watch knows it without a round trip, or None (see version_watch)."""
    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        return None
    watch = getattr(backend, "_version_watch", None)
    if watch is None:
        watch = backend._version_watch = VersionWatch(
            backend.redis(),
            backend.make_and_validate_key(VERSION_KEY),
            lambda: backend.get(VERSION_KEY),
            on_lost=cache_unreachable,
        )
    return watch.version()


# This process's copies of hot entries. Each is served only after checking its
# version against the shared counter, so a copy can be old but never stale.
_local_entries: dict[str, dict] = {}
LOCAL_ENTRIES_MAX = 256


def _remember(key: str, entry: dict) -> None:
    if len(_local_entries) >= LOCAL_ENTRIES_MAX and key not in _local_entries:
        _local_entries.clear()  # crude but thread-safe; hot pages come back on their next hit
    _local_entries[key] = entry


def _may_share(request) -> bool:
    # Without a session cookie nobody can be signed in: the page is the one every anonymous reader gets.
    return (
        settings.PAGE_CACHE
        and request.method in ("GET", "HEAD")
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
    )


class SentPageMiddleware:
    """Serves a page exactly as this process last sent it, without the middleware below.

    Placed right below the request log, above the security headers. After a
    page from the cache (or one just stored in it) has passed out through the
    middleware below, this process keeps its copy with every header it left
    with: the security headers, CSP and X-Frame-Options as well as the page's
    own. The next request for the same absolute URL at the same content
    version, accepting the same encoding, gets those bytes and headers again,
    skipping eight middleware each way: a fifth of the cost of a hit.

    What makes the copy equal to what the middleware below would produce: the
    key holds the scheme, host, path and query, and the copy is kept per
    content coding, which is all those headers depend on for an anonymous GET
    without cookies; an http request that SECURE_SSL_REDIRECT turns away never
    yields a 200 to copy. Copies live in one process and die with it, so a
    deploy or configuration change that alters a header starts afresh.
    Conditional requests take the full path, where ConditionalGetMiddleware
    answers 304 and the security headers are added to it.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not _may_share(request):
            return self.get_response(request)
        entry = lookup(request)
        encoding = compression.request_encoding(request)
        if entry is not None and not _is_conditional(request):
            sent_headers = entry.get("sent", {}).get(encoding)
            if sent_headers is not None:
                response = HttpResponse(_body(entry, encoding), headers=sent_headers)
                response._page_cache_entry = entry
                return response
        response = self.get_response(request)
        sent = getattr(response, "_page_cache_entry", None)
        if (
            sent is not None
            and encoding not in sent.get("sent", {})
            and request.method == "GET"
            and response.status_code == 200
            and not response.cookies
            and request._page_cache is not None
        ):
            key, _version = request._page_cache
            _remember(key, {**sent, "sent": {**sent.get("sent", {}), encoding: list(response.items())}})
        return response


_CONDITIONAL = ("HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE", "HTTP_IF_MATCH", "HTTP_IF_UNMODIFIED_SINCE")


def _is_conditional(request) -> bool:
    return any(name in request.META for name in _CONDITIONAL)


class PageCacheMiddleware:
    """Serves cached pages before sessions, authentication and URL routing run.

    Only to requests without a session cookie (`_may_share`). Anything else
    (a miss, a session cookie) goes on to the view, where `cache_public_page`
    decides and stores. Entries hold every header the page needs
    (Cache-Control, ETag, Last-Modified, Vary) and the page in each encoding;
    the middleware above this one add the security headers, request id and
    304 handling, and CompressionMiddleware leaves the encoded page alone.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if _may_share(request):
            entry = lookup(request)
            if entry is not None:
                return _from_entry(entry, compression.request_encoding(request))
        return self.get_response(request)


def cache_public_page(view):
    """Serve the view's page to anonymous readers from the cache, storing it when it may be shared."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method not in ("GET", "HEAD"):
            return view(request, *args, **kwargs)
        if request.user.is_authenticated:
            response = _render(view(request, *args, **kwargs))
            patch_cache_control(response, private=True, no_cache=True)
            return response
        if not settings.PAGE_CACHE:
            return _public(_render(view(request, *args, **kwargs)))

        # Looked up already unless the request has a session cookie (or the middleware is not installed).
        entry = lookup(request)
        if entry is not None:
            return _from_entry(entry, compression.request_encoding(request))
        if request._page_cache is None:  # the cache is unreachable
            return _public(_render(view(request, *args, **kwargs)))

        key, version = request._page_cache
        with _fresh_reads():
            response = _public(_render(view(request, *args, **kwargs)), _validators_of(key))
            if _cacheable(request, response):
                timeout = entry_timeout()
                if timeout >= 1:
                    entry = _to_entry(response, version, timeout)
                    try:
                        cache.set(key, entry, timeout)
                        validators = {"etag": entry["etag"], "last_modified": entry["last_modified"]}
                        cache.set(_validators_key(key), validators, VALIDATORS_SECONDS)
                    except CACHE_ERRORS as error:
                        cache_unreachable(error)
                        logger.warning("Page cache unreachable; page not stored", exc_info=True)
                    else:
                        # Sent as every later hit will be: encoded for this client, with its ETag.
                        return _from_entry(entry, compression.request_encoding(request))
        return response

    # kb.throttle counts a request for this view only when the cache cannot answer it.
    wrapper.page_cached = True
    return wrapper


def _render(response):
    # Class-based views return a TemplateResponse; its body must exist to be hashed and stored.
    if hasattr(response, "render") and callable(response.render):
        response = response.render()
    return response


def _public(response, previous=None):
    # Signed-in users get other pages (draft banners, edit links) at the same URLs.
    patch_vary_headers(response, ["Cookie"])
    if response.status_code == 200 and not response.streaming:
        if not response.has_header("ETag"):
            set_response_etag(response)
        if not response.has_header("Last-Modified"):
            response["Last-Modified"] = http_date(_last_modified(response, previous))
    if not response.has_header("Cache-Control"):
        # Browsers and shared caches may keep the page but must ask again
        # (cheaply, with 304) before every use: nothing here may go stale.
        patch_cache_control(response, public=response.status_code == 200, max_age=0, must_revalidate=True)
    return response


# --- Last-Modified -----------------------------------------------------------------


# How long a page's ETag and Last-Modified are remembered, past its entry: while the page stays the
# same, rebuilding it after any number of changes elsewhere, or after its entry expired, keeps them;
# and a page that lost an article (unpublished, deleted) is newer than it was though nothing it still
# shows is. Without the memory (Redis flushed or evicted it), the content's own time is all there is.
VALIDATORS_SECONDS = 30 * 24 * 3600


def _validators_key(key: str) -> str:
    # Per URL, not per release: a deploy that changes a page's bytes is a change the memory must see.
    return f"page-validators:{key.rsplit(':', 1)[1]}"


def _validators_of(key: str) -> dict | None:
    try:
        return cache.get(_validators_key(key))
    except CACHE_ERRORS:
        return None


def _last_modified(response, previous) -> int:
    """When the page's content last changed, as a Unix time; the same at every rebuild while the page is.

    The newest `updated_at` (or publication, once passed) of the articles the
    page shows, or, for a page whose view does not say what it shows, the last
    change to any public content; never older than the release (a deploy
    changes pages without touching content). `previous` is what was last
    sent for this URL (`_validators_of`): the same bytes keep its
    Last-Modified; other bytes with a Last-Modified no newer than that changed
    by something no article's time records (a category, tag or author
    renamed), and are as new as now.
    """
    shown = _content_time(response)
    if shown is None:
        shown = _changed_at()
    modified = max(release_time(), int(shown))
    if previous is not None and previous.get("last_modified") is not None:
        if previous["etag"] == response.get("ETag"):
            return previous["last_modified"]
        if previous["last_modified"] >= modified:
            modified = max(int(time.time()), previous["last_modified"] + 1)
    return modified


def _content_time(response) -> float | None:
    """The newest `updated_at` or past publication time of the articles in the view's context, without queries.

    None when the context shows no article, or one whose `updated_at` was not loaded.
    """
    from articles.models import Article

    context = getattr(response, "context_data", None)
    if not context:
        return None
    now = timezone.now()
    newest, unknown = None, False

    def visit(value, depth):
        nonlocal newest, unknown
        if isinstance(value, Article):
            # Only fields the view loaded: reading a deferred one would cost a query per article. An
            # article shown without its updated_at (cards) leaves the page's time unknown.
            if "updated_at" not in value.__dict__:
                unknown = True
            for name in ("updated_at", "published_at"):
                moment = value.__dict__.get(name)
                if isinstance(moment, datetime) and moment <= now and (newest is None or moment > newest):
                    newest = moment
        elif depth < 2:
            # Only what the page already holds in memory: never an iterable that could run a query (a
            # paginator's object_list is the whole listing), so a list, tuple, dict, a Page of a list,
            # or a QuerySet already evaluated.
            items = _in_memory(value)
            if items is None and hasattr(value, "object_list"):  # a Page
                items = _in_memory(value.object_list)
            for item in (items or ())[:1000]:
                visit(item, depth + 1)

    for value in context.values():
        visit(value, 0)
    return None if newest is None or unknown else newest.timestamp()


def _in_memory(value) -> list | tuple | None:
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, list | tuple):
        return value
    cached = getattr(value, "_result_cache", None)  # a QuerySet already evaluated
    return cached if isinstance(cached, list) else None


def _changed_at() -> float:
    """When public content last changed anywhere (set at every bump); now, if the cache does not know."""
    try:
        changed_at = cache.get(CHANGED_AT_KEY)
        if changed_at is None:
            cache.add(CHANGED_AT_KEY, time.time(), timeout=None)
            changed_at = cache.get(CHANGED_AT_KEY)
    except CACHE_ERRORS:
        changed_at = None
    return time.time() if changed_at is None else changed_at


def _cacheable(request, response) -> bool:
    session = getattr(request, "session", None)
    return (
        response.status_code == 200
        and not response.streaming
        and not response.cookies
        and not (session is not None and session.modified)
        and not request.META.get("CSRF_COOKIE_NEEDS_UPDATE")
        and request.method == "GET"
    )


def _to_entry(response, version: int, timeout: int) -> dict:
    # A request that read an older version may store its page after a newer
    # one did; the version check on reading makes that a miss, never stale.
    content = response.content
    headers = {name: value for name, value in response.items() if name.lower() in _STORED_HEADERS}
    bodies = {compression.IDENTITY: content}
    if compression.is_text(response.get("Content-Type", "")) and len(content) >= compression.MIN_BYTES:
        # Compressed once, here: every hit sends these bytes as they are.
        for encoding in compression.ENCODINGS:
            encoded = compression.compress(content, encoding, compression.STORED_LEVELS)
            if len(encoded) < len(content):
                bodies[encoding] = encoded
        vary = HttpResponse(headers=headers)
        patch_vary_headers(vary, ["Accept-Encoding"])
        headers["Vary"] = vary["Vary"]
    return {
        "version": version,
        # Copies kept in a process honour the same deadline as the shared entry
        # (the next scheduled publication changes pages without a save).
        "expires_at": time.time() + timeout,
        "bodies": bodies,
        "etag": response.get("ETag"),
        "last_modified": _parse_http_date(response.get("Last-Modified")),
        "headers": headers,
    }


def _parse_http_date(value):
    return None if value is None else parse_http_date_safe(value)


def _body(entry, encoding: str) -> bytes:
    return entry["bodies"].get(encoding) or entry["bodies"][compression.IDENTITY]


def _from_entry(entry, encoding: str = compression.IDENTITY) -> HttpResponse:
    if encoding not in entry["bodies"]:
        encoding = compression.IDENTITY
    body = entry["bodies"][encoding]
    response = HttpResponse(body, headers=entry["headers"])
    if entry["etag"]:
        response["ETag"] = compression.encoded_etag(entry["etag"], encoding)
    if encoding != compression.IDENTITY:
        response["Content-Encoding"] = encoding
    # Served before CommonMiddleware would add it: without a length, the
    # server would fall back to chunked encoding.
    response["Content-Length"] = str(len(body))
    # SentPageMiddleware keeps the page as it leaves, with the headers added on the way out.
    response._page_cache_entry = entry
    return response


def _fresh_reads():
    """Render from the primary database for a moment after a change, when a read replica may still lag."""
    if "replica" not in settings.DATABASES:
        return nullcontext()
    from kb.db_router import use_primary

    try:
        changed_at = cache.get(CHANGED_AT_KEY)
    except CACHE_ERRORS:
        changed_at = None
    recent = changed_at is None or time.time() - changed_at < settings.DATABASE_REPLICA_LAG_SECONDS
    return use_primary() if recent else nullcontext()
