"""Last-Modified says when the content a page shows last changed, not when its cache entry was built: the same
across rebuilds while the page is the same (so If-Modified-Since gets 304), newer as soon as it is not."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone
from django.utils.http import http_date, parse_http_date

from articles import caching
from articles.models import Article

pytestmark = pytest.mark.django_db

PUBLISHED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
EDITED = datetime(2026, 5, 4, 10, 30, 15, tzinfo=UTC)


@pytest.fixture(autouse=True)
def page_cache(settings, monkeypatch):
    settings.PAGE_CACHE = True
    # The checkout's files are younger than the dates these tests give articles.
    monkeypatch.setattr(caching, "release_time", lambda: 0)
    cache.clear()
    caching._local_entries.clear()
    yield
    cache.clear()
    caching._local_entries.clear()


@pytest.fixture
def article(article_factory, category):
    article = article_factory(title="Retries with backoff", category=category, tags=["api"])
    Article.objects.filter(pk=article.pk).update(published_at=PUBLISHED, updated_at=EDITED)
    cache.clear()
    return Article.objects.get(pk=article.pk)


def rebuild():
    """What every change anywhere does to this page's entry: a new content version, so it is rendered again."""
    caching.content_changed()
    caching._local_entries.clear()


def test_an_articles_page_was_last_modified_when_the_article_was(client, article):
    response = client.get(article.get_absolute_url())
    assert response["Last-Modified"] == http_date(EDITED.timestamp())


def test_last_modified_stays_the_same_across_rebuilds_and_if_modified_since_gets_304(client, article):
    url = article.get_absolute_url()
    pages = [reverse("articles:home"), article.category.get_absolute_url(), url]
    with time_machine.travel(timezone.now(), tick=False) as clock:
        first = {page: client.get(page)["Last-Modified"] for page in pages}
        for _ in range(2):
            clock.shift(timedelta(hours=1))
            rebuild()
            for page in pages:
                again = client.get(page)
                assert again["Last-Modified"] == first[page], page
                assert client.get(page, HTTP_IF_MODIFIED_SINCE=first[page]).status_code == 304, page
        # Even with the cache emptied, the article's page says when the article changed.
        cache.clear()
        caching._local_entries.clear()
        assert client.get(url)["Last-Modified"] == first[url] == http_date(EDITED.timestamp())


def test_an_edit_moves_last_modified_and_if_modified_since_gets_the_new_page(client, article):
    url = article.get_absolute_url()
    before = client.get(url)["Last-Modified"]
    with time_machine.travel(datetime(2026, 6, 1, 12, 0, 5, tzinfo=UTC), tick=False):
        article.title = "Retries, revisited"
        article.save()
        for page in [url, reverse("articles:home"), article.category.get_absolute_url()]:
            changed = client.get(page, HTTP_IF_MODIFIED_SINCE=before)
            assert changed.status_code == 200, page
            assert "Retries, revisited" in changed.content.decode()
            assert parse_http_date(changed["Last-Modified"]) == datetime(2026, 6, 1, 12, 0, 5, tzinfo=UTC).timestamp()


def test_a_change_no_article_records_still_moves_last_modified_with_the_etag(client, article):
    """A category renamed changes the page's bytes but no article's updated_at."""
    url = article.get_absolute_url()
    before = client.get(url)
    with time_machine.travel(datetime(2026, 7, 1, 8, 0, tzinfo=UTC), tick=False):
        article.category.name = "Platform Engineering"
        article.category.save()
        changed = client.get(url, HTTP_IF_MODIFIED_SINCE=before["Last-Modified"])
        assert changed.status_code == 200
        assert changed["ETag"] != before["ETag"]
        assert parse_http_date(changed["Last-Modified"]) > parse_http_date(before["Last-Modified"])
        # ...and then stays put while the page does.
        rebuild()
        assert client.get(url)["Last-Modified"] == changed["Last-Modified"]


def test_a_new_release_is_a_change_too(client, article, monkeypatch):
    """A deploy changes pages (links to new static files) without touching any article."""
    url = article.get_absolute_url()
    deployed = datetime(2026, 8, 1, tzinfo=UTC).timestamp()
    monkeypatch.setattr(caching, "release_time", lambda: int(deployed))
    assert client.get(url)["Last-Modified"] == http_date(deployed)


def test_last_modified_is_the_same_from_the_cache_and_without_it(client, settings, article):
    url = article.get_absolute_url()
    cached = client.get(url)["Last-Modified"]
    settings.PAGE_CACHE = False
    assert client.get(url)["Last-Modified"] == cached


def test_finding_the_content_time_never_runs_a_query(article_factory, category, django_assert_num_queries):
    """The context may hold lazy querysets and paginators over a whole listing: only what is loaded counts."""
    from django.core.paginator import Paginator
    from django.template.response import TemplateResponse
    from django.test import RequestFactory

    article_factory(category=category)
    listing = Article.objects.all()
    evaluated = list(Article.objects.all())
    response = TemplateResponse(
        RequestFactory().get("/"),
        "404.html",
        {"listing": listing, "paginator": Paginator(listing, 10), "cards": evaluated, "nested": {"more": listing}},
    )
    with django_assert_num_queries(0):
        moment = caching._content_time(response)
    assert moment == max(a.updated_at for a in evaluated).timestamp()


def test_a_listing_was_last_modified_when_the_newest_article_it_lists_was(client, article, article_factory, category):
    older = article_factory(category=category, title="Idempotency keys")
    Article.objects.filter(pk=older.pk).update(published_at=PUBLISHED, updated_at=datetime(2026, 4, 1, tzinfo=UTC))
    cache.clear()
    for url in [category.get_absolute_url(), reverse("articles:tag", args=["api"]), reverse("articles:home")]:
        assert client.get(url)["Last-Modified"] == http_date(EDITED.timestamp()), url


def test_a_listing_that_lost_an_article_is_newer_though_what_it_still_lists_is_not(client, article, article_factory):
    older = article_factory(category=article.category, title="Idempotency keys")
    Article.objects.filter(pk=older.pk).update(published_at=PUBLISHED, updated_at=datetime(2026, 4, 1, tzinfo=UTC))
    listing = article.category.get_absolute_url()
    before = client.get(listing)
    with time_machine.travel(datetime(2026, 9, 1, tzinfo=UTC), tick=False):
        article.delete()
        after = client.get(listing, HTTP_IF_MODIFIED_SINCE=before["Last-Modified"])
        assert after.status_code == 200
        assert "Retries with backoff" not in after.content.decode()
        assert after["Last-Modified"] == http_date(datetime(2026, 9, 1, tzinfo=UTC).timestamp())
