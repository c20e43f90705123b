"""A change saved while Redis is unreachable invalidates every older cached page once Redis is back.

Redis is made unreachable for real, without touching the shared server: the
app reaches it through a TCP relay (tests/relay.py) that the test cuts, which
drops every open connection (the pages' and the version watch's) and refuses
new ones, and then restores on the same port.
"""

import time
import uuid

import pytest
import redis
from django.core.cache import caches
from django.urls import reverse

from articles import caching
from articles.models import Article
from articles.version_watch import VersionWatch
from tests.relay import Relay

pytestmark = pytest.mark.django_db

REDIS_DB = 6  # this change's own Redis database
RELAY_PORT = 8162


class Outage:
    def __init__(self):
        self.relay = Relay(RELAY_PORT, target=("127.0.0.1", 6379))
        self.relay.start()

    def begin(self):
        self.relay.cut()

    def end(self):
        self.relay = Relay(RELAY_PORT, target=("127.0.0.1", 6379))
        self.relay.start()


@pytest.fixture
def outage(settings):
    outage = Outage()
    prefix = f"kb-test-{uuid.uuid4().hex[:8]}"
    settings.PAGE_CACHE = True
    settings.CACHES = {
        "default": {
            "BACKEND": "kb.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{RELAY_PORT}/{REDIS_DB}",
            "KEY_PREFIX": prefix,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    caching._local_entries.clear()
    caching._missed_changes = False
    yield outage
    watch = getattr(caches["default"], "_version_watch", None)
    if watch is not None:
        watch.close()
    if outage.relay.listener is not None:
        outage.relay.cut()
    caching._local_entries.clear()
    caching._missed_changes = False
    server = redis.Redis.from_url(f"redis://127.0.0.1:6379/{REDIS_DB}")
    for key in server.scan_iter(f"{prefix}:*"):
        server.delete(key)


@pytest.fixture
def article(article_factory, category):
    return article_factory(title="Retries with backoff", category=category, tags=["api"])


def cached(client, url):
    """The page, requested until it is served from the cache (stored, this process's copy, as sent)."""
    pages = [client.get(url) for _ in range(3)]
    assert all(page.status_code == 200 for page in pages)
    return pages[-1].content.decode()


def listed(client, title) -> bool:
    return title in client.get(reverse("articles:home")).content.decode()


def test_an_article_unpublished_while_redis_is_unreachable_stays_gone_once_it_is_back(client, outage, article):
    url = article.get_absolute_url()
    assert "Retries with backoff" in cached(client, url)
    assert "Retries with backoff" in cached(client, reverse("articles:home"))

    outage.begin()
    article.status = Article.Status.DRAFT
    article.save()  # its invalidation cannot reach Redis
    assert client.get(url).status_code == 404  # rendered uncached meanwhile
    assert not listed(client, "Retries with backoff")

    outage.end()
    assert client.get(url).status_code == 404
    assert not listed(client, "Retries with backoff")
    time.sleep(VersionWatch.RETRY_AFTER)  # the version watch is back too
    assert client.get(url).status_code == 404
    assert not listed(client, "Retries with backoff")


def test_a_title_edited_while_redis_is_unreachable_shows_once_it_is_back(client, outage, article):
    url = article.get_absolute_url()
    assert "Retries with backoff" in cached(client, url)
    assert "Retries with backoff" in cached(client, reverse("articles:home"))

    outage.begin()
    article.title = "Retries, revisited"
    article.save()
    # No request meanwhile: the save alone must leave its mark.
    outage.end()
    for _ in range(2):
        page = client.get(url).content.decode()
        assert "Retries, revisited" in page and "Retries with backoff" not in page
        assert listed(client, "Retries, revisited")
        assert not listed(client, "Retries with backoff")
        time.sleep(VersionWatch.RETRY_AFTER)


def test_a_process_that_saw_the_outage_invalidates_even_if_the_one_that_saved_is_gone(client, outage, article):
    """The editor's process may exit before Redis is back; every process that noticed the outage bumps."""
    url = article.get_absolute_url()
    assert "Retries with backoff" in cached(client, url)

    outage.begin()
    assert client.get(url).status_code == 200  # this process notices: rendered uncached
    # Saved by another process, whose bump was lost with it: no signal reaches this one.
    Article.objects.filter(pk=article.pk).update(status=Article.Status.DRAFT)
    outage.end()
    assert client.get(url).status_code == 404


def test_after_the_outage_pages_are_cached_again(client, outage, article):
    url = article.get_absolute_url()
    cached(client, url)
    outage.begin()
    article.title = "Retries, revisited"
    article.save()
    outage.end()
    assert "Retries, revisited" in cached(client, url)
    assert caching._missed_changes is False
    hits = caching._local_entries.get(caching.page_key(client.get(url).wsgi_request))
    assert hits is not None and b"Retries, revisited" in hits["bodies"]["identity"]


def test_a_process_that_served_nothing_during_the_outage_still_serves_nothing_stale_after(client, outage, article):
    """Its version watch lost its connection with the outage: that alone means changes may have been missed."""
    url = article.get_absolute_url()
    assert "Retries with backoff" in cached(client, url)

    outage.begin()
    Article.objects.filter(pk=article.pk).update(status=Article.Status.DRAFT)  # by a process that is gone
    outage.end()
    assert client.get(url).status_code == 404
