"""A query that costs too much is not an outage, a request's total database time is bounded, and expensive
anonymous requests are limited per client (in Redis) and at once (#14). Real PostgreSQL (pg_sleep) and real Redis."""

import json
import logging
import subprocess
import sys
import time

import pytest
import redis
from django.db import connection
from django.http import HttpResponse
from django.urls import path, reverse

from kb import throttle
from kb.urls import urlpatterns as site_urlpatterns
from tests.conftest import REDIS_URL


def sleepy(request):
    """Several statements, each well under the statement timeout, as a common search once ran."""
    with connection.cursor() as cursor:
        for _ in range(int(request.GET.get("n", "5"))):
            cursor.execute("SELECT pg_sleep(%s)", [float(request.GET.get("each", "0.2"))])
    return HttpResponse("done")


def one_slow_statement(request):
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = 200")  # as DB_STATEMENT_TIMEOUT_MS sets it on connecting
        try:
            cursor.execute("SELECT pg_sleep(2)")
        finally:
            cursor.execute("RESET statement_timeout")
    return HttpResponse("done")


urlpatterns = [
    path("sleepy/", sleepy, name="sleepy"),
    path("slow/", one_slow_statement, name="slow"),
    *site_urlpatterns,
]


def statement_timeout() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        return cursor.fetchone()[0]


# --- Too expensive is not unavailable ----------------------------------------------------------------------


@pytest.mark.urls("tests.test_request_limits")
@pytest.mark.django_db(transaction=True)
def test_a_request_is_stopped_when_its_total_database_time_is_spent(client, settings, caplog):
    settings.DB_REQUEST_TIMEOUT_MS = 700
    default = statement_timeout()
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="kb.errors"):
        response = client.get("/sleepy/", {"n": "10", "each": "0.2"})  # 2 s of statements, each 0.2 s
    elapsed = time.monotonic() - started
    assert response.status_code == 504
    assert elapsed < 1.2  # cut at the budget, not after all ten
    assert "took too long" in response.content.decode() and "narrow" in response.content.decode().lower()
    assert "briefly unavailable" not in response.content.decode()
    assert "Retry-After" not in response
    assert response["Cache-Control"] == "no-store"
    [record] = [r for r in caplog.records if r.name == "kb.errors"]
    assert record.query_kind == "sleepy" and record.levelname == "WARNING"
    # The connection goes back as it came: the lowered timeout is reset.
    assert statement_timeout() == default


@pytest.mark.urls("tests.test_request_limits")
@pytest.mark.django_db(transaction=True)
def test_a_statement_cancelled_by_statement_timeout_gets_the_same_page_not_the_outage_one(client, caplog):
    with caplog.at_level(logging.WARNING, logger="kb.errors"):
        response = client.get("/slow/")
    assert response.status_code == 504
    assert "took too long" in response.content.decode()
    assert "Retry-After" not in response
    assert any(getattr(r, "cause", None) == "QueryCanceled" for r in caplog.records)


@pytest.mark.urls("tests.test_request_limits")
@pytest.mark.django_db(transaction=True)
def test_ordinary_requests_are_untouched_and_statements_after_a_cheap_start_get_what_is_left(client, settings):
    settings.DB_REQUEST_TIMEOUT_MS = 15_000
    assert client.get("/sleepy/", {"n": "3", "each": "0.05"}).status_code == 200
    assert not getattr(connection, "kb_statement_timeout_lowered", False)
    # A budget below one statement's timeout lowers it for the request only.
    settings.DB_REQUEST_TIMEOUT_MS = 2_000
    assert client.get("/sleepy/", {"n": "2", "each": "0.05"}).status_code == 200
    assert statement_timeout() == "10s"


@pytest.mark.django_db(transaction=True)
def test_the_search_page_and_the_api_say_too_expensive_when_the_budget_is_gone(client, settings, article_factory):
    article_factory(title="Retries with backoff")
    settings.DB_REQUEST_TIMEOUT_MS = 1  # spent before the first statement
    page = client.get(reverse("search:search"), {"q": "retries"})
    assert page.status_code == 504 and "took too long" in page.content.decode()
    api = client.get("/api/v1/articles", {"q": "retries"})
    assert api.status_code == 504
    assert api["Content-Type"] == "application/problem+json"
    assert json.loads(api.content)["status"] == 504
    assert "Retry-After" not in api


# --- Per client, in Redis ----------------------------------------------------------------------------------


@pytest.fixture
def limits(settings, redis_cache, tmp_path):
    settings.EXPENSIVE_RATE_PER_MINUTE = 60
    settings.EXPENSIVE_RATE_BURST = 3
    settings.EXPENSIVE_SLOTS_DIR = str(tmp_path / "slots")
    settings.EXPENSIVE_CONCURRENCY_PER_HOST = 2
    settings.EXPENSIVE_CONCURRENCY_PER_PROCESS = 2
    throttle.reset_limits()
    yield redis_cache
    throttle.reset_limits()


def test_the_rate_limit_allows_a_burst_then_one_a_second_per_client(limits):
    assert [throttle.wait_seconds("203.0.113.9") for _ in range(3)] == [0, 0, 0]
    waited = throttle.wait_seconds("203.0.113.9")
    assert 0.9 < waited <= 1.0
    assert throttle.wait_seconds("198.51.100.7") == 0  # another client has its own allowance
    [key] = redis.Redis.from_url(REDIS_URL).keys(f"{limits}:*throttle:*")[:1]
    assert 0 < redis.Redis.from_url(REDIS_URL).pttl(key) <= 5_000  # nothing outlives its use
    time.sleep(1.05)
    assert throttle.wait_seconds("203.0.113.9") == 0


def test_an_unreachable_redis_lets_requests_through(settings, limits):
    settings.CACHES = {"default": {"BACKEND": "kb.cache.RedisCache", "LOCATION": "redis://127.0.0.1:1/13"}}
    assert throttle.wait_seconds("203.0.113.9") == 0


@pytest.mark.django_db
def test_anonymous_searches_past_the_limit_get_429_with_a_page_or_a_problem(client, limits, article_factory):
    article_factory(title="Retries with backoff")
    search = reverse("search:search")
    assert [client.get(search, {"q": f"retries {n}"}).status_code for n in range(3)] == [200, 200, 200]
    limited = client.get(search, {"q": "retries again"})
    assert limited.status_code == 429
    assert limited["Retry-After"] == "1"
    assert "a lot of searches" in limited.content.decode()
    api = client.get("/api/v1/articles", {"q": "retries"})
    assert api.status_code == 429 and api["Content-Type"] == "application/problem+json"
    assert api["Retry-After"] == "1"
    # What is not expensive is never limited: pages, the search form without words, the API without q.
    assert client.get(search).status_code == 200
    assert client.get("/api/v1/articles").status_code == 200
    assert client.get(reverse("articles:home")).status_code == 200


@pytest.mark.django_db
def test_signed_in_users_are_not_rate_limited(client, limits, staff_user):
    client.force_login(staff_user)
    search = reverse("search:search")
    assert {client.get(search, {"q": f"word{n}"}).status_code for n in range(6)} == {200}


@pytest.mark.django_db
def test_clients_are_told_apart_by_the_address_django_axes_trusts(client, settings, limits):
    search = reverse("search:search")

    def statuses(forwarded_for):
        return [client.get(search, {"q": f"x{n}"}, HTTP_X_FORWARDED_FOR=forwarded_for).status_code for n in range(4)]

    # No trusted proxy: X-Forwarded-For is anyone's to forge, so every request is the socket's address.
    assert statuses("203.0.113.1") + statuses("203.0.113.2") == [200, 200, 200, 429, 429, 429, 429, 429]
    settings.AXES_IPWARE_PROXY_COUNT = 1
    settings.AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]
    # Behind one trusted proxy, as ipware reads the chain: "client, proxy".
    assert statuses("203.0.113.3, 10.0.0.1") == [200, 200, 200, 429]
    assert statuses("203.0.113.4, 10.0.0.1") == [200, 200, 200, 429]


# --- At once -------------------------------------------------------------------------------------------------


def test_slots_are_shared_by_threads_and_processes_and_never_wait(tmp_path):
    slots = throttle.Slots(tmp_path, 2)
    first, second = slots.acquire(), slots.acquire()
    assert first is not None and second is not None
    assert slots.acquire() is None
    throttle.Slots.release(first)
    third = slots.acquire()
    assert third is not None
    throttle.Slots.release(second)
    throttle.Slots.release(third)

    # Another process holding both slots: this one gets none, until that process is gone (the kernel releases).
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, sys, time\n"
            f"held = [open('{tmp_path}/slot-%d' % n, 'a+b') for n in range(2)]\n"
            "[fcntl.flock(h, fcntl.LOCK_EX) for h in held]\n"
            "print('held', flush=True)\n"
            "time.sleep(30)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        assert slots.acquire() is None
        assert time.monotonic() - started < 0.05
    finally:
        holder.kill()
        holder.wait()
    again = slots.acquire()
    assert again is not None
    throttle.Slots.release(again)


@pytest.mark.django_db
def test_expensive_requests_beyond_the_cap_get_503_at_once(client, settings, limits, staff_user):
    settings.EXPENSIVE_RATE_PER_MINUTE = 0
    held = [throttle.try_start(), throttle.try_start()]  # two searches running in this host
    assert throttle.try_start() is None
    search = reverse("search:search")
    started = time.monotonic()
    busy = client.get(search, {"q": "anything"})
    assert time.monotonic() - started < 0.5
    assert busy.status_code == 503 and busy["Retry-After"] == "2"
    assert "Busy with other searches" in busy.content.decode()
    assert "briefly unavailable" not in busy.content.decode()
    api = client.get("/api/v1/articles", {"q": "anything"})
    assert api.status_code == 503 and api["Content-Type"] == "application/problem+json"
    assert client.get(reverse("articles:home")).status_code == 200  # cheap pages are not capped
    for each in held:
        each.release()
    assert client.get(search, {"q": "anything"}).status_code == 200
    # A slot is given back however the request ends.
    held = [throttle.try_start(), throttle.try_start()]
    assert all(slot is not None for slot in held)
    for each in held:
        each.release()


@pytest.mark.django_db
def test_a_search_the_page_cache_answers_is_not_counted(client, settings, limits, article_factory):
    settings.PAGE_CACHE = True
    article_factory(title="Retries with backoff")
    search = reverse("search:search")
    assert client.get(search, {"q": "retries"}).status_code == 200
    assert {client.get(search, {"q": "retries"}).status_code for _ in range(8)} == {200}  # hits, not searches
