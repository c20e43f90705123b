"""A client refused for its rate is refused again cheaply while its wait lasts (#14, the flood test).

The first 429 goes through Redis; the next ones from that client, in that process, are answered high in the
middleware stack from memory: no Redis, no session, no routing, with the security headers and Retry-After.
Real Redis for the first refusal, as production counts it.
"""

import time

import pytest
from django.urls import reverse

from kb import throttle

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
