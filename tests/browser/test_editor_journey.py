import re

import pytest

from articles.models import Article
from tests.conftest import member_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PASSWORD = "correct horse battery staple"


def log_in(page, username):
    p = page.page
    page.goto("/admin/login/")
    p.fill("#id_username", username)
    p.fill("#id_password", PASSWORD)
    p.click("input[type=submit]")
    p.wait_for_url(re.compile(r"/admin/$"))


def choose_category(p, name):
    p.select_option("#id_category", label=name)


def test_editor_writes_previews_saves_a_draft_and_publishes(site, new_page):
    member_of("Editors", "edith")
    editor = new_page(width=1400)
    p = editor.page
    log_in(editor, "edith")
    editor.goto("/admin/articles/article/add/")
    p.locator("#id_title").press_sequentially("Graceful shutdown for web workers")
    assert p.input_value("#id_slug") == "graceful-shutdown-for-web-workers"
    p.fill("#id_summary", "Drain connections, finish requests, then exit.")
    p.click("#id_body")
    p.keyboard.type("## Draining\n\nStop accepting new work.\n\n```python\nsignal.signal(signal.SIGTERM, drain)\n```\n")
    p.wait_for_selector(".markdown-preview h2#h-draining")
    assert p.locator(".markdown-preview .highlight span.n").count() > 0
    assert "min read" in p.locator(".markdown-stats").inner_text()
    choose_category(p, "Product Engineering")
    p.fill("#id_tags", "reliability, devops")
    p.select_option("#id_status", "draft")
    p.click("input[name=_save]")
    assert "was added successfully" in p.locator(".messagelist").inner_text()

    article = Article.objects.get(slug="graceful-shutdown-for-web-workers")
    reader = new_page()
    assert reader.goto(article.get_absolute_url()).status == 404

    editor.goto("/admin/articles/article/?q=Graceful")
    p.locator(f'input[name=_selected_action][value="{article.pk}"]').check()
    p.select_option("select[name=action]", "publish_now")
    p.click("button[name=index]")
    assert "Published 1 article." in p.locator(".messagelist").inner_text()

    assert reader.goto(article.get_absolute_url()).status == 200
    assert reader.page.locator("h1").inner_text() == "Graceful shutdown for web workers"
    reader.goto("/categories/product-engineering/")
    assert reader.page.locator(f'[data-article="{article.slug}"]').count() == 1
    reader.goto("/tags/reliability/")
    assert reader.page.locator(f'[data-article="{article.slug}"]').count() == 1
    reader.goto("/search/?q=graceful+shutdown")
    assert reader.page.locator("[data-article]").first.get_attribute("data-article") == article.slug
    assert editor.console_errors == []
    # The only error a reader saw is the draft's own 404 before it was published.
    assert len(reader.console_errors) == 1 and "404" in reader.console_errors[0]


def test_author_cannot_publish(site, new_page):
    member_of("Authors", "arthur")
    author = new_page(width=1400)
    p = author.page
    log_in(author, "arthur")
    author.goto("/admin/articles/article/add/")
    assert p.locator("#id_status").count() == 0
    p.fill("#id_title", "My first draft")
    p.fill("#id_summary", "Work in progress.")
    p.fill("#id_body", "Nothing to see yet.")
    choose_category(p, "Product Engineering")
    p.click("input[name=_save]")
    assert "was added successfully" in p.locator(".messagelist").inner_text()
    article = Article.objects.get(slug="my-first-draft")
    assert article.status == Article.Status.DRAFT

    author.goto("/admin/articles/article/")
    options = p.locator("select[name=action] option").all_inner_texts()
    assert not any("Publish" in option for option in options)
    assert new_page().goto(article.get_absolute_url()).status == 404


def test_admin_article_form_passes_axe(site, new_page):
    member_of("Editors", "edith")
    editor = new_page(width=1400)
    log_in(editor, "edith")
    editor.goto("/admin/articles/article/add/")
    editor.page.wait_for_selector(".markdown-preview")
    # Before axe runs: axe itself applies inline styles, which the CSP (rightly) blocks.
    assert editor.console_errors == []
    assert editor.axe_violations() == []
