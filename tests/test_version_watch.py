"""Each process learns of a change to the content version from Redis itself, without asking on every page,
and never serves a page it cannot prove current: a lost or silent connection means asking Redis again."""

import time
import uuid

import pytest
import redis
from django.core.cache import cache, caches
from django.db import connection
from django.test.utils import CaptureQueriesContext

from articles import caching
from articles.version_watch import VersionWatch
from tests.conftest import REDIS_URL
from tests.relay import Relay

pytestmark = pytest.mark.django_db

RELAY_PORT = 8054


class Clock:
    """time.monotonic, plus whatever a test adds to it."""

    def __init__(self):
        self.offset = 0.0

    def __call__(self):
        return time.monotonic() + self.offset


@pytest.fixture
def key():
    key = f"kb-test-{uuid.uuid4().hex[:8]}:content-version"
    server = redis.Redis.from_url(REDIS_URL)
    server.set(key, 1)
    yield key
    server.delete(key)


def watch_of(key, url=REDIS_URL, clock=time.monotonic):
    server = redis.Redis.from_url(url, socket_timeout=1)
    return VersionWatch(server, key, lambda: int(server.get(key)), clock=clock)


def test_a_change_made_by_another_process_is_seen_by_the_very_next_read(key):
    watch = watch_of(key)
    assert watch.version() == 1
    elsewhere = redis.Redis.from_url(REDIS_URL)
    for expected in (2, 3, 4):
        elsewhere.incr(key)
        assert watch.version() == expected  # no waiting: the push arrived before INCR's reply
    watch.close()


def test_the_version_is_read_once_and_then_known_without_asking(key):
    reads = []
    server = redis.Redis.from_url(REDIS_URL)
    watch = VersionWatch(server, key, lambda: reads.append(1) or int(server.get(key)))
    assert [watch.version() for _ in range(50)] == [1] * 50
    assert len(reads) == 1
    redis.Redis.from_url(REDIS_URL).incr(key)
    assert watch.version() == 2
    assert len(reads) == 2
    watch.close()


def test_a_lost_connection_means_asking_redis_until_the_watch_is_back(key):
    clock = Clock()
    watch = watch_of(key, clock=clock)
    assert watch.version() == 1
    elsewhere = redis.Redis.from_url(REDIS_URL)
    elsewhere.client_kill_filter(_id=watch.client_id)
    elsewhere.incr(key)
    assert watch.version() is None  # never the old version
    assert watch.version() is None  # and no reconnecting at every request while Redis may be away

    clock.offset += VersionWatch.RETRY_AFTER
    assert watch.version() == 2
    elsewhere.incr(key)
    assert watch.version() == 3
    watch.close()


def test_a_silent_connection_is_trusted_only_until_a_ping_goes_unanswered(key):
    """A connection that looks open while nothing arrives (a NAT dropped it): pushes would be lost too."""
    relay = Relay(RELAY_PORT, target=("127.0.0.1", 6379))
    relay.start()
    try:
        clock = Clock()
        watch = watch_of(key, url=f"redis://127.0.0.1:{RELAY_PORT}/13", clock=clock)
        assert watch.version() == 1
        relay.frozen.set()
        time.sleep(0.1)
        clock.offset += VersionWatch.PING_EVERY
        assert watch.version() == 1  # a PING is on its way; the last answer is recent enough

        clock.offset += VersionWatch.TRUST_FOR
        assert watch.version() is None  # unanswered for too long: ask Redis instead

        clock.offset += VersionWatch.DEAD_AFTER
        assert watch.version() is None  # given up on; a new connection after RETRY_AFTER
        relay.frozen.clear()
        clock.offset += VersionWatch.RETRY_AFTER
        assert watch.version() == 1
    finally:
        watch.close()
        relay.cut()


def test_an_unreachable_redis_costs_only_the_watch(key):
    watch = watch_of(key, url="redis://127.0.0.1:1/13")  # nothing listens on port 1
    assert watch.version() is None


# --- Through the site ------------------------------------------------------------


@pytest.fixture
def page_cache(settings, redis_cache):
    settings.PAGE_CACHE = True
    return redis_cache


def test_pages_hit_with_no_round_trip_and_show_a_change_on_the_next_request(
    client, page_cache, article_factory, category, monkeypatch
):
    article = article_factory(title="Retries with backoff", category=category)
    url = article.get_absolute_url()
    client.get(url)  # stored
    client.get(url)  # this process's copy, checked once against Redis

    round_trips = []
    get_many = caches["default"].get_many
    monkeypatch.setattr(caches["default"], "get_many", lambda keys: round_trips.append(keys) or get_many(keys))
    with CaptureQueriesContext(connection) as queries:
        for _ in range(5):
            assert b"Retries with backoff" in client.get(url).content
    assert round_trips == []
    assert len(queries) == 0

    # The change is made by "another process": straight to Redis, as its INCR would be.
    redis.Redis.from_url(REDIS_URL).incr(caches["default"].make_and_validate_key(caching.VERSION_KEY))
    article.__class__.objects.filter(pk=article.pk).update(title="Retries, revisited")
    assert b"Retries, revisited" in client.get(url).content


def test_an_edit_through_the_site_shows_on_the_next_request(client, page_cache, article_factory, category):
    article = article_factory(title="Retries with backoff", category=category)
    url = article.get_absolute_url()
    for _ in range(3):
        assert b"Retries with backoff" in client.get(url).content
    article.title = "Retries, revisited"
    article.save()
    assert b"Retries, revisited" in client.get(url).content
    assert cache.get(caching.VERSION_KEY) == caches["default"]._version_watch.version()


def test_a_lost_connection_is_reported_so_that_changes_missed_meanwhile_are_made_up_for(key):
    lost = []
    server = redis.Redis.from_url(REDIS_URL)
    watch = VersionWatch(server, key, lambda: int(server.get(key)), on_lost=lost.append)
    assert watch.version() == 1
    assert lost == []
    server.client_kill_filter(_id=watch.client_id)
    assert watch.version() is None
    assert len(lost) == 1 and isinstance(lost[0], redis.exceptions.ConnectionError | OSError)
    watch.close()


def test_a_read_that_only_timed_out_does_not_count_as_an_outage():
    """Redis was there but slow: invalidating every page for it would make the next moments slower still."""
    caching._missed_changes = False
    caching.cache_unreachable(redis.exceptions.TimeoutError("Timeout reading from socket"))
    assert caching._missed_changes is False
    caching.cache_unreachable(redis.exceptions.ConnectionError("Connection refused"))
    assert caching._missed_changes is True
    caching._missed_changes = False
