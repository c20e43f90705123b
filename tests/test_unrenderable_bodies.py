"""A body the renderer cannot handle is a validation error with the text kept, never a 500."""

import pytest
from django.urls import reverse

from articles import admin as article_admin
from articles.models import Article
from tests.admin_helpers import change_url, form_data

pytestmark = pytest.mark.django_db

NESTED_LIST = "".join("  " * depth + "- item\n" for depth in range(250))


@pytest.fixture
def renderer_that_fails(monkeypatch):
    """A renderer raising as Python-Markdown did on a list nested 250 deep."""

    def fail(source):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(article_admin, "render_markdown", fail)


def test_an_unrenderable_body_is_a_form_error_and_the_text_is_kept(editor_client, article_factory, renderer_that_fails):
    article = article_factory(draft=True, body="Saved words.")
    typed = "Still here after the error.\n\n" + NESTED_LIST
    response = editor_client.post(change_url(article), form_data(article, body=typed))
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert "could not be turned into a page" in form.errors["body"][0]
    assert form["body"].value() == typed
    assert "Still here after the error." in response.content.decode()
    article.refresh_from_db()
    assert article.body == "Saved words."


def test_the_live_preview_answers_400_with_the_same_message(editor_client, renderer_that_fails):
    response = editor_client.post(reverse("admin:articles_article_preview"), {"body": NESTED_LIST})
    assert response.status_code == 400
    assert "could not be turned into a page" in response.json()["error"]


def test_a_list_nested_250_deep_saves_or_is_refused_but_never_fails(editor_client, category):
    response = editor_client.post(
        reverse("admin:articles_article_add"),
        {
            "title": "Deep",
            "slug": "deep",
            "summary": "s",
            "body": NESTED_LIST,
            "category": category.pk,
            "status": "draft",
            "_save": "Save",
        },
    )
    assert response.status_code in (200, 302)
    if response.status_code == 302:
        assert Article.objects.get(slug="deep").body_html
    else:
        assert response.context["adminform"].form.errors["body"]
    preview = editor_client.post(reverse("admin:articles_article_preview"), {"body": NESTED_LIST})
    assert preview.status_code in (200, 400)


def test_a_body_refused_for_its_size_says_why_in_the_form_and_the_preview(editor_client, article_factory):
    article = article_factory(draft=True, body="Saved words.")
    typed = "[a](b)" * 26_000  # 26,000 links in 156 KB: over the renderer's element limit
    response = editor_client.post(change_url(article), form_data(article, body=typed))
    assert response.status_code == 200
    error = response.context["adminform"].form.errors["body"][0]
    assert "HTML elements" in error and "at most 25,000" in error
    article.refresh_from_db()
    assert article.body == "Saved words."

    preview = editor_client.post(reverse("admin:articles_article_preview"), {"body": typed})
    assert preview.status_code == 400
    assert "at most 25,000" in preview.json()["error"]
