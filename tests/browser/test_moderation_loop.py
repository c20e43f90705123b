"""Review before publishing (#17), the whole loop in the browser.

An author submits, an editor asks for changes, the author fixes the draft and
submits again, the editor approves, and a reader sees the article. The
database, the emails and the public page are checked after each step.
"""

import re

import pytest
from django.core import mail

from articles.models import Article
from tests.browser.conftest import SCREENSHOTS
from tests.browser.test_article_lifecycle import log_in, message, status_of, submit, type_at_end_of_body
from tests.conftest import member_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def screenshot(page, name, widths=(1280, 390)):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    p = page.page
    size = p.viewport_size
    for width in widths:
        p.set_viewport_size({"width": width, "height": 900})
        p.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
    p.set_viewport_size(size)


def test_author_submits_editor_requests_changes_author_resubmits_editor_approves_reader_reads(site, new_page, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []
    member_of("Authors", "arthur")
    member_of("Editors", "edith")
    author, editor, reader = new_page(width=1400), new_page(width=1400), new_page()
    a, e = author.page, editor.page
    log_in(author, "arthur")
    log_in(editor, "edith")

    # The author writes a draft and submits it.
    author.goto("/admin/articles/article/add/")
    a.locator("#id_title").press_sequentially("Retry budgets")
    a.fill("#id_summary", "How many retries a service may spend.")
    a.click("#id_body")
    a.keyboard.type("## Budget\n\nTen percent of requests.\n")
    a.select_option("#id_category", label="Product Engineering")
    submit(a, "input[name=_continue]")
    article = Article.objects.get(slug="retry-budgets")
    assert a.get_by_text("When it is ready, submit it for review").is_visible()
    submit(a, a.get_by_role("button", name="Submit for review"))
    assert "Submitted “Retry budgets” for review" in message(a)
    article.refresh_from_db()
    assert article.moderation == "in_review" and article.status == "draft"
    assert a.locator("input[name=_save]").count() == 0  # read-only while it waits
    assert a.get_by_role("button", name="Withdraw").is_visible()
    assert [m.to for m in mail.outbox] == [["edith@example.com"]]
    author.goto("/admin/articles/article/?state=in_review")
    assert a.locator(".state-badge.state-in-review").inner_text() == "In review"
    assert status_of(reader, "/articles/retry-budgets/")[0] == 404

    # The editor finds it in the queue, reads the whole text, asks for changes.
    editor.goto("/admin/")
    queue = e.locator(".review-queue")
    assert "Retry budgets" in queue.inner_text()
    screenshot(editor, "review-queue")
    assert editor.axe_violations() == []
    submit(e, queue.get_by_role("link", name="Retry budgets"))
    assert "A new article: the whole text" in e.locator("#content-main").inner_text()
    assert e.locator(".diff-add", has_text="Ten percent of requests.").count() == 1
    screenshot(editor, "review-page", widths=(1280,))
    assert editor.axe_violations() == []
    e.fill("#changes-comment", "Say what happens when the budget runs out.")
    submit(e, e.get_by_role("button", name="Request changes"))
    assert "Sent “Retry budgets” back to its author" in message(e)
    assert "Nothing is waiting for review." in e.locator(".review-queue").inner_text()
    article.refresh_from_db()
    assert article.moderation == "changes_requested"
    assert mail.outbox[-1].to == ["arthur@example.com"] and len(mail.outbox) == 2

    # The author sees the comment on the draft, fixes it, submits again.
    author.goto(f"/admin/articles/article/{article.pk}/change/")
    note = a.locator(".requested-changes")
    assert "edith" in note.inner_text() and "Say what happens when the budget runs out." in note.inner_text()
    screenshot(author, "changes-requested-author")
    assert author.console_errors == []
    assert author.axe_violations() == []
    # axe itself sets inline styles on this page (the editor's textarea), which the CSP reports: not the page's.
    author.console_errors.clear()
    type_at_end_of_body(a, "\n## When it runs out\n\nFail fast.\n")
    submit(a, "input[name=_continue]")
    assert "was changed successfully" in message(a)
    assert a.locator(".requested-changes").count() == 1  # until the next submission
    submit(a, a.get_by_role("button", name="Submit for review"))
    assert a.locator(".requested-changes").count() == 0
    article.refresh_from_db()
    assert article.moderation == "in_review" and "Fail fast." in article.body
    assert len(mail.outbox) == 3

    # The editor approves from the review page; the reader sees it.
    editor.goto("/admin/")
    submit(e, e.locator(".review-queue").get_by_role("link", name="Retry budgets"))
    assert e.locator(".diff-add", has_text="Fail fast.").count() == 1
    submit(e, e.get_by_role("button", name="Approve", exact=True))
    assert "Approved and published “Retry budgets”." in message(e)
    article.refresh_from_db()
    assert article.state == "Published" and article.moderation == ""
    assert mail.outbox[-1].to == ["arthur@example.com"] and len(mail.outbox) == 4
    assert reader.goto("/articles/retry-budgets/").status == 200
    assert "Fail fast." in reader.page.locator(".prose").inner_text()

    # The history shows every step beside the revisions.
    editor.goto(f"/admin/articles/article/{article.pk}/revisions/")
    steps = e.locator(".moderation-history tbody tr")
    assert steps.count() == 4
    assert re.search(r"In review\s+Changes requested", steps.nth(2).inner_text())
    assert author.console_errors == [] and editor.console_errors == []
