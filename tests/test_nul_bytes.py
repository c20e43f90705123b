"""A NUL byte is a 4xx, never a 500 (#15): a 400 with the site's page in a cookie or the admin.

PostgreSQL refuses NUL in any string; before kb.middleware.NulByteMiddleware
the admin's autocomplete and search, and a session cookie, reached a query with one.
"""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("root", "root@example.com", "correct horse battery staple")
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    "url",
    [
        "/admin/autocomplete/?term=%00abc&app_label=articles&model_name=article&field_name=category",
        "/admin/articles/article/?q=%00",
        "/admin/articles/article/?category__id__exact=%00",
        "/admin/articles/article/?status=%00",
        "/admin/auth/user/?q=a%00b",
        "/admin/articles/article/%00/change/",
        "/admin/articles/image/?q=%00",
    ],
)
def test_a_nul_byte_in_an_admin_address_is_a_400_with_the_sites_page(admin_client, url):
    response = admin_client.get(url)
    assert response.status_code == 400
    assert "couldn’t understand that request" in response.content.decode()
    assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    "url,status",
    [
        ("/search/?q=%00", 400),  # the search form refuses it
        ("/tags/%00/", 404),  # the <slug:> converter
        ("/categories/x/?page=%00", 404),  # the page form
        ("/api/v1/articles?q=%00", 400),  # the API's schema
        ("/?page=%00", 200),  # parameters a page does not read are ignored
        ("/feed/?x=%00", 200),
    ],
)
def test_a_nul_byte_in_a_public_address_is_refused_by_the_pages_own_forms_or_ignored(client, url, status):
    assert client.get(url).status_code == status


def test_a_nul_byte_in_a_session_cookie_is_a_400_not_a_500(client):
    # A quoted cookie: Django unquotes \000 to NUL, which the session lookup would send to PostgreSQL.
    assert client.get(reverse("admin:index"), HTTP_COOKIE='sessionid="\\000abcdefghijk"').status_code == 400


def test_a_nul_byte_in_a_posted_form_is_a_400(admin_client):
    response = admin_client.post(reverse("admin:articles_category_add"), {"name": "a\x00b", "slug": "ab"})
    assert response.status_code == 400


def test_ordinary_admin_searches_and_the_autocomplete_still_work(admin_client):
    assert admin_client.get("/admin/articles/article/?q=retry%25").status_code == 200
    response = admin_client.get(
        "/admin/autocomplete/",
        {"term": "pro", "app_label": "articles", "model_name": "article", "field_name": "category"},
    )
    assert response.status_code == 200
