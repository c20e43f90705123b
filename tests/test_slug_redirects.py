import pytest
from django.urls import reverse

from articles import services
from articles.models import Article, SlugRedirect
from tests.admin_helpers import change_url, form_data

pytestmark = pytest.mark.django_db


def test_changing_a_slug_keeps_the_old_url_working_with_a_301(editor_client, article_factory, client):
    article = article_factory(slug="old-name")
    response = editor_client.post(change_url(article), form_data(article, slug="new-name"))
    assert response.status_code == 302
    reader = client.__class__()
    old = reader.get("/articles/old-name/")
    assert old.status_code == 301
    assert old["Location"] == reverse("articles:article", args=["new-name"])
    assert reader.get(old["Location"]).status_code == 200


def test_renaming_twice_keeps_every_old_url_pointing_at_the_current_one(editor_client, article_factory, client):
    article = article_factory(slug="first")
    editor_client.post(change_url(article), form_data(article, slug="second"))
    article.refresh_from_db()
    editor_client.post(change_url(article), form_data(article, slug="third"))
    reader = client.__class__()
    for old in ("first", "second"):
        response = reader.get(f"/articles/{old}/")
        assert response.status_code == 301
        assert response["Location"] == "/articles/third/"


def test_taking_a_slug_back_stops_its_redirect(editor_client, article_factory, client):
    article = article_factory(slug="alpha")
    editor_client.post(change_url(article), form_data(article, slug="beta"))
    article.refresh_from_db()
    editor_client.post(change_url(article), form_data(article, slug="alpha"))
    reader = client.__class__()
    assert reader.get("/articles/alpha/").status_code == 200
    assert reader.get("/articles/beta/").status_code == 301


def test_an_old_slug_of_a_draft_is_still_a_404_for_readers(editor_client, article_factory, client):
    article = article_factory(slug="was-public")
    editor_client.post(change_url(article), form_data(article, slug="now-draft", status="draft"))
    reader = client.__class__()
    assert reader.get("/articles/was-public/").status_code == 404


# A slug redirect belongs to the article it points at: nobody else's save may break that old link.


def test_another_articles_old_slug_is_refused_on_the_slug_field_and_its_redirect_survives(
    editor_client, article_factory, client
):
    renamed = article_factory(slug="runbooks", title="Writing runbooks")
    editor_client.post(change_url(renamed), form_data(renamed, slug="operational-runbooks"))
    other = article_factory(slug="runbooks-draft", draft=True)

    response = editor_client.post(change_url(other), form_data(other, slug="runbooks"))

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors["slug"] == [
        "/articles/runbooks/ was the address of “Writing runbooks” and still redirects there, "
        "so old links to it keep working. Choose another slug."
    ]
    other.refresh_from_db()
    assert other.slug == "runbooks-draft"
    assert client.get("/articles/runbooks/")["Location"] == "/articles/operational-runbooks/"


def test_an_author_adding_a_draft_cannot_take_an_editors_old_url(author_client, editor, article_factory, category):
    renamed = article_factory(slug="old-url", title="The editor's piece")
    renamed.slug = "new-url"
    services.save_article(article=renamed, by=editor, expected_version=renamed.version)
    response = author_client.post(
        reverse("admin:articles_article_add"),
        {"title": "Mine", "slug": "old-url", "summary": "s", "body": "b", "category": category.pk, "_save": "Save"},
    )
    assert response.status_code == 200
    assert "“The editor&#x27;s piece”" in response.content.decode()
    assert not Article.objects.filter(title="Mine").exists()
    assert SlugRedirect.objects.get(old_slug="old-url").article == renamed


def test_services_refuse_the_slug_too_and_write_nothing(editor, article_factory):
    renamed = article_factory(slug="first-name", title="Renamed")
    renamed.slug = "second-name"
    services.save_article(article=renamed, by=editor, expected_version=1)
    other = article_factory(slug="other")

    other.slug = "first-name"
    with pytest.raises(services.SlugTaken) as raised:
        services.save_article(article=other, by=editor, expected_version=other.version)
    assert raised.value.owner == renamed
    assert "“Renamed”" in raised.value.messages[0]

    new = Article(title="New", slug="first-name", summary="s", body="b", category=renamed.category)
    with pytest.raises(services.SlugTaken):
        services.save_article(article=new, by=editor, expected_version=None)

    other.refresh_from_db()
    assert other.slug == "other" and other.version == 1 and other.revisions.count() == 1
    assert not Article.objects.filter(title="New").exists()
    assert SlugRedirect.objects.get(old_slug="first-name").article == renamed


def test_an_article_taking_back_its_own_old_slug_removes_only_its_own_redirect(editor, article_factory):
    article = article_factory(slug="alpha")
    article.slug = "beta"
    services.save_article(article=article, by=editor, expected_version=1)
    article.slug = "alpha"
    services.save_article(article=article, by=editor, expected_version=2)
    assert list(SlugRedirect.objects.values_list("old_slug", "article")) == [("beta", article.pk)]
