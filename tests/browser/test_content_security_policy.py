"""The CSP in a real browser: the admin and reader pages run with no violation, and inline script is refused."""

import re

import pytest
from django.urls import reverse

from articles.models import Article
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def log_in_as_superuser(page):
    UserFactory(username="root", is_staff=True, is_superuser=True)
    page.goto(reverse("admin:login"))
    page.page.fill("#id_username", "root")
    page.page.fill("#id_password", "correct horse battery staple")
    page.page.click("input[type=submit]")
    page.page.wait_for_url(re.compile(r"/admin/$"))


def test_admin_login_and_change_form_render_without_csp_violations(site, page):
    page.goto(reverse("admin:login"))
    assert page.console_errors == []
    log_in_as_superuser(page)
    article = Article.objects.first()
    for url in [
        reverse("admin:articles_article_change", args=[article.pk]),
        reverse("admin:articles_article_changelist"),
        reverse("admin:articles_category_add"),
    ]:
        assert page.goto(url).status == 200
        page.page.wait_for_load_state("networkidle")
        assert page.console_errors == [], url


def test_reader_pages_render_without_csp_violations(site, page):
    article = Article.objects.published().first()
    for url in [reverse("articles:home"), article.get_absolute_url(), reverse("search:search") + "?q=api"]:
        assert page.goto(url).status == 200
        page.page.wait_for_load_state("networkidle")
        assert page.console_errors == [], url


def test_an_injected_inline_script_is_blocked(site, page):
    page.goto(reverse("articles:home"))
    page.page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.pwned = true';"
        " document.body.appendChild(s); }"
    )
    assert page.page.evaluate("() => window.pwned === undefined")
    assert any("Content Security Policy" in error for error in page.console_errors)
