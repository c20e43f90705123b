import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from articles.models import Article
from tests.admin_helpers import change_url, form_data

pytestmark = pytest.mark.django_db


def test_migrations_create_authors_and_editors_with_the_publish_permission():
    editors = Group.objects.get(name="Editors")
    authors = Group.objects.get(name="Authors")
    assert editors.permissions.filter(codename="publish_article").exists()
    assert not authors.permissions.filter(codename="publish_article").exists()
    assert authors.permissions.filter(codename="add_article").exists()


def test_author_can_create_and_edit_their_own_draft(author_client, author, category):
    response = author_client.post(
        reverse("admin:articles_article_add"),
        {
            "title": "Draft one",
            "slug": "draft-one",
            "summary": "s",
            "body": "b",
            "category": category.pk,
            "_save": "Save",
        },
    )
    assert response.status_code == 302
    article = Article.objects.get(slug="draft-one")
    response = author_client.post(change_url(article), form_data(article, body="Better words"))
    assert response.status_code == 302
    article.refresh_from_db()
    assert article.body == "Better words"


def test_a_crafted_post_from_an_author_leaves_the_article_a_draft(author_client, author, category):
    response = author_client.post(
        reverse("admin:articles_article_add"),
        {
            "title": "Sneaky",
            "slug": "sneaky",
            "summary": "s",
            "body": "b",
            "category": category.pk,
            "status": "published",
            "published_at_0": "2020-01-01",
            "published_at_1": "00:00:00",
            "_save": "Save",
        },
    )
    assert response.status_code == 302
    article = Article.objects.get(slug="sneaky")
    assert article.status == Article.Status.DRAFT
    assert not Article.objects.published().filter(slug="sneaky").exists()

    author_client.post(change_url(article), form_data(article, status="published", published_at_0="2020-01-01"))
    article.refresh_from_db()
    assert article.status == Article.Status.DRAFT


def test_author_sees_no_publishing_controls(author_client, author, article_factory):
    article = article_factory(draft=True, author=author)
    html = author_client.get(change_url(article)).content.decode()
    assert 'name="status"' not in html
    assert 'name="published_at_0"' not in html
    changelist = author_client.get(reverse("admin:articles_article_changelist")).content.decode()
    assert 'value="publish_now"' not in changelist


def test_author_cannot_change_a_published_article(author_client, author, article_factory):
    article = article_factory(author=author)
    response = author_client.post(change_url(article), form_data(article, body="Vandalised"))
    assert response.status_code == 403
    article.refresh_from_db()
    assert article.body != "Vandalised"


def test_author_cannot_change_someone_elses_draft(author_client, article_factory, editor):
    article = article_factory(draft=True, author=editor)
    response = author_client.post(change_url(article), form_data(article, body="Mine now"))
    assert response.status_code == 403
    article.refresh_from_db()
    assert article.body != "Mine now"


def test_editor_can_change_publish_schedule_and_unpublish_any_article(editor_client, author, article_factory):
    article = article_factory(draft=True, author=author)
    response = editor_client.post(
        change_url(article),
        form_data(article, status="published", published_at_0="2030-01-01", published_at_1="09:00:00"),
    )
    assert response.status_code == 302
    article.refresh_from_db()
    assert article.state == "Scheduled"

    response = editor_client.post(change_url(article), form_data(article, status="draft"))
    article.refresh_from_db()
    assert article.state == "Draft"


def test_publishing_without_a_date_defaults_to_now(editor_client, article_factory):
    article = article_factory(draft=True)
    editor_client.post(
        change_url(article), form_data(article, status="published", published_at_0="", published_at_1="")
    )
    article.refresh_from_db()
    assert article.state == "Published"
