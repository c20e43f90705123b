import pytest
from django.urls import reverse

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
