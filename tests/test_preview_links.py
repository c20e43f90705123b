from datetime import timedelta

import pytest
from django.core import signing
from django.urls import reverse

from articles import previews

pytestmark = pytest.mark.django_db


def test_editor_creates_a_preview_link_that_shows_a_draft_to_anyone(editor_client, article_factory, client):
    article = article_factory(draft=True, title="Secret plans")
    response = editor_client.post(reverse("admin:articles_article_preview_link", args=[article.pk]), follow=True)
    html = response.content.decode()
    assert "Preview link for reviewers, valid for 7 days" in html
    url = html.split('Preview link for reviewers, valid for 7 days: <a href="')[1].split('"')[0]

    reviewer = client.__class__()
    page = reviewer.get(url)
    assert page.status_code == 200
    assert "Secret plans" in page.content.decode()
    assert "Not published." in page.content.decode()
    assert page["X-Robots-Tag"] == "noindex, nofollow"
    assert reviewer.get(article.get_absolute_url()).status_code == 404


def test_a_tampered_preview_link_is_a_404(client, article_factory):
    article = article_factory(draft=True)
    token = previews.preview_token(article)
    tampered = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    assert client.get(reverse("articles:preview", args=[tampered])).status_code == 404
    other = signing.dumps({"article": article.pk}, salt="something-else")
    assert client.get(reverse("articles:preview", args=[other])).status_code == 404


def test_an_expired_preview_link_is_a_404(client, article_factory, monkeypatch):
    article = article_factory(draft=True)
    token = previews.preview_token(article)
    assert client.get(reverse("articles:preview", args=[token])).status_code == 200
    # Signing reads the clock through time.time(); eight days later the link is dead.
    import time

    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + timedelta(days=8).total_seconds())
    response = client.get(reverse("articles:preview", args=[token]))
    assert response.status_code == 404
    assert "expired" in response.content.decode()


def test_preview_link_for_a_deleted_article_is_a_404(client, article_factory):
    article = article_factory(draft=True)
    token = previews.preview_token(article)
    article.delete()
    assert client.get(reverse("articles:preview", args=[token])).status_code == 404


def test_garbage_tokens_are_404_not_500(client, db):
    for token in ["x" * 30, "::::::::::::::::::::::::", "a" * 600]:
        assert client.get(f"/preview/{token}/").status_code == 404
    assert client.get("/preview/%00%00%00%00%00%00%00%00%00%00%00%00%00%00%00%00%00%00%00%00/").status_code == 404


def test_preview_link_creation_requires_post(editor_client, article_factory):
    article = article_factory(draft=True)
    assert editor_client.get(reverse("admin:articles_article_preview_link", args=[article.pk])).status_code == 405
