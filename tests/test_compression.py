"""Text responses go out compressed with brotli or gzip, as the client's Accept-Encoding asks; cached pages are
stored compressed, so a hit compresses nothing; and nothing that may carry a secret is compressed (BREACH)."""

import gzip
import uuid

import brotli
import pytest
import redis
from django.core.cache import cache, caches
from django.http import HttpResponse, StreamingHttpResponse
from django.urls import path, reverse

from articles import caching
from kb import compression
from kb.compression import negotiate
from kb.urls import urlpatterns as site_urlpatterns

pytestmark = pytest.mark.django_db

# This change's own Redis database (tests/conftest.py's is shared with the rest of the suite).
REDIS_URL = "redis://127.0.0.1:6379/6"


@pytest.fixture(autouse=True)
def page_cache(settings):
    settings.PAGE_CACHE = True
    cache.clear()
    caching._local_entries.clear()
    yield
    cache.clear()
    caching._local_entries.clear()


@pytest.fixture
def article(article_factory, category):
    return article_factory(title="Retries with backoff", category=category, tags=["api"], body="Backoff. " * 400)


@pytest.fixture
def compressions(monkeypatch):
    """Every call to the compressor, as (encoding, level settings)."""
    calls = []
    compress = compression.compress

    def counting(data, encoding, levels=compression.DYNAMIC_LEVELS):
        calls.append((encoding, "stored" if levels is compression.STORED_LEVELS else "dynamic"))
        return compress(data, encoding, levels)

    monkeypatch.setattr(compression, "compress", counting)
    return calls


def decoded(response) -> bytes:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    encoding = response.get("Content-Encoding")
    if encoding == "br":
        return brotli.decompress(body)
    if encoding == "gzip":
        return gzip.decompress(body)
    assert encoding is None
    return body


def vary(response) -> set:
    return {name.strip().lower() for name in response.get("Vary", "").split(",")}


# --- Negotiation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("", "identity"),
        ("gzip, deflate, br, zstd", "br"),
        ("gzip, deflate", "gzip"),
        ("GZIP", "gzip"),
        ("x-gzip", "gzip"),
        ("br;q=0, gzip", "gzip"),
        ("br;q=0.5, gzip;q=0.8", "gzip"),
        ("gzip;q=0.5, br;q=0.5", "br"),
        ("br;q=0, gzip;q=0", "identity"),
        ("*", "br"),
        ("*;q=0.1, br;q=0", "gzip"),
        ("*;q=0", "identity"),
        ("identity", "identity"),
        ("identity;q=1, gzip;q=0.5", "identity"),
        ("gzip, identity;q=0", "gzip"),
        ("deflate, compress", "identity"),
        ("br;q=2, gzip;q=nonsense, identity", "identity"),
        ("br;q=0.001", "br"),
        (" br ; q = 0.9 , gzip ; q = 1.0 ", "gzip"),
        (",,;, br", "br"),
    ],
)
def test_the_encoding_follows_the_q_values_of_accept_encoding(header, expected):
    assert negotiate(header) == expected


def test_a_huge_accept_encoding_costs_no_more_than_its_first_codings():
    assert negotiate("x-nothing;q=1, " * 10_000 + "br") == "identity"


# --- Pages through the cache ----------------------------------------------------------


@pytest.mark.parametrize("encoding", ["br", "gzip"])
def test_pages_are_sent_compressed_as_the_client_asks_and_decode_to_the_same_page(client, article, encoding):
    for url in [reverse("articles:home"), article.category.get_absolute_url(), article.get_absolute_url()]:
        plain = client.get(url)
        for _ in range(3):  # rendered and stored, then from the cache, then as this process sent it
            response = client.get(url, HTTP_ACCEPT_ENCODING=encoding)
            assert response.status_code == 200
            assert response["Content-Encoding"] == encoding, url
            assert int(response["Content-Length"]) == len(response.content) < len(plain.content) / 2
            assert decoded(response) == plain.content
            assert {"accept-encoding", "cookie"} <= vary(response)
            assert response["ETag"] == plain["ETag"][:-1] + f'-{encoding}"'


def test_a_client_that_accepts_no_encoding_gets_the_page_as_it_is(client, article):
    url = article.get_absolute_url()
    for header in [None, "identity", "br;q=0, gzip;q=0", "deflate"]:
        extra = {} if header is None else {"HTTP_ACCEPT_ENCODING": header}
        response = client.get(url, **extra)
        assert not response.has_header("Content-Encoding"), header
        assert "accept-encoding" in vary(response)
        assert b"Retries with backoff" in response.content


def test_head_gets_the_headers_of_get_and_no_body(client, article):
    url = article.get_absolute_url()
    for _ in range(2):
        get = client.get(url, HTTP_ACCEPT_ENCODING="br")
        head = client.head(url, HTTP_ACCEPT_ENCODING="br")
        assert head.status_code == 200
        assert head.content == b""
        for name in ("Content-Encoding", "Content-Length", "ETag", "Last-Modified", "Vary", "Content-Type"):
            assert head[name] == get[name], name


def test_each_encoding_is_revalidated_against_its_own_etag(client, article):
    url = article.get_absolute_url()
    brotli_page = client.get(url, HTTP_ACCEPT_ENCODING="br")
    not_modified = client.get(url, HTTP_ACCEPT_ENCODING="br", HTTP_IF_NONE_MATCH=brotli_page["ETag"])
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert not_modified["ETag"] == brotli_page["ETag"]
    assert "accept-encoding" in vary(not_modified)
    # The same ETag from a client that now wants gzip names a representation it does not have.
    other = client.get(url, HTTP_ACCEPT_ENCODING="gzip", HTTP_IF_NONE_MATCH=brotli_page["ETag"])
    assert other.status_code == 200
    assert other["Content-Encoding"] == "gzip"


def test_a_cache_hit_compresses_nothing(client, article, compressions):
    url = article.get_absolute_url()
    client.get(url, HTTP_ACCEPT_ENCODING="br")
    assert sorted(compressions) == [("br", "stored"), ("gzip", "stored")]  # once each, when stored
    compressions.clear()
    caching._local_entries.clear()  # from the shared cache, as another process would
    for header in ["br", "gzip", "gzip, deflate, br", "identity", "br", "gzip"]:
        assert client.get(url, HTTP_ACCEPT_ENCODING=header).status_code == 200
    assert compressions == []


def test_with_redis_a_hit_compresses_nothing_and_the_entry_holds_each_encoding(client, settings, article, compressions):
    prefix = f"kb-test-{uuid.uuid4().hex[:8]}"
    settings.CACHES = {"default": {"BACKEND": "kb.cache.RedisCache", "LOCATION": REDIS_URL, "KEY_PREFIX": prefix}}
    try:
        url = article.get_absolute_url()
        plain = client.get(url).content
        compressions.clear()
        caching._local_entries.clear()
        for encoding in ["br", "gzip", "br"]:
            response = client.get(url, HTTP_ACCEPT_ENCODING=encoding)
            assert response["Content-Encoding"] == encoding
            assert decoded(response) == plain
        assert compressions == []
        [key] = redis.Redis.from_url(REDIS_URL).keys(f"{prefix}:*page:*")
        entry = caches["default"].get(key.decode().split(":", 2)[2])
        assert set(entry["bodies"]) == {"identity", "br", "gzip"}
        assert brotli.decompress(entry["bodies"]["br"]) == gzip.decompress(entry["bodies"]["gzip"]) == plain
    finally:
        watch = getattr(caches["default"], "_version_watch", None)
        if watch is not None:
            watch.close()
        server = redis.Redis.from_url(REDIS_URL)
        for key in server.scan_iter(f"{prefix}:*"):
            server.delete(key)


# --- Everything else that is text -----------------------------------------------------


def test_feeds_sitemaps_the_api_and_robots_are_compressed_per_request(client, article, compressions):
    for url in [
        reverse("articles:feed"),
        reverse("articles:feed-atom"),
        reverse("articles:sitemap"),
        "/api/v1/articles",
        reverse("articles:robots"),
    ]:
        plain = client.get(url)
        assert plain.status_code == 200, url
        if len(plain.content) < compression.MIN_BYTES:
            assert not client.get(url, HTTP_ACCEPT_ENCODING="br").has_header("Content-Encoding"), url
            continue
        for encoding in ("br", "gzip"):
            response = client.get(url, HTTP_ACCEPT_ENCODING=encoding)
            assert response["Content-Encoding"] == encoding, url
            assert decoded(response) == plain.content, url
            assert "accept-encoding" in vary(response), url
    assert ("br", "dynamic") in compressions and ("gzip", "dynamic") in compressions


def test_a_404_page_is_compressed_too(client):
    response = client.get("/articles/no-such-article/", HTTP_ACCEPT_ENCODING="br")
    assert response.status_code == 404
    assert response["Content-Encoding"] == "br"
    assert b"<html" in decoded(response)


# --- What is not compressed -----------------------------------------------------------

TEXT = "Plenty of words to make a body worth compressing. " * 40


def tiny(request):
    return HttpResponse("ok", content_type="text/plain")


def already_encoded(request):
    response = HttpResponse(gzip.compress(TEXT.encode()), content_type="text/plain")
    response["Content-Encoding"] = "gzip"
    return response


def image(request):
    return HttpResponse(b"\x89PNG" + bytes(4000), content_type="image/png")


def sets_a_cookie(request):
    response = HttpResponse(TEXT, content_type="text/html")
    response.set_cookie("seen", "1")
    return response


def no_transform(request):
    response = HttpResponse(TEXT, content_type="text/html")
    response["Cache-Control"] = "no-transform"
    return response


def streamed(request):
    return StreamingHttpResponse((f"line {n}: {TEXT}\n" for n in range(50)), content_type="text/csv")


urlpatterns = [
    path("tiny/", tiny),
    path("already-encoded/", already_encoded),
    path("image/", image),
    path("sets-a-cookie/", sets_a_cookie),
    path("no-transform/", no_transform),
    path("streamed/", streamed),
    *site_urlpatterns,
]


@pytest.mark.urls("tests.test_compression")
def test_tiny_bodies_images_and_no_transform_go_out_as_they_are(client):
    for url in ["/tiny/", "/image/", "/no-transform/"]:
        response = client.get(url, HTTP_ACCEPT_ENCODING="br, gzip")
        assert not response.has_header("Content-Encoding"), url
        assert "accept-encoding" not in vary(response), url


@pytest.mark.urls("tests.test_compression")
def test_a_response_already_encoded_is_not_compressed_twice(client):
    response = client.get("/already-encoded/", HTTP_ACCEPT_ENCODING="br")
    assert response["Content-Encoding"] == "gzip"
    assert gzip.decompress(response.content) == TEXT.encode()


@pytest.mark.urls("tests.test_compression")
@pytest.mark.parametrize("encoding", ["br", "gzip"])
def test_a_streamed_response_is_compressed_as_it_streams(client, encoding):
    response = client.get("/streamed/", HTTP_ACCEPT_ENCODING=encoding)
    assert response.streaming
    assert response["Content-Encoding"] == encoding
    assert not response.has_header("Content-Length")
    chunks = list(response.streaming_content)
    assert len(chunks) > 10  # flushed chunk by chunk, not gathered into one
    body = b"".join(chunks)
    expected = "".join(f"line {n}: {TEXT}\n" for n in range(50)).encode()
    assert (brotli.decompress(body) if encoding == "br" else gzip.decompress(body)) == expected
    assert len(body) < len(expected) / 10


@pytest.mark.urls("tests.test_compression")
def test_a_response_that_sets_a_cookie_is_not_compressed(client):
    assert not client.get("/sets-a-cookie/", HTTP_ACCEPT_ENCODING="br").has_header("Content-Encoding")


def test_pages_for_signed_in_users_are_not_compressed(client, article, staff_user):
    client.force_login(staff_user)
    for url in [article.get_absolute_url(), reverse("articles:home"), reverse("admin:index")]:
        response = client.get(url, HTTP_ACCEPT_ENCODING="br, gzip")
        assert response.status_code == 200, url
        assert not response.has_header("Content-Encoding"), url


def test_a_page_with_a_csrf_token_is_not_compressed(client):
    response = client.get(reverse("admin:login"), HTTP_ACCEPT_ENCODING="br, gzip")
    assert response.status_code == 200
    assert b"csrfmiddlewaretoken" in response.content
    assert not response.has_header("Content-Encoding")


def test_a_reader_with_a_stale_session_cookie_still_gets_compressed_public_pages(client, article):
    client.cookies["sessionid"] = "expired-or-made-up"
    response = client.get(article.get_absolute_url(), HTTP_ACCEPT_ENCODING="br")
    assert response["Content-Encoding"] == "br"
