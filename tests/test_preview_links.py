from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from articles import previews
from articles.models import PreviewLink
from tests.conftest import member_of

pytestmark = pytest.mark.django_db


def create_url(article):
    return reverse("admin:articles_article_preview_link", args=[article.pk])


def revoke_url(link):
    return reverse("admin:articles_article_preview_link_revoke", args=[link.article_id, link.pk])


def test_editor_creates_a_preview_link_that_shows_a_draft_to_anyone(editor_client, editor, article_factory):
    client = Client()  # an anonymous reviewer; `editor_client` is the logged-in `client` fixture
    article = article_factory(draft=True, title="Secret plans")
    response = editor_client.post(create_url(article), follow=True)
    html = response.content.decode()
    assert "Preview link for reviewers, valid for 7 days or until revoked" in html
    link = PreviewLink.objects.get(article=article)
    assert link.created_by == editor
    assert link.expires_at - timezone.now() > timedelta(days=6, hours=23)
    assert link.last_opened_at is None

    page = client.get(link.get_absolute_url())
    assert page.status_code == 200
    assert "Secret plans" in page.content.decode()
    assert "Not published." in page.content.decode()
    assert page["X-Robots-Tag"] == "noindex, nofollow"
    assert page["Cache-Control"] == "private, no-store"
    link.refresh_from_db()
    assert link.last_opened_at is not None
    assert client.get(article.get_absolute_url()).status_code == 404


def test_a_preview_link_shows_the_article_as_it_is_now(client, article_factory, editor):
    article = article_factory(draft=True, body="First words.")
    link = previews.create_preview_link(article=article, by=editor)
    article.body = "Second thoughts."
    article.save()
    html = client.get(link.get_absolute_url()).content.decode()
    assert "Second thoughts." in html
    assert "First words." not in html


def test_the_change_form_lists_links_and_their_state(editor_client, editor, article_factory):
    article = article_factory(draft=True)
    active = previews.create_preview_link(article=article, by=editor)
    revoked = previews.revoke_preview_link(link=previews.create_preview_link(article=article, by=editor), by=editor)
    html = editor_client.get(reverse("admin:articles_article_change", args=[article.pk])).content.decode()
    assert active.token in html
    assert revoked.token not in html  # a dead link is listed, but its address is not offered for copying
    assert f'data-preview-link="{revoked.pk}"' in html
    assert "Revoked by edith" in html
    assert f'form="preview-link-revoke-{active.pk}"' in html
    assert f'id="preview-link-revoke-{active.pk}"' in html
    assert f'id="preview-link-revoke-{revoked.pk}"' not in html


def test_a_revoked_link_is_a_404_that_says_so(editor_client, editor, article_factory):
    client = Client()
    article = article_factory(draft=True)
    link = previews.create_preview_link(article=article, by=editor)
    assert client.get(link.get_absolute_url()).status_code == 200
    response = editor_client.post(revoke_url(link), follow=True)
    assert "Revoked the preview link" in response.content.decode()
    link.refresh_from_db()
    assert link.revoked_at is not None and link.revoked_by == editor
    response = client.get(link.get_absolute_url())
    assert response.status_code == 404
    assert "no longer valid" in response.content.decode()


def test_an_expired_link_is_a_404(client, article_factory, editor):
    article = article_factory(draft=True)
    link = previews.create_preview_link(article=article, by=editor)
    with time_machine.travel(timezone.now() + timedelta(days=previews.PREVIEW_DAYS, minutes=1)):
        response = client.get(link.get_absolute_url())
    assert response.status_code == 404
    assert "expired" in response.content.decode()


def test_a_link_to_a_deleted_article_is_a_404(client, article_factory, editor):
    article = article_factory(draft=True)
    link = previews.create_preview_link(article=article, by=editor)
    url = link.get_absolute_url()
    article.delete()
    assert client.get(url).status_code == 404


def test_an_author_creates_links_only_for_what_they_may_edit(author_client, author, editor, article_factory):
    own = article_factory(draft=True, author=author)
    assert author_client.post(create_url(own)).status_code == 302
    assert PreviewLink.objects.filter(article=own, created_by=author).count() == 1

    published = article_factory(author=author)
    assert author_client.post(create_url(published)).status_code == 403
    someone_elses = article_factory(draft=True, author=editor)
    assert author_client.post(create_url(someone_elses)).status_code == 404
    assert not PreviewLink.objects.filter(article__in=[published, someone_elses]).exists()


def test_the_creator_and_editors_can_revoke_but_other_authors_cannot(client, article_factory, author, editor):
    article = article_factory(draft=True, author=author)
    by_editor = previews.create_preview_link(article=article, by=editor)
    by_author = previews.create_preview_link(article=article, by=author)

    client.force_login(author)
    # The author does not see the editor's link, and cannot revoke it.
    html = client.get(reverse("admin:articles_article_change", args=[article.pk])).content.decode()
    assert by_author.token in html and by_editor.token not in html
    assert client.post(revoke_url(by_editor)).status_code == 404
    assert client.post(revoke_url(by_author)).status_code == 302

    other = member_of("Authors", "olga")
    client.force_login(other)
    by_editor.refresh_from_db()
    assert client.post(revoke_url(by_editor)).status_code == 404
    by_editor.refresh_from_db()
    assert by_editor.revoked_at is None

    client.force_login(editor)
    assert client.post(revoke_url(by_editor)).status_code == 302
    by_editor.refresh_from_db()
    assert by_editor.revoked_at is not None


def test_a_reviewer_reloading_writes_last_opened_once_a_minute(client, article_factory, editor):
    link = previews.create_preview_link(article=article_factory(draft=True), by=editor)
    client.get(link.get_absolute_url())
    first = PreviewLink.objects.get(pk=link.pk).last_opened_at
    client.get(link.get_absolute_url())
    assert PreviewLink.objects.get(pk=link.pk).last_opened_at == first
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        client.get(link.get_absolute_url())
    assert PreviewLink.objects.get(pk=link.pk).last_opened_at > first


def test_garbage_tokens_are_404_not_500(client, db):
    for token in ["x" * 30, "-" * 43, "a" * 600, "not-a-token"]:
        assert client.get(f"/preview/{token}/").status_code == 404
    assert client.get("/preview/%00%00%00%00%00%00%00%00%00%00%00%00%00%00%00%00%00%00%00%00/").status_code == 404


def test_preview_link_creation_and_revocation_require_post(editor_client, editor, article_factory):
    article = article_factory(draft=True)
    assert editor_client.get(create_url(article)).status_code == 405
    link = previews.create_preview_link(article=article, by=editor)
    assert editor_client.get(revoke_url(link)).status_code == 405
