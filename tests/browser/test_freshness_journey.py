"""Knowledge that stays true (#16), in the browser: the reader's notice and "Was this helpful?" on cached
pages, with and without JavaScript; the editor's dashboard and "Still accurate"."""

import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from articles.models import Article, ArticleRevision, Feedback
from articles.services import save_article
from tests.browser.conftest import SCREENSHOTS
from tests.browser.test_article_lifecycle import log_in, message, submit
from tests.conftest import member_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def page_cache(settings):
    settings.PAGE_CACHE = True
    cache.clear()
    yield
    cache.clear()


def make_overdue(article, days=14 * 31):
    """Published and last reviewed `days` ago, as if time had passed."""
    when = timezone.now() - timedelta(days=days)
    Article.objects.filter(pk=article.pk).update(
        published_at=when, last_reviewed_at=when, review_due_at=when + timedelta(days=182)
    )


def screenshot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    p = page.page
    size = p.viewport_size
    for width in (1280, 390):
        p.set_viewport_size({"width": width, "height": 900})
        p.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
    p.set_viewport_size(size)


def test_a_reader_sees_the_overdue_notice_and_answers_on_a_cached_page(site, new_page, browser, page_cache):
    article = Article.objects.published().order_by("pk").first()
    make_overdue(article)
    other = Article.objects.published().order_by("pk")[1]
    # Another article links to it: "Referenced by".
    other.body += f"\n\nSee also [{article.title}]({article.get_absolute_url()}).\n"
    other = save_article(article=other, expected_version=None)

    # Someone else reads the page first, so the next reader gets it from the cache.
    first = new_page()
    first.goto(article.get_absolute_url())
    reader = new_page()
    response = reader.goto(article.get_absolute_url())
    assert response.status == 200
    p = reader.page
    notice = p.locator(".review-notice")
    assert notice.inner_text() == "This article was last reviewed 14 months ago; some details may have changed."
    assert re.match(r"Reviewed \d{1,2} \w{3} \d{4}", p.locator(".article-meta .reviewed").inner_text())
    assert p.locator(".feedback-form input[name=csrfmiddlewaretoken]").count() == 0
    assert other.title in p.locator(".referenced-by").inner_text()
    assert reader.axe_violations() == []
    screenshot(reader, "article-overdue")

    # "No", then a comment: two pages of their own, each after a redirect.
    submit(p, p.get_by_role("button", name="No", exact=True))
    assert "Your answer was recorded" in p.locator("main").inner_text()
    assert reader.axe_violations() == []
    p.fill("textarea[name=comment]", "The retry example uses a library that no longer exists.")
    submit(p, p.get_by_role("button", name="Send comment"))
    assert "Your comment was sent to the article’s owner" in p.locator("main").inner_text()
    vote = Feedback.objects.get()
    assert (vote.article_id, vote.helpful) == (article.pk, False)
    assert vote.comment == "The retry example uses a library that no longer exists."

    # The same reader again, the same day: one answer a day.
    reader.goto(article.get_absolute_url())
    submit(p, p.get_by_role("button", name="Yes", exact=True))
    assert "You already told us about this article today" in p.locator("main").inner_text()
    assert Feedback.objects.count() == 1

    # Another article, from the cache, answered "Yes".
    first.goto(other.get_absolute_url())
    reader.goto(other.get_absolute_url())
    submit(p, p.get_by_role("button", name="Yes", exact=True))
    assert Feedback.objects.filter(article=other, helpful=True).count() == 1
    assert reader.console_errors == [] and first.console_errors == []


def test_a_reader_without_javascript_can_answer(site, browser, live_server, page_cache):
    article = Article.objects.published().order_by("pk").first()
    context = browser.new_context(java_script_enabled=False)
    try:
        p = context.new_page()
        p.goto(live_server.url + article.get_absolute_url())
        with p.expect_navigation():
            p.get_by_role("button", name="No", exact=True).click()
        p.fill("textarea[name=comment]", "Too short.")
        with p.expect_navigation():
            p.get_by_role("button", name="Send comment").click()
        assert "Thank you for the comment" in p.locator("h1").inner_text()
    finally:
        context.close()
    assert Feedback.objects.get().comment == "Too short."


def test_an_editor_sees_the_dashboard_and_marks_an_article_still_accurate(site, new_page, page_cache):
    editor = member_of("Editors", "edith")
    article = Article.objects.published().order_by("pk").first()
    Article.objects.filter(pk=article.pk).update(owner=editor)
    make_overdue(article)
    draft = save_article(
        article=Article(
            title="Half-written runbook",
            slug="half-written-runbook",
            summary="Not yet.",
            body="Soon.",
            category=article.category,
            author=editor,
        ),
        expected_version=None,
    )
    Feedback.objects.create(
        article=article, helpful=False, comment="Step 3 fails on Python 3.12.", day=timezone.localdate(), voter="v"
    )
    reader = new_page()
    reader.goto(article.get_absolute_url())
    assert reader.page.locator(".review-notice").count() == 1

    page = new_page(width=1400)
    p = page.page
    log_in(page, "edith")
    page.goto("/admin/")
    dashboard = p.locator(".dashboard")
    assert draft.title in dashboard.locator("#dashboard-drafts ~ ul").inner_text()
    reviews = dashboard.locator("#dashboard-reviews ~ ul").inner_text()
    assert article.title in reviews and "Overdue since" in reviews and "A reader said “No” with a comment" in reviews
    assert "Step 3 fails on Python 3.12." in dashboard.locator("#dashboard-feedback ~ ul").inner_text()
    assert page.axe_violations() == []
    screenshot(page, "admin-dashboard")

    # "All your articles needing review": the filtered changelist.
    submit(p, p.get_by_role("link", name="All your articles needing review"))
    assert "review=needed" in p.url and article.title in p.locator("#result_list").inner_text()

    # The article's page in the admin: one click on "Still accurate".
    page.goto(f"/admin/articles/article/{article.pk}/change/")
    assert "Review overdue since" in p.locator(".review-panel").inner_text()
    assert "Step 3 fails on Python 3.12." in p.locator(".review-panel").inner_text()
    p.fill("#review-note", "Checked against the current client")
    submit(p, p.get_by_role("button", name="Still accurate"))
    assert "is still accurate" in message(p)
    article.refresh_from_db()
    assert article.review_due_at > timezone.now() and article.last_reviewed_by == editor
    revision = ArticleRevision.objects.filter(article=article).first()
    assert revision.reviewed and revision.note == "Reviewed: still accurate (Checked against the current client)"
    page.goto(f"/admin/articles/article/{article.pk}/revisions/")
    assert "Reviewed" in p.locator("#revision-list tbody tr").first.inner_text()

    # Readers see it at once, cache or not: no notice, today's review date.
    reader.goto(article.get_absolute_url())
    assert reader.page.locator(".review-notice").count() == 0
    assert timezone.now().strftime("%Y") in reader.page.locator(".article-meta .reviewed").inner_text()
    # The dashboard no longer lists it.
    page.goto("/admin/")
    assert article.title not in p.locator(".dashboard #dashboard-reviews ~ *").first.inner_text()
    assert page.console_errors == []
