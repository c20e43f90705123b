"""A client refused for its rate is refused again cheaply while its wait lasts (#14, the flood test).

The first 429 goes through Redis; the next ones from that client, in that process, are answered high in the
middleware stack from memory: no Redis, no session, no routing, with the security headers and Retry-After.
Real Redis for the first refusal, as production counts it.
"""

import time

import pytest
from django.urls import reverse

import kb.wsgi
from kb import throttle
from tests.wsgi_client import call

pytestmark = pytest.mark.django_db


@pytest.fixture
def limits(settings, redis_cache, tmp_path):
    settings.EXPENSIVE_RATE_PER_MINUTE = 60
    settings.EXPENSIVE_RATE_BURST = 2
    settings.EXPENSIVE_SLOTS_DIR = str(tmp_path / "slots")
    throttle.reset_limits()
    yield redis_cache
    throttle.reset_limits()


@pytest.fixture
def refused(client, limits, article_factory):
    """The test client's address, just refused once through Redis."""
    article_factory(title="Retries with backoff")
    search = reverse("search:search")
    assert [client.get(search, {"q": f"retries {n}"}).status_code for n in range(3)] == [200, 200, 429]
    return search


def no_redis(*args, **kwargs):
    raise AssertionError("a remembered refusal must not ask Redis")


def test_a_refused_client_is_refused_again_without_asking_redis(client, refused, monkeypatch):
    monkeypatch.setattr(throttle, "wait_seconds", no_redis)
    again = client.get(refused, {"q": "retries once more"})
    assert again.status_code == 429
    assert again["Retry-After"] == "1"
    assert "a lot of searches" in again.content.decode()
    # It sits below the security headers: the refusal carries them.
    assert again["X-Content-Type-Options"] == "nosniff"
    assert "Content-Security-Policy" in again
    api = client.get("/api/v1/articles", {"q": "retries"})
    assert api.status_code == 429 and api["Content-Type"] == "application/problem+json"


def test_what_is_not_expensive_is_served_to_a_refused_client(client, refused, monkeypatch):
    monkeypatch.setattr(throttle, "wait_seconds", no_redis)
    assert client.get(reverse("articles:home")).status_code == 200
    assert client.get(refused).status_code == 200  # the search form, without words
    assert client.get("/api/v1/articles").status_code == 200


def test_other_clients_and_signed_in_users_are_not_refused_from_memory(client, refused, staff_user):
    other = client.get(refused, {"q": "retries"}, REMOTE_ADDR="198.51.100.20")
    assert other.status_code == 200
    client.force_login(staff_user)  # a session cookie: the request goes the whole way, and is not limited
    assert client.get(refused, {"q": "retries"}).status_code == 200


def test_the_refusal_ends_with_the_wait(client, refused):
    assert throttle.refused_for("127.0.0.1") > 0
    time.sleep(1.05)
    assert throttle.refused_for("127.0.0.1") == 0
    assert not throttle._blocked  # forgotten once over
    assert client.get(refused, {"q": "retries later"}).status_code == 200


def test_the_remembered_clients_are_bounded(monkeypatch):
    monkeypatch.setattr(throttle, "_BLOCKED_MAX", 100)
    throttle.reset_limits()
    for n in range(250):
        throttle.remember_refused(f"203.0.113.{n}", 30)
    assert len(throttle._blocked) <= 100
    assert throttle.refused_for("203.0.113.249") > 29
    throttle.reset_limits()
    assert not throttle._blocked


def test_a_refusal_from_memory_carries_the_headers_of_a_refusal_through_redis(client, limits, article_factory):
    article_factory(title="Retries with backoff")
    search = reverse("search:search")
    for n in range(2):
        client.get(search, {"q": f"retries {n}"})
    throttle.reset_limits()  # forget the client, so that this refusal takes the whole way
    through_redis = client.get(search, {"q": "retries"})
    assert through_redis.status_code == 429 and throttle._blocked
    from_memory = client.get(search, {"q": "retries again"})
    assert from_memory.status_code == 429

    # What differs: the request's own id, the seconds left, and what the middleware below the memory add to
    # any response (Vary for caches, but a refusal is no-store; Content-Length, which gunicorn writes anyway).
    ignored = ("X-Request-ID", "Retry-After", "Vary", "Content-Length")

    def headers(response):
        return {name: value for name, value in response.items() if name not in ignored}

    assert from_memory["Cache-Control"] == "no-store"

    assert headers(from_memory) == headers(through_redis)
    assert from_memory.content == through_redis.content


@pytest.mark.parametrize("proxies", [0, 1, 2])
def test_the_remembered_address_is_the_one_axes_resolves(rf, settings, proxies):
    from axes.helpers import get_client_ip_address

    settings.AXES_IPWARE_PROXY_COUNT = proxies or None
    settings.AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"] if proxies else ["REMOTE_ADDR"]
    forwarded = [None, "203.0.113.7", "203.0.113.7, 10.0.0.2", "198.51.100.1, 203.0.113.7, 10.0.0.2", "junk, 10.0.0.2"]
    for header in forwarded * 2:  # the second time from the memo
        extra = {"HTTP_X_FORWARDED_FOR": header} if header is not None else {}
        request = rf.get("/search/", REMOTE_ADDR="10.0.0.9", **extra)
        assert throttle.client_address(request) == (get_client_ip_address(request) or "10.0.0.9")


# ---------------------------------------------------------------- before Django (kb/wsgi.py)

FLOODER = "198.51.100.7"


def not_django(environ, start_response):
    raise AssertionError("a replayed refusal must not reach Django")


def test_a_remembered_client_is_answered_before_django_with_djangos_own_refusal(limits, monkeypatch, caplog):
    throttle.remember_refused(FLOODER, 30)
    status, through_django, body = call("GET", "/search/", "q=retries", REMOTE_ADDR=FLOODER)
    assert status.startswith("429") and ("/search/", False, 30) in throttle._replies

    monkeypatch.setattr(kb.wsgi, "django_application", not_django)
    with caplog.at_level("INFO", logger="kb.request"):
        replayed_status, replayed, replayed_body = call(
            "GET", "/search/", "q=retries+again", REMOTE_ADDR=FLOODER, HTTP_X_REQUEST_ID="flood-1"
        )
    assert (replayed_status, replayed_body) == (status, body)
    assert "a lot of searches" in body.decode()
    assert replayed.pop("X-Request-ID") == "flood-1"
    assert through_django.pop("X-Request-ID") != "flood-1"
    assert replayed == through_django  # Retry-After, Cache-Control and every security header, as Django sent them
    [line] = [record for record in caplog.records if getattr(record, "request_id", None) == "flood-1"]
    assert (line.method, line.path, line.status, line.user_id) == ("GET", "/search/", 429, None)


def test_a_replayed_refusal_is_counted_in_the_metrics(limits, monkeypatch):
    from prometheus_client import REGISTRY

    labels = {"view": "search:search", "method": "GET", "status": "429"}

    def refusals():
        return REGISTRY.get_sample_value("kb_responses_total", labels) or 0

    throttle.remember_refused(FLOODER, 30)
    call("GET", "/search/", "q=retries", REMOTE_ADDR=FLOODER)
    before = refusals()
    monkeypatch.setattr(kb.wsgi, "django_application", not_django)
    call("GET", "/search/", "q=retries", REMOTE_ADDR=FLOODER)
    assert refusals() == before + 1


def test_the_api_refusal_and_head_are_replayed_as_django_answered_them(limits, monkeypatch):
    throttle.remember_refused(FLOODER, 30)
    first = call("GET", "/api/v1/articles", "q=retries", REMOTE_ADDR=FLOODER)
    assert first[0].startswith("429") and first[1]["Content-Type"] == "application/problem+json"
    monkeypatch.setattr(kb.wsgi, "django_application", not_django)
    again = call("GET", "/api/v1/articles", "q=other", REMOTE_ADDR=FLOODER)
    assert (again[0], again[2]) == (first[0], first[2])
    status, headers, body = call("HEAD", "/api/v1/articles", "q=other", REMOTE_ADDR=FLOODER)
    assert (status, body) == (first[0], b"") and headers["Retry-After"] == "30"


@pytest.mark.parametrize(
    ("path", "query", "environ"),
    [
        ("/search/", "q=retries", {"REMOTE_ADDR": "198.51.100.8"}),  # another client
        ("/search/", "q=retries", {"REMOTE_ADDR": FLOODER, "HTTP_COOKIE": "sessionid=abc"}),  # perhaps signed in
        ("/search/", "q=+", {"REMOTE_ADDR": FLOODER}),  # no words: the search form
        ("/search/", "category=ops", {"REMOTE_ADDR": FLOODER}),
        ("/", "q=retries", {"REMOTE_ADDR": FLOODER}),  # not an expensive page
        ("/search/", "q=retries&" + "&".join(f"f{n}=1" for n in range(1200)), {"REMOTE_ADDR": FLOODER}),  # Django's 400
    ],
)
def test_what_the_replay_cannot_decide_goes_to_django(limits, monkeypatch, path, query, environ):
    throttle.remember_refused(FLOODER, 30)
    call("GET", "/search/", "q=retries", REMOTE_ADDR=FLOODER)  # recorded: replays are possible
    reached = []

    def django(environ, start_response):
        reached.append(environ["PATH_INFO"])
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"django"]

    monkeypatch.setattr(kb.wsgi, "django_application", django)
    assert call("GET", path, query, **environ)[2] == b"django"
    assert reached == [path]


def test_the_replay_ends_with_the_wait(limits, monkeypatch):
    throttle.remember_refused(FLOODER, 30)
    call("GET", "/search/", "q=retries", REMOTE_ADDR=FLOODER)
    with throttle._blocked_lock:
        throttle._blocked[FLOODER] = time.monotonic() - 1  # the wait is over
    monkeypatch.setattr(kb.wsgi, "django_application", not_django)
    with pytest.raises(AssertionError, match="must not reach Django"):
        call("GET", "/search/", "q=retries", REMOTE_ADDR=FLOODER)


def test_an_https_redirect_is_never_replayed_and_each_scheme_has_its_own_reply(limits, settings, monkeypatch):
    from django.core.handlers.wsgi import WSGIHandler

    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 3600
    # As production starts (SECURE_SSL_REDIRECT is on unless DEBUG): middleware read these settings once, then.
    monkeypatch.setattr(kb.wsgi, "django_application", WSGIHandler())
    throttle.remember_refused(FLOODER, 30)
    status, headers, _ = call("GET", "/search/", "q=retries", REMOTE_ADDR=FLOODER)
    assert status.startswith("301") and headers["Location"] == "https://testserver/search/?q=retries"
    assert not throttle._replies  # a redirect names the request's own address
    status, headers, _ = call("GET", "/search/", "q=other", REMOTE_ADDR=FLOODER)
    assert headers["Location"] == "https://testserver/search/?q=other"

    secure = {"REMOTE_ADDR": FLOODER, "HTTP_X_FORWARDED_PROTO": "https"}
    first = call("GET", "/search/", "q=retries", **secure)
    assert first[0].startswith("429") and "Strict-Transport-Security" in first[1]
    monkeypatch.setattr(kb.wsgi, "django_application", not_django)
    again = call("GET", "/search/", "q=retries", **secure)
    assert again[0] == first[0] and again[1]["Strict-Transport-Security"] == first[1]["Strict-Transport-Security"]
    with pytest.raises(AssertionError, match="must not reach Django"):
        call("GET", "/search/", "q=retries", REMOTE_ADDR=FLOODER)  # plain HTTP: Django redirects it, as before
