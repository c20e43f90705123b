"""Every state an article passes through, by clicks and keystrokes, as Editor and as Author.

After each step the test reads the database and the public page, not only
the admin's message.
"""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from articles.models import Article, ArticleRevision, PreviewLink
from articles.services import save_article
from tests.browser.conftest import SCREENSHOTS, Page
from tests.conftest import member_of
from tests.factories import CategoryFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PASSWORD = "correct horse battery staple"


def log_in(page, username):
    p = page.page
    page.goto("/admin/login/")
    p.fill("#id_username", username)
    p.fill("#id_password", PASSWORD)
    submit(p, "input[type=submit]")
    p.wait_for_url(re.compile(r"/admin/"))


def submit(p, locator):
    """Click something that submits a form, and wait for the page it leads to."""
    with p.expect_navigation():
        (p.locator(locator) if isinstance(locator, str) else locator).click()


def wait_for_stash(p, text):
    """Until the unsaved text is in the browser's storage (it is written 0.4 s after typing stops)."""
    p.wait_for_function(
        "text => Object.keys(localStorage).some(k => k.startsWith('kb-unsaved:') && localStorage[k].includes(text))",
        arg=text,
    )


def message(p):
    return p.locator(".messagelist").inner_text()


def status_of(page, path):
    """What an anonymous reader gets at `path`, without following redirects."""
    response = page.page.request.get(page.base_url + path, max_redirects=0)
    return response.status, response.headers


def screenshot_change_form(page, state):
    """The change form at desktop and phone widths, for the closing note and for looking at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    p = page.page
    size = p.viewport_size
    for width in (1280, 390):
        p.set_viewport_size({"width": width, "height": 900})
        p.screenshot(path=str(SCREENSHOTS / f"change-form-{state}-{width}.png"), full_page=True)
    p.set_viewport_size(size)


def type_at_end_of_body(p, text):
    body = p.locator("#id_body")
    body.click()
    p.keyboard.press("Control+End")
    p.keyboard.type(text)


def body_belongs_to_the_article_form(p):
    return p.evaluate(
        "() => document.querySelector('[name=body]').form && document.querySelector('[name=body]').form.id"
    )


def run_list_action(page, article, action):
    p = page.page
    page.goto(f"/admin/articles/article/?q={article.title.split()[0]}")
    p.locator(f'input[name=_selected_action][value="{article.pk}"]').check()
    p.select_option("select[name=action]", action)
    submit(p, "button[name=index]")


def test_editor_walks_an_article_through_every_state(site, new_page):
    member_of("Editors", "edith")
    editor = new_page(width=1400)
    reader = new_page()
    p = editor.page
    log_in(editor, "edith")

    # New: the slug follows the title until the editor sets it, then stays put.
    editor.goto("/admin/articles/article/add/")
    assert body_belongs_to_the_article_form(p) == "article_form"
    p.locator("#id_title").press_sequentially("Blue green deploys")
    assert p.input_value("#id_slug") == "blue-green-deploys"
    p.fill("#id_slug", "blue-green")
    p.locator("#id_title").click()
    p.keyboard.press("End")
    p.keyboard.type(" without downtime")
    assert p.input_value("#id_slug") == "blue-green"
    p.fill("#id_summary", "Two environments, one router, no downtime.")
    p.click("#id_body")
    p.keyboard.type("## Switching\n\nPoint the router at green.\n")
    p.wait_for_selector(".markdown-preview h2#h-switching")
    p.select_option("#id_category", label="Product Engineering")
    p.fill("#id_tags", "deployment, reliability")
    p.select_option("#id_status", "draft")
    screenshot_change_form(editor, "new")
    submit(p, "input[name=_continue]")
    assert "was added successfully" in message(p)
    article = Article.objects.get(slug="blue-green")
    assert (article.title, article.status, article.version) == ("Blue green deploys without downtime", "draft", 1)
    assert article.revisions.count() == 1
    assert status_of(reader, "/articles/blue-green/")[0] == 404

    # The saved draft, edited again: live preview shown, the save stored.
    assert body_belongs_to_the_article_form(p) == "article_form"
    p.wait_for_selector(".markdown-preview h2#h-switching")
    screenshot_change_form(editor, "draft")
    type_at_end_of_body(p, "\n## Rollback\n\nSwitch the router back.\n")
    p.wait_for_selector(".markdown-preview h2#h-rollback")
    submit(p, "input[name=_continue]")
    assert "was changed successfully" in message(p)
    article.refresh_from_db()
    assert "Switch the router back." in article.body
    assert article.version == 2
    assert list(article.revisions.values_list("version", flat=True)) == [2, 1]
    assert "Switch the router back." in p.input_value("#id_body")

    # A shareable preview link, opened by an anonymous reader.
    submit(p, p.get_by_role("button", name="Create a shareable preview link"))
    assert "Preview link for reviewers" in message(p)
    link = PreviewLink.objects.get(article=article)
    assert link.created_by.username == "edith"
    assert p.input_value(".preview-link-url") == editor.base_url + link.get_absolute_url()
    response = reader.goto(link.get_absolute_url())
    assert response.status == 200
    assert response.headers["cache-control"] == "private, no-store"
    assert reader.page.locator("h1").inner_text() == "Blue green deploys without downtime"
    assert "Switch the router back." in reader.page.locator(".prose").inner_text()
    link.refresh_from_db()
    assert link.last_opened_at is not None
    assert status_of(reader, "/articles/blue-green/")[0] == 404

    # Scheduled for tomorrow: still not public.
    tomorrow = timezone.localtime() + timedelta(days=1)
    p.select_option("#id_status", "published")
    p.fill("#id_published_at_0", tomorrow.strftime("%Y-%m-%d"))
    p.fill("#id_published_at_1", "09:00:00")
    submit(p, "input[name=_continue]")
    assert "was changed successfully" in message(p)
    article.refresh_from_db()
    assert article.state == "Scheduled"
    assert status_of(reader, "/articles/blue-green/")[0] == 404
    reader.goto("/categories/product-engineering/")
    assert reader.page.locator('[data-article="blue-green"]').count() == 0
    screenshot_change_form(editor, "scheduled")

    # Published now, from the list's action.
    run_list_action(editor, article, "publish_now")
    assert "Published 1 article." in message(p)
    article.refresh_from_db()
    assert article.state == "Published" and article.published_at <= timezone.now()
    assert reader.goto("/articles/blue-green/").status == 200
    reader.goto("/categories/product-engineering/")
    assert reader.page.locator('[data-article="blue-green"]').count() == 1

    # The published article, edited.
    editor.goto(f"/admin/articles/article/{article.pk}/change/")
    screenshot_change_form(editor, "published")
    type_at_end_of_body(p, "\nWatch the error rate for ten minutes.\n")
    submit(p, "input[name=_save]")
    assert "was changed successfully" in message(p)
    article.refresh_from_db()
    assert "Watch the error rate" in article.body and article.state == "Published"
    reader.goto("/articles/blue-green/")
    assert "Watch the error rate for ten minutes." in reader.page.locator(".prose").inner_text()

    # Unpublished, from the list's action.
    run_list_action(editor, article, "unpublish")
    assert "Moved 1 article back to draft." in message(p)
    article.refresh_from_db()
    assert article.status == "draft"
    assert status_of(reader, "/articles/blue-green/")[0] == 404

    # An old revision restored: the draft edited once, before the error-rate line.
    version_2 = ArticleRevision.objects.get(article=article, version=2)
    editor.goto(f"/admin/articles/article/{article.pk}/revisions/")
    row = p.locator("#revision-list tbody tr").filter(has=p.locator("td:nth-child(3)", has_text=re.compile(r"^2$")))
    submit(p, row.get_by_role("button", name="Restore"))
    assert "Restored version 2" in message(p)
    article.refresh_from_db()
    assert article.body == version_2.body
    assert "Watch the error rate" not in p.input_value("#id_body")
    assert article.status == "draft"
    versions = list(article.revisions.values_list("version", flat=True))
    assert versions == sorted(set(versions), reverse=True)  # one revision per version
    screenshot_change_form(editor, "restored")

    # Renamed and published again: the old address answers 301.
    p.fill("#id_slug", "blue-green-deployments")
    p.select_option("#id_status", "published")
    p.fill("#id_published_at_0", "")
    p.fill("#id_published_at_1", "")
    submit(p, "input[name=_continue]")
    assert "was changed successfully" in message(p)
    article.refresh_from_db()
    assert (article.slug, article.state) == ("blue-green-deployments", "Published")
    status, headers = status_of(reader, "/articles/blue-green/")
    assert status == 301 and headers["location"].endswith("/articles/blue-green-deployments/")
    assert reader.goto("/articles/blue-green/").status == 200
    assert reader.page.url.endswith("/articles/blue-green-deployments/")

    assert editor.console_errors == []


def test_author_writes_shares_revokes_and_an_editor_publishes(site, new_page):
    member_of("Authors", "arthur")
    member_of("Editors", "edith")
    olga = member_of("Authors", "olga")
    someone_elses = save_article(
        article=Article(
            title="Olga's draft", slug="olgas-draft", summary="s", body="b", author=olga, category=CategoryFactory()
        ),
        expected_version=None,
    )
    author = new_page(width=1400)
    reader = new_page()
    p = author.page
    log_in(author, "arthur")

    # New and saved: always a draft, the author's own.
    author.goto("/admin/articles/article/add/")
    assert p.locator("#id_status").count() == 0
    p.locator("#id_title").press_sequentially("Canary releases")
    assert p.input_value("#id_slug") == "canary-releases"
    p.fill("#id_summary", "Send a little traffic first.")
    p.click("#id_body")
    p.keyboard.type("## Why\n\nSmall blast radius.\n")
    p.select_option("#id_category", label="Product Engineering")
    submit(p, "input[name=_continue]")
    assert "was added successfully" in message(p)
    article = Article.objects.get(slug="canary-releases")
    assert (article.status, article.author.username, article.version) == ("draft", "arthur", 1)

    # Edited again, with the live preview.
    p.wait_for_selector(".markdown-preview h2#h-why")
    type_at_end_of_body(p, "\n## How\n\nFive percent, then fifty.\n")
    p.wait_for_selector(".markdown-preview h2#h-how")
    submit(p, "input[name=_continue]")
    assert "was changed successfully" in message(p)
    article.refresh_from_db()
    assert "Five percent, then fifty." in article.body and article.version == 2

    # Shared, opened, revoked: the link then says it is no longer valid.
    submit(p, p.get_by_role("button", name="Create a shareable preview link"))
    link = PreviewLink.objects.get(article=article)
    assert link.created_by.username == "arthur"
    assert reader.goto(link.get_absolute_url()).status == 200
    assert "Five percent, then fifty." in reader.page.locator(".prose").inner_text()
    submit(p, p.get_by_role("button", name="Revoke"))
    assert "Revoked the preview link" in message(p)
    link.refresh_from_db()
    assert link.revoked_at is not None
    response = reader.goto(link.get_absolute_url())
    assert response.status == 404
    assert "no longer valid" in reader.page.locator("main").inner_text()

    # Another author's draft does not exist for this author.
    assert author.goto(f"/admin/articles/article/{someone_elses.pk}/change/").status == 404
    assert author.goto(f"/admin/articles/article/{someone_elses.pk}/revisions/").status == 404
    author.goto("/admin/articles/article/")
    assert p.get_by_text("Olga's draft").count() == 0

    # An editor publishes it; the author then sees it read-only, and readers see it.
    editor = new_page(width=1400)
    log_in(editor, "edith")
    editor.goto(f"/admin/articles/article/{article.pk}/change/")
    editor.page.select_option("#id_status", "published")
    submit(editor.page, "input[name=_save]")
    assert "was changed successfully" in message(editor.page)
    article.refresh_from_db()
    assert article.state == "Published"
    assert reader.goto("/articles/canary-releases/").status == 200
    author.goto(f"/admin/articles/article/{article.pk}/change/")
    assert p.locator("textarea[name=body]").count() == 0
    assert "Five percent, then fifty." in p.locator(".field-body").inner_text()

    # The only errors the author saw are the two 404s of the other author's draft.
    assert len(author.console_errors) == 2 and all("404" in error for error in author.console_errors)
    assert editor.console_errors == []


def test_unsaved_text_survives_a_closed_tab_and_an_expired_session(site, new_page):
    member_of("Editors", "edith")
    article = save_article(
        article=Article(
            title="Runbooks", slug="runbooks", summary="s", body="First line.\n", category=CategoryFactory()
        ),
        expected_version=None,
    )
    editor = new_page(width=1400)
    p = editor.page
    log_in(editor, "edith")
    change = f"/admin/articles/article/{article.pk}/change/"
    editor.goto(change)
    type_at_end_of_body(p, "Words I never saved.\n")
    wait_for_stash(p, "Words I never saved.")

    # Leaving asks first.
    dialogs = []

    def dismiss(dialog):
        dialogs.append(dialog.type)
        dialog.dismiss()

    p.on("dialog", dismiss)
    with p.expect_event("dialog"):
        p.get_by_role("link", name="Revisions", exact=True).click()
    assert dialogs == ["beforeunload"]
    assert p.url.endswith(change)

    # The tab is closed without saving; the next visit offers the text back.
    context = p.context
    p.close()
    again = Page(context.new_page(), editor.base_url)
    again.goto(change)
    q = again.page
    notice = q.locator("#unsaved-work")
    assert "never saved" in notice.inner_text()
    assert "Words I never saved." not in q.input_value("#id_body")
    q.get_by_role("button", name="Restore my unsaved text").click()
    assert "Words I never saved." in q.input_value("#id_body")
    q.wait_for_selector(".markdown-preview:has-text('Words I never saved.')")
    submit(q, "input[name=_continue]")
    assert "was changed successfully" in message(q)
    article.refresh_from_db()
    assert "Words I never saved." in article.body
    assert q.evaluate("() => Object.keys(localStorage).filter(k => k.startsWith('kb-unsaved:'))") == []
    assert q.locator("#unsaved-work").is_hidden()

    # The session expires while typing: the save lands on the login page, the text is offered after logging in.
    type_at_end_of_body(q, "Typed as the session ran out.\n")
    wait_for_stash(q, "Typed as the session ran out.")
    context.clear_cookies(name="sessionid")  # the CSRF cookie outlives a session, as it does in life
    submit(q, "input[name=_continue]")
    q.wait_for_url(re.compile(r"/admin/login/"))
    q.fill("#id_username", "edith")
    q.fill("#id_password", PASSWORD)
    submit(q, "input[type=submit]")
    q.wait_for_url(re.compile(r"/change/"))
    q.get_by_role("button", name="Restore my unsaved text").click()
    submit(q, "input[name=_continue]")
    assert "was changed successfully" in message(q)
    article.refresh_from_db()
    assert "Typed as the session ran out." in article.body

    # On the add form too.
    again.goto("/admin/articles/article/add/")
    q.fill("#id_title", "Half-written idea")
    q.click("#id_body")
    q.keyboard.type("Nothing saved yet.")
    wait_for_stash(q, "Nothing saved yet.")
    q.close()
    third = Page(context.new_page(), editor.base_url)
    third.goto("/admin/articles/article/add/")
    third.page.get_by_role("button", name="Restore my unsaved text").click()
    assert third.page.input_value("#id_title") == "Half-written idea"
    assert third.page.input_value("#id_body") == "Nothing saved yet."
    assert third.console_errors == []


def test_restoring_text_written_against_an_older_version_shows_the_conflict(site, new_page):
    member_of("Editors", "edith")
    article = save_article(
        article=Article(title="Queues", slug="queues", summary="s", body="Original.\n", category=CategoryFactory()),
        expected_version=None,
    )
    editor = new_page(width=1400)
    p = editor.page
    log_in(editor, "edith")
    editor.goto(f"/admin/articles/article/{article.pk}/change/")
    type_at_end_of_body(p, "My unsaved paragraph.\n")
    wait_for_stash(p, "My unsaved paragraph.")
    context = p.context
    p.close()

    # Someone else saves meanwhile.
    article.refresh_from_db()
    article.body = "Their newer text.\n"
    save_article(article=article, expected_version=article.version)

    again = Page(context.new_page(), editor.base_url)
    again.goto(f"/admin/articles/article/{article.pk}/change/")
    q = again.page
    assert "has been saved since" in q.locator("#unsaved-work").inner_text()
    q.get_by_role("button", name="Restore my unsaved text").click()
    assert q.input_value("#id_edit_version") == "1"
    submit(q, "input[name=_continue]")
    assert q.locator(".edit-conflict").count() == 1
    article.refresh_from_db()
    assert article.body == "Their newer text.\n"  # nothing overwritten silently
    assert "My unsaved paragraph." in q.input_value("#id_body")
