"""Promoted results and search analytics (#13) in the browser: a reader searches and opens results on
cached pages, with and without JavaScript, and an editor reads the report."""

import csv
import io
import time

import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache

from articles.models import Article
from search.models import Promotion, QueryLog, ResultClick
from tests.browser.conftest import SCREENSHOTS
from tests.browser.test_article_lifecycle import log_in, submit
from tests.conftest import member_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

QUERY = "retry"


@pytest.fixture
def page_cache(settings):
    settings.PAGE_CACHE = True
    cache.clear()
    yield
    cache.clear()


def eventually(check, seconds=10):
    """The beacon arrives after the page: wait for what it records."""
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def screenshot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def search_from_header(page, query):
    p = page.page
    page.goto("/")
    p.fill("#site-search", query)
    with p.expect_navigation():
        p.press("#site-search", "Enter")


def test_a_reader_searches_and_opens_a_result_and_both_are_recorded(site, new_page, page_cache):
    reader = new_page()
    search_from_header(reader, QUERY)
    p = reader.page
    cards = p.locator("main .card[data-article]")
    assert cards.count() >= 3
    assert eventually(lambda: QueryLog.objects.filter(query=QUERY).count() == 1)
    search = QueryLog.objects.get(query=QUERY)
    assert search.script and search.results >= 3 and search.page == 1

    second = cards.nth(1)
    slug = second.get_attribute("data-article")
    with p.expect_navigation():
        second.locator(".card-title a").click()
    assert p.url.endswith(f"/articles/{slug}/")
    click = eventually(lambda: ResultClick.objects.filter(search=search).first())
    assert click is not None
    assert (click.article.slug, click.position, click.promoted) == (slug, 2, False)
    assert QueryLog.objects.get(pk=search.pk).clicks == 1
    assert reader.console_errors == []  # no CSP violation, no script error

    # The next reader gets the page from the cache: their search is recorded all the same.
    again = new_page()
    response = again.goto(f"/search/?q={QUERY}")
    assert response.status == 200
    assert eventually(lambda: QueryLog.objects.filter(query=QUERY).count() == 2)
    assert again.console_errors == []


def test_an_editors_pick_comes_first_marked_and_its_click_is_recorded(site, new_page, page_cache):
    howto = Article.objects.published().exclude(title__icontains=QUERY).order_by("title").first()
    Promotion.objects.create(query="Retry", article=howto, description="Read this before adding a retry loop.")
    reader = new_page()
    reader.goto(f"/search/?q={QUERY.upper()}%3F")
    p = reader.page
    first = p.locator("main .card[data-article]").first
    assert first.get_attribute("data-article") == howto.slug
    assert first.locator(".pick-badge").inner_text() == "Editor’s pick"
    assert "Read this before adding a retry loop." in first.inner_text()
    assert p.locator(f'main .card[data-article="{howto.slug}"]').count() == 1
    assert reader.axe_violations() == []
    screenshot(p, "search-editors-pick")
    with p.expect_navigation():
        first.locator(".card-title a").click()
    click = eventually(lambda: ResultClick.objects.first())
    assert click is not None and (click.article_id, click.position, click.promoted) == (howto.pk, 1, True)


def test_without_javascript_the_search_works_and_is_still_counted(site, browser, page_cache):
    context = browser.new_context(java_script_enabled=False)
    try:
        p = context.new_page()
        response = p.goto(f"{site}/search/?q={QUERY}")
        assert response.status == 200
        cards = p.locator("main .card[data-article]")
        assert cards.count() >= 3
        assert eventually(lambda: QueryLog.objects.filter(query=QUERY, script=False).count() == 1)
        slug = cards.first.get_attribute("data-article")
        with p.expect_navigation():
            cards.first.locator(".card-title a").click()
        assert p.url.endswith(f"/articles/{slug}/")
        # Plain links: the article opens; which one cannot be known without a script.
        time.sleep(0.5)
        assert not ResultClick.objects.exists()
    finally:
        context.close()


def test_an_editor_reads_the_report_and_downloads_it_and_an_author_cannot(site, new_page, page_cache):
    # Readers search first: two that find nothing, one whose results nobody opens.
    reader = new_page()
    for query in ("quokka xylophone", "quokka xylophone", QUERY):
        reader.goto(f"/search/?q={query.replace(' ', '+')}")
    assert eventually(lambda: QueryLog.objects.count() == 3)

    editor = member_of("Editors", "edith")
    editor.user_permissions.add(*Permission.objects.filter(content_type__app_label="search"))
    page = new_page()
    log_in(page, "edith")
    p = page.page
    assert "Searches with no results this week" in p.locator("main, #content").first.inner_text()
    with p.expect_navigation():
        p.get_by_role("link", name="The search report").click()
    assert "quokka xylophone" in p.locator("#report-zero").inner_text()
    assert QUERY in p.locator("#report-unopened").inner_text()
    with p.expect_navigation():
        p.get_by_role("link", name="Last 90 days").click()
    assert p.locator(".search-report-periods a[aria-current=page]").inner_text() == "Last 90 days"
    assert page.axe_violations() == []
    assert page.console_errors == []
    screenshot(p, "search-report")
    p.set_viewport_size({"width": 390, "height": 900})
    screenshot(p, "search-report-390")
    p.set_viewport_size({"width": 1280, "height": 900})

    with p.expect_download() as download:
        p.locator("#report-zero").get_by_role("link", name="Download all as CSV").click()
    rows = list(csv.reader(io.StringIO(open(download.value.path(), encoding="utf-8").read())))
    assert rows[0] == ["query", "searches", "last"]
    assert rows[1][:2] == ["quokka xylophone", "2"]

    # "Pin an article" from the report, with the article chosen through the autocomplete.
    with p.expect_navigation():
        p.locator("#report-unopened").get_by_role("link", name="Pin an article").first.click()
    assert p.locator("#id_query").input_value() == QUERY
    target = Article.objects.published().order_by("title").first()
    p.locator(".field-article .select2-selection").click()
    p.locator(".select2-search__field").fill(target.title[:12])
    p.locator(".select2-results__option", has_text=target.title).first.click()
    submit(p, "input[name=_save]")
    assert Promotion.objects.get().article == target

    author = member_of("Authors", "arthur")
    assert author.pk
    other = new_page()
    log_in(other, "arthur")
    response = other.goto("/admin/search/querylog/report/")
    assert response.status == 403
