"""Brotli and gzip for every text response, chosen by the client's Accept-Encoding.

`CompressionMiddleware` compresses what the views below it return: feeds,
sitemaps, the API's JSON, robots.txt, error pages, and pages the page cache
did not store. Pages the cache stores are compressed once, when stored, at
the highest settings (articles/caching.py), and leave the cache already
encoded for the client: a hit spends no CPU on compression, and this
middleware passes a response that has a Content-Encoding untouched.

It sits below ConditionalGetMiddleware, so each representation gets an ETag
of its own (identity `"x"`, brotli `"x-br"`, gzip `"x-gzip"`, the same
whether the page came from the cache or not) and a 304 carries the ETag and
Vary of the 200 it stands for. Both encoders are deterministic (gzip with no
timestamp or name), so the same page gives the same bytes and the same ETag.

BREACH: an attacker who can make a victim's browser send requests that
reflect chosen text (a search query) next to a secret in a compressed body
can learn the secret from the response sizes. Only responses that are the
same for everyone are compressed: not a response to a request that may be
signed in (it has a session cookie and the user is not known to be
anonymous), not one that sets a cookie, and not one whose page holds a CSRF
token (the login page, the feedback form, the admin). Public pages, feeds,
sitemaps and the API hold nothing secret, so compressing them reveals
nothing. See README "Compression".
"""

import functools
import gzip
import re
import zlib

import brotli
from django.conf import settings
from django.utils.cache import patch_vary_headers
from django.utils.functional import empty

# Bodies shorter than this are sent as they are: headers and framing would eat the gain.
MIN_BYTES = 256
# Per request (feeds, the API, uncached pages) and for cached pages, once, when stored. Not brotli's
# top qualities: on a 17 KB article, 6 takes 0.25 ms for 4,726 bytes, 10 takes 18-50 ms for 4,240 and
# 11 takes 40-85 ms for 4,113 (a shared two-core machine, load 12-15), and every miss would pay it:
# the first request for each page after every change, and every new search query.
DYNAMIC_LEVELS = {"br": 5, "gzip": 6}
STORED_LEVELS = {"br": 6, "gzip": 9}
# What the cache stores and clients get, most preferred first when a client rates them equally.
ENCODINGS = ("br", "gzip")
IDENTITY = "identity"

_TEXT = re.compile(
    r"^\s*(text/|application/(json|.+\+json|xml|.+\+xml|javascript|ecmascript)\b|image/svg\+xml\b)", re.IGNORECASE
)
# At most this many codings are read from one Accept-Encoding header (browsers send three or four).
_MAX_CODINGS = 32


@functools.lru_cache(maxsize=256)
def negotiate(accept_encoding: str) -> str:
    """The content coding to send: "br", "gzip" or "identity", by the header's q-values (RFC 9110, 12.5.3).

    A coding with q=0 is refused, `*` rates every coding the header does not
    name, and of equally rated codings brotli wins. Identity is acceptable
    unless refused, and is chosen over brotli and gzip only when rated above
    them. A header that refuses everything gets identity all the same, as the
    RFC allows. Malformed entries are ignored.
    """
    ratings = {}
    for item in accept_encoding.lower().split(",")[:_MAX_CODINGS]:
        coding, _, params = item.strip().partition(";")
        coding = coding.strip()
        if not coding:
            continue
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = -1.0
        if not 0.0 <= q <= 1.0:
            continue
        if coding == "x-gzip":
            coding = "gzip"
        ratings[coding] = max(q, ratings.get(coding, 0.0)) if coding in ratings else q
    star = ratings.get("*")
    best, best_q = IDENTITY, 0.0
    for coding in ENCODINGS:
        q = ratings.get(coding, star if star is not None else 0.0)
        if q > best_q:
            best, best_q = coding, q
    identity_q = ratings.get(IDENTITY)
    if best != IDENTITY and identity_q is not None and identity_q > best_q:
        return IDENTITY
    return best


def request_encoding(request) -> str:
    return negotiate(request.META.get("HTTP_ACCEPT_ENCODING", ""))


def compress(data: bytes, encoding: str, levels=DYNAMIC_LEVELS) -> bytes:
    if encoding == "br":
        return brotli.compress(data, quality=levels["br"], mode=brotli.MODE_TEXT)
    if encoding == "gzip":
        return gzip.compress(data, compresslevel=levels["gzip"], mtime=0)
    raise ValueError(f"unknown content coding {encoding!r}")


def is_text(content_type: str) -> bool:
    return bool(_TEXT.match(content_type or ""))


def encoded_etag(etag: str, encoding: str) -> str:
    """The ETag of the `encoding` representation of the response whose identity ETag is `etag`."""
    if encoding == IDENTITY or not etag.endswith('"'):
        return etag
    return f'{etag[:-1]}-{encoding}"'


def may_compress(request, response) -> bool:
    """Whether the response is the same for everyone, so that compressing it can leak no secret (BREACH)."""
    if response.cookies or request.META.get("CSRF_COOKIE_USED"):
        return False
    if settings.SESSION_COOKIE_NAME not in request.COOKIES:
        return True
    # A session cookie: compress only for a user already looked up and found anonymous (a stale cookie),
    # never look one up here (a query, and the database may be down).
    user = getattr(request, "user", None)
    return user is not None and getattr(user, "_wrapped", empty) is not empty and not user.is_authenticated


class CompressionMiddleware:
    """Compresses text responses with brotli or gzip as the client prefers; see the module docstring."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return compress_response(request, self.get_response(request))


def compress_response(request, response):
    if (
        response.has_header("Content-Encoding")
        or response.has_header("Content-Range")
        or not is_text(response.get("Content-Type", ""))
        or "no-transform" in response.get("Cache-Control", "").lower()
        or (not response.streaming and len(response.content) < MIN_BYTES)
        or not may_compress(request, response)
    ):
        return response
    patch_vary_headers(response, ("Accept-Encoding",))
    encoding = request_encoding(request)
    if encoding == IDENTITY:
        return response
    if response.streaming:
        if response.is_async:
            response.streaming_content = _compress_async_stream(response.streaming_content, encoding)
        else:
            response.streaming_content = _compress_stream(response.streaming_content, encoding)
        del response["Content-Length"]
    else:
        compressed = compress(response.content, encoding)
        if len(compressed) >= len(response.content):
            return response
        response.content = compressed
        response["Content-Length"] = str(len(compressed))
    if response.has_header("ETag"):
        response["ETag"] = encoded_etag(response["ETag"], encoding)
    response["Content-Encoding"] = encoding
    return response


class _StreamEncoder:
    """Compresses chunk by chunk, flushing each, so that a streamed response still arrives as it is produced."""

    def __init__(self, encoding: str):
        self.encoding = encoding
        if encoding == "br":
            self._brotli = brotli.Compressor(quality=DYNAMIC_LEVELS["br"], mode=brotli.MODE_TEXT)
        else:
            self._zlib = zlib.compressobj(DYNAMIC_LEVELS["gzip"], zlib.DEFLATED, 16 + zlib.MAX_WBITS)

    def chunk(self, data: bytes) -> bytes:
        if self.encoding == "br":
            return self._brotli.process(data) + self._brotli.flush()
        return self._zlib.compress(data) + self._zlib.flush(zlib.Z_SYNC_FLUSH)

    def finish(self) -> bytes:
        return self._brotli.finish() if self.encoding == "br" else self._zlib.flush()


def _compress_stream(chunks, encoding):
    encoder = _StreamEncoder(encoding)
    for data in chunks:
        out = encoder.chunk(bytes(data))
        if out:
            yield out
    yield encoder.finish()


async def _compress_async_stream(chunks, encoding):
    encoder = _StreamEncoder(encoding)
    async for data in chunks:
        out = encoder.chunk(bytes(data))
        if out:
            yield out
    yield encoder.finish()
