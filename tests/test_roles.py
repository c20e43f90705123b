import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from articles import services
from articles.models import Article
from tests.admin_helpers import change_url, form_data
from tests.conftest import member_of

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
    assert response.status_code == 404
    article.refresh_from_db()
    assert article.body != "Mine now"


def test_another_authors_draft_does_not_exist_for_an_author_anywhere_in_the_admin(author_client, article_factory):
    other = member_of("Authors", "olga")
    draft = article_factory(draft=True, author=other, title="Olga's secret draft")
    revision = draft.revisions.get()  # the one the factory recorded: one revision per version
    urls = [
        change_url(draft),
        reverse("admin:articles_article_history", args=[draft.pk]),
        reverse("admin:articles_article_delete", args=[draft.pk]),
        reverse("admin:articles_article_revisions", args=[draft.pk]),
        reverse("admin:articles_articlerevision_change", args=[revision.pk]),
    ]
    for url in urls:
        assert author_client.get(url).status_code == 404, url
    posts = [
        reverse("admin:articles_article_preview_link", args=[draft.pk]),
        reverse("admin:articles_article_restore", args=[draft.pk, revision.pk]),
    ]
    for url in posts:
        assert author_client.post(url).status_code == 404, url

    changelist = author_client.get(reverse("admin:articles_article_changelist")).content.decode()
    assert "Olga&#x27;s secret draft" not in changelist and "Olga's secret draft" not in changelist
    revisions = author_client.get(reverse("admin:articles_articlerevision_changelist")).content.decode()
    assert "secret draft" not in revisions


def test_an_author_still_sees_their_own_articles_and_shared_images(author_client, author, article_factory):
    mine = article_factory(draft=True, author=author, title="My own draft")
    published = article_factory(author=author, title="My published piece")
    changelist = author_client.get(reverse("admin:articles_article_changelist")).content.decode()
    assert "My own draft" in changelist and "My published piece" in changelist
    assert author_client.get(change_url(mine)).status_code == 200
    # Published: visible, read-only (only editors change what readers see).
    html = author_client.get(change_url(published)).content.decode()
    assert 'name="body"' not in html
    assert author_client.get(reverse("admin:articles_image_changelist")).status_code == 200


def test_editors_see_every_article(editor_client, article_factory, author):
    draft = article_factory(draft=True, author=author)
    assert editor_client.get(change_url(draft)).status_code == 200
    assert editor_client.get(reverse("admin:articles_article_revisions", args=[draft.pk])).status_code == 200


def test_visibility_rule_lives_in_one_queryset_function(article_factory, author, editor):
    own = article_factory(draft=True, author=author)
    other = article_factory(draft=True, author=editor)
    assert list(services.articles_visible_to(author, Article.objects.order_by("pk"))) == [own]
    assert set(services.articles_visible_to(editor, Article.objects.all())) == {own, other}
