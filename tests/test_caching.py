"""The page cache is never stale: every change shows on the next request, scheduled articles appear on time,
and readers and staff never share entries. Also HTTP validators (ETag, Last-Modified) and 304s."""

import time
from datetime import timedelta

import pytest
import redis
import time_machine
from django.core.cache import cache
from django.db import connection
from django.http import HttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import path, reverse
from django.utils import timezone

from articles import caching
from articles.models import Article
from kb.urls import urlpatterns as site_urlpatterns
from tests.conftest import REDIS_URL

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def page_cache(settings):
    settings.PAGE_CACHE = True
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def article(article_factory, category):
    return article_factory(title="Retries with backoff", category=category, tags=["api"])


def reader_pages(article):
    return [
        reverse("articles:home"),
        article.category.get_absolute_url(),
        reverse("articles:tag", args=["api"]),
        article.get_absolute_url(),
        reverse("search:search") + "?q=retries",
    ]


def html(client, url, **extra):
    response = client.get(url, **extra)
    assert response.status_code == 200, url
    return response.content.decode()


def test_a_second_anonymous_request_is_served_from_the_cache_without_queries(client, article):
    for url in reader_pages(article):
        first = html(client, url)
        with CaptureQueriesContext(connection) as queries:
            second = html(client, url)
        assert second == first, url
        assert len(queries) == 0, url


def test_a_cached_page_still_gets_the_security_headers_and_its_own_request_id(client, article):
    url = article.get_absolute_url()
    client.get(url, secure=True)
    with CaptureQueriesContext(connection) as queries:
        hit = client.get(url, secure=True, HTTP_X_REQUEST_ID="served-from-cache")
    assert len(queries) == 0
    assert hit["X-Request-ID"] == "served-from-cache"
    assert hit["X-Frame-Options"] == "DENY"
    assert hit["Strict-Transport-Security"].startswith("max-age=")
    assert "script-src 'self'" in hit["Content-Security-Policy"]
    assert "Cookie" in hit["Vary"]


def test_a_page_sent_again_by_this_process_has_every_header_of_the_full_path(client, article, monkeypatch):
    served_from_entries = []
    from_entry = caching._from_entry
    monkeypatch.setattr(caching, "_from_entry", lambda *args: served_from_entries.append(1) or from_entry(*args))
    url = article.get_absolute_url()

    rendered = client.get(url, secure=True)
    served_from_entries.clear()  # its first reader gets the page as stored, too
    caching._local_entries.clear()  # as in another process: the page comes from the shared cache
    from_the_cache = client.get(url, secure=True)
    assert served_from_entries == [1]
    as_sent = client.get(url, secure=True)
    assert served_from_entries == [1]  # SentPageMiddleware answered, above the rest

    def headers(response):
        return {name: value for name, value in response.items() if name != "X-Request-ID"}

    assert rendered.content == from_the_cache.content == as_sent.content
    assert headers(rendered) == headers(from_the_cache) == headers(as_sent)
    assert as_sent["X-Request-ID"] != from_the_cache["X-Request-ID"]


def test_a_conditional_request_for_a_sent_page_gets_a_304_with_the_security_headers(client, article):
    url = article.get_absolute_url()
    for _ in range(3):
        etag = client.get(url, secure=True)["ETag"]
    not_modified = client.get(url, secure=True, HTTP_IF_NONE_MATCH=etag)
    assert not_modified.status_code == 304
    assert not_modified["X-Frame-Options"] == "DENY"
    assert "script-src 'self'" in not_modified["Content-Security-Policy"]


def test_plain_http_is_still_redirected_while_the_https_page_is_cached(client, settings, article):
    settings.SECURE_SSL_REDIRECT = True
    url = article.get_absolute_url()
    for _ in range(3):
        assert client.get(url, secure=True).status_code == 200
    redirect = client.get(url)
    assert redirect.status_code == 301
    assert redirect["Location"].startswith("https://")


def test_an_anonymous_reader_with_a_stale_session_cookie_gets_the_same_page(client, article):
    url = article.get_absolute_url()
    first = html(client, url)
    client.cookies["sessionid"] = "expired-or-made-up"
    assert html(client, url) == first


def test_an_edit_shows_on_the_very_next_request(client, article):
    for url in reader_pages(article):
        assert "Retries with backoff" in html(client, url)
    article.title = "Retries with jittered backoff"
    article.save()
    for url in reader_pages(article):
        assert "Retries with jittered backoff" in html(client, url), url


def test_publishing_shows_on_the_very_next_request(client, article_factory, category):
    draft = article_factory(draft=True, title="A draft about queues", category=category, tags=["api"])
    url = draft.get_absolute_url()
    for page in [reverse("articles:home"), category.get_absolute_url()]:
        assert "A draft about queues" not in html(client, page)
    assert client.get(url).status_code == 404
    assert client.get(reverse("articles:tag", args=["api"])).status_code == 404  # only a draft has the tag

    draft.status, draft.published_at = Article.Status.PUBLISHED, timezone.now()
    draft.save()
    for page in [reverse("articles:home"), category.get_absolute_url(), reverse("articles:tag", args=["api"]), url]:
        assert "A draft about queues" in html(client, page), page


def test_unpublishing_shows_on_the_very_next_request(client, article):
    pages = reader_pages(article)
    for url in pages:
        assert "Retries with backoff" in html(client, url)
    article.status = Article.Status.DRAFT
    article.save()
    assert client.get(article.get_absolute_url()).status_code == 404
    assert "Retries with backoff" not in html(client, reverse("articles:home"))
    assert "Retries with backoff" not in html(client, article.category.get_absolute_url())
    assert "Retries with backoff" not in html(client, reverse("search:search") + "?q=retries")
    assert client.get(reverse("articles:tag", args=["api"])).status_code == 404


def test_deleting_an_article_shows_on_the_very_next_request(client, article):
    assert "Retries with backoff" in html(client, reverse("articles:home"))
    article.delete()
    assert "Retries with backoff" not in html(client, reverse("articles:home"))


def test_tagging_and_untagging_show_on_the_very_next_request(client, article_factory, article):
    other = article_factory(title="Idempotency keys", category=article.category)
    tag_page = reverse("articles:tag", args=["api"])
    assert "Idempotency keys" not in html(client, tag_page)
    other.tags.add("api")
    assert "Idempotency keys" in html(client, tag_page)
    other.tags.remove("api")
    assert "Idempotency keys" not in html(client, tag_page)


def test_renaming_a_category_or_tag_shows_on_the_very_next_request(client, article):
    from taggit.models import Tag

    assert "Product Engineering" in html(client, article.get_absolute_url())
    category = article.category
    category.name = "Platform Engineering"
    category.save()
    assert "Platform Engineering" in html(client, article.get_absolute_url())

    tag = Tag.objects.get(slug="api")
    tag.name = "HTTP APIs"
    tag.save()
    assert "HTTP APIs" in html(client, article.get_absolute_url())


def test_a_scheduled_article_appears_on_time_without_any_save(client, settings, article_factory, category):
    settings.PAGE_CACHE_SECONDS = 24 * 3600  # so that only the cap can end the entry
    with time_machine.travel(timezone.now(), tick=True) as clock:
        scheduled = article_factory(
            title="Launching on Monday", category=category, published_at=timezone.now() + timedelta(hours=1)
        )
        listing = category.get_absolute_url()
        assert "Launching on Monday" not in html(client, listing)

        # Until its time, the cached page is used (no queries)...
        clock.shift(timedelta(minutes=59))
        with CaptureQueriesContext(connection) as queries:
            assert "Launching on Monday" not in html(client, listing)
        assert len(queries) == 0

        # ...and not a moment after: the entry's timeout was cut to the publication time.
        clock.shift(timedelta(minutes=1, seconds=1))
        assert "Launching on Monday" in html(client, listing)
        assert client.get(scheduled.get_absolute_url()).status_code == 200


def test_moving_a_schedule_with_an_update_that_sends_no_signal_is_still_on_time(
    client, settings, article_factory, category
):
    """A queryset .update() bypasses the signals that bump the content version; the timeout cap alone must do."""
    settings.PAGE_CACHE_SECONDS = 24 * 3600
    with time_machine.travel(timezone.now(), tick=True) as clock:
        scheduled = article_factory(
            title="Launching soon", category=category, published_at=timezone.now() + timedelta(hours=3)
        )
        listing = category.get_absolute_url()
        version = caching.content_version()
        Article.objects.filter(pk=scheduled.pk).update(published_at=timezone.now() + timedelta(minutes=10))
        assert caching.content_version() == version  # no signal, no bump
        assert "Launching soon" not in html(client, listing)  # cached now, capped at ten minutes

        clock.shift(timedelta(minutes=10, seconds=1))
        assert "Launching soon" in html(client, listing)


def test_the_timeout_is_capped_at_the_next_scheduled_publication(settings, article_factory):
    settings.PAGE_CACHE_SECONDS = 600
    assert caching.entry_timeout() == 600
    article_factory(draft=True, published_at=timezone.now() + timedelta(seconds=100))  # a draft never publishes
    assert caching.entry_timeout() == 600
    article_factory(published_at=timezone.now() + timedelta(seconds=100))
    assert 98 <= caching.entry_timeout() <= 100
    article_factory(published_at=timezone.now() + timedelta(seconds=30))
    assert 28 <= caching.entry_timeout() <= 30


def test_staff_and_readers_never_share_an_entry(client, article, staff_user, article_factory):
    draft = article_factory(draft=True, title="Secret roadmap", category=article.category)
    url = article.get_absolute_url()
    reader_page = html(client, url)
    assert "Edit this article" not in reader_page

    client.force_login(staff_user)
    staff_page = client.get(url)
    assert "Edit this article" in staff_page.content.decode()
    assert staff_page["Cache-Control"] == "private, no-cache"
    assert client.get(draft.get_absolute_url()).status_code == 200

    client.logout()
    assert "Edit this article" not in html(client, url)
    assert client.get(draft.get_absolute_url()).status_code == 404


def test_staff_are_never_served_a_cached_page(client, article, staff_user):
    html(client, article.get_absolute_url())  # cached for readers
    client.force_login(staff_user)
    with CaptureQueriesContext(connection) as queries:
        assert "Edit this article" in html(client, article.get_absolute_url())
    assert len(queries) > 0


def test_a_commit_bumps_the_version_again_once_per_transaction(article_factory, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        article = article_factory(tags=["api"])
        article.title = "Changed"
        article.save()
        article.tags.add("reliability")
        during = caching.content_version()
    assert len(callbacks) == 1
    assert caching.content_version() > during


# --- HTTP validators ---------------------------------------------------------


def test_public_pages_send_validators_and_must_be_revalidated(client, article):
    for url in reader_pages(article):
        response = client.get(url)
        assert response["ETag"].startswith('"'), url
        assert response.has_header("Last-Modified"), url
        assert set(response["Cache-Control"].split(", ")) == {"public", "max-age=0", "must-revalidate"}, url
        assert "Cookie" in response["Vary"], url


def test_conditional_requests_get_304_until_the_page_changes(client, article):
    url = article.get_absolute_url()
    first = client.get(url)
    not_modified = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert client.get(url, HTTP_IF_MODIFIED_SINCE=first["Last-Modified"]).status_code == 304

    article.summary = "Now with a better summary."
    article.save()
    changed = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert changed.status_code == 200
    assert changed["ETag"] != first["ETag"]


def test_validators_work_with_the_server_cache_off_too(client, settings, article):
    settings.PAGE_CACHE = False
    url = article.get_absolute_url()
    etag = client.get(url)["ETag"]
    assert client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304


# --- What is never cached ----------------------------------------------------

calls = {"cookie": 0, "missing": 0}


@caching.cache_public_page
def sets_a_cookie(request):
    calls["cookie"] += 1
    response = HttpResponse(f"call {calls['cookie']}")
    response.set_cookie("seen", "1")
    return response


@caching.cache_public_page
def not_found(request):
    calls["missing"] += 1
    return HttpResponse(f"call {calls['missing']}", status=404)


urlpatterns = [path("sets-a-cookie/", sets_a_cookie), path("not-found/", not_found), *site_urlpatterns]


@pytest.mark.urls("tests.test_caching")
def test_responses_that_set_cookies_are_never_cached(client):
    assert client.get("/sets-a-cookie/").content != client.get("/sets-a-cookie/").content


@pytest.mark.urls("tests.test_caching")
def test_responses_other_than_200_are_never_cached(client):
    first, second = client.get("/not-found/"), client.get("/not-found/")
    assert first.status_code == second.status_code == 404
    assert first.content != second.content


# --- Real Redis --------------------------------------------------------------


def test_with_redis_an_edit_shows_on_the_next_request_and_pages_are_stored_there(client, redis_cache, article):
    url = article.get_absolute_url()
    assert "Retries with backoff" in html(client, url)
    stored = redis.Redis.from_url(REDIS_URL).keys(f"{redis_cache}:*page:*")
    assert len(stored) == 1
    with CaptureQueriesContext(connection) as queries:
        assert "Retries with backoff" in html(client, url)
    assert len(queries) == 0

    article.title = "Retries, revisited"
    article.save()
    assert "Retries, revisited" in html(client, url)


def test_with_redis_a_scheduled_article_appears_on_time_by_the_real_clock(
    client, redis_cache, article_factory, category
):
    publish_at = timezone.now() + timedelta(seconds=2)
    article_factory(title="Going live shortly", category=category, published_at=publish_at)
    listing = category.get_absolute_url()
    assert "Going live shortly" not in html(client, listing)
    [key] = redis.Redis.from_url(REDIS_URL).keys(f"{redis_cache}:*page:*")
    assert 0 < redis.Redis.from_url(REDIS_URL).ttl(key) <= 2

    time.sleep(max(0.0, (publish_at - timezone.now()).total_seconds()) + 0.05)
    assert "Going live shortly" in html(client, listing)


# --- Invalidation that matches the change (#14) -------------------------------


@pytest.fixture
def version():
    """The content version, read as a counter: `version.changed()` says whether it moved since the last call."""

    class Version:
        def __init__(self):
            self.last = caching.content_version()

        def changed(self) -> bool:
            now = caching.content_version()
            moved, self.last = now != self.last, now
            return moved

    return Version()


def test_changes_no_public_page_shows_leave_cached_pages_alone(client, article, article_factory, editor, version):
    from articles import previews

    url = article.get_absolute_url()
    first = html(client, url)
    version.changed()

    draft = article_factory(draft=True, title="Work in progress", category=article.category)
    assert not version.changed()  # a new draft
    draft.body = "More words, still a draft."
    draft.save()
    assert not version.changed()  # a draft saved again (with its revision)
    draft.tags.add("brand-new-tag", "api")
    draft.tags.remove("api")
    assert not version.changed()  # a draft's tags, a new tag included
    previews.create_preview_link(article=draft, by=editor)
    assert not version.changed()  # a preview link
    client.force_login(editor)  # last_login
    client.logout()
    from tests.factories import UserFactory

    UserFactory(username="newcomer")
    assert not version.changed()  # a login, a new user who has published nothing

    with CaptureQueriesContext(connection) as queries:
        assert html(client, url) == first  # still served from the cache
    assert len(queries) == 0


def test_changes_readers_see_still_invalidate(client, article, article_factory, version):
    from taggit.models import Tag

    draft = article_factory(draft=True, category=article.category)
    version.changed()
    draft.status, draft.published_at = Article.Status.PUBLISHED, timezone.now()
    draft.save()
    assert version.changed()  # publishing
    draft.status = Article.Status.DRAFT
    draft.save()
    assert version.changed()  # unpublishing
    article.summary = "A better summary."
    article.save()
    assert version.changed()  # editing a public article
    scheduled = article_factory(published_at=timezone.now() + timedelta(days=3))
    assert version.changed()  # scheduling
    scheduled.published_at = timezone.now() + timedelta(hours=1)
    scheduled.save()
    assert version.changed()  # a scheduled article's date
    article.tags.add("reliability")
    assert version.changed()  # a public article's tags
    tag = Tag.objects.get(slug="api")
    tag.name = "HTTP APIs"
    tag.save()
    assert version.changed()  # a tag renamed
    article.category.name = "Platform"
    article.category.save()
    assert version.changed()  # a category renamed
    author = article.author
    if author is not None:
        author.first_name = "Renamed"
        author.save()
        assert version.changed()  # an author's name
    article.delete()
    assert version.changed()  # a public article deleted


def test_an_authors_new_name_shows_on_the_next_request(client, article_factory, category, version):
    from tests.factories import UserFactory

    writer = UserFactory(username="writer", first_name="Ada", last_name="Lovelace")
    article = article_factory(title="Engines", author=writer, category=category)
    version.changed()
    writer.first_name = "Augusta"
    writer.save()
    assert version.changed()
    writer.save(update_fields=["last_login"])
    assert not version.changed()
    assert article.get_absolute_url()
