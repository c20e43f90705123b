"""Security headers on every response, and cookies that are Secure, HttpOnly and SameSite."""

import re

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def csp_directives(response):
    policy = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}


@pytest.fixture
def pages(article_factory, staff_user):
    article = article_factory(tags=["api"])
    return [
        reverse("articles:home"),
        article.category.get_absolute_url(),
        reverse("articles:tag", args=["api"]),
        article.get_absolute_url(),
        reverse("search:search") + "?q=topic",
        "/no-such-page/",
        reverse("admin:login"),
    ]


def test_every_response_carries_the_security_headers(client, pages):
    for url in pages:
        response = client.get(url, secure=True)
        assert response.status_code in {200, 404}, url
        assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload", url
        assert response["X-Content-Type-Options"] == "nosniff", url
        assert response["Referrer-Policy"] == "same-origin", url
        assert response["X-Frame-Options"] == "DENY", url
        assert response["Cross-Origin-Opener-Policy"] == "same-origin", url
        assert "Content-Security-Policy" in response, url


def test_the_csp_allows_no_inline_script_or_style_and_nothing_from_elsewhere(client):
    directives = csp_directives(client.get(reverse("articles:home"), secure=True))
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["base-uri"] == ["'none'"]
    assert "'unsafe-inline'" not in client.get(reverse("articles:home"))["Content-Security-Policy"]
    assert "'unsafe-eval'" not in client.get(reverse("articles:home"))["Content-Security-Policy"]


def test_error_pages_carry_the_headers_too(client):
    response = client.get("/articles/no-such-article/", secure=True)
    assert response.status_code == 404
    assert "Content-Security-Policy" in response
    assert response["X-Frame-Options"] == "DENY"


def test_http_is_redirected_to_https_in_production(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    response = client.get(reverse("articles:home"))
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/"
    # Behind the TLS-terminating proxy, which says so in X-Forwarded-Proto.
    assert client.get(reverse("articles:home"), HTTP_X_FORWARDED_PROTO="https").status_code == 200


def test_session_and_csrf_cookies_are_secure_httponly_and_samesite(client, staff_user):
    login = reverse("admin:login")
    client.get(login, secure=True)
    csrf = client.cookies["csrftoken"]
    response = client.post(
        login,
        {"username": "staff", "password": "correct horse battery staple", "csrfmiddlewaretoken": csrf.value},
        secure=True,
    )
    assert response.status_code == 302, response.content.decode()[:500]
    session = response.cookies["sessionid"]
    for cookie in (csrf, session):
        assert cookie["secure"] is True
        assert cookie["httponly"] is True
        assert cookie["samesite"] == "Lax"


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\ssrc=)[^>]*>", re.IGNORECASE)
JSON_DATA = re.compile(r'type="application/(ld\+)?json"')
INLINE_STYLE = re.compile(r"<style\b|\sstyle=", re.IGNORECASE)


def assert_nothing_inline(html):
    # JSON data blocks (admin constants, JSON-LD) are never executed: CSP does not apply to them.
    scripts = [tag for tag in INLINE_SCRIPT.findall(html) if not JSON_DATA.search(tag)]
    assert scripts == []
    assert INLINE_STYLE.findall(html) == []


def test_the_admin_works_under_the_csp_without_inline_script_or_style(client, article_factory):
    from tests.factories import UserFactory

    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    assert_nothing_inline(client.get(reverse("admin:login")).content.decode())
    client.force_login(admin)
    article = article_factory()
    for url in [
        reverse("admin:index"),
        reverse("admin:articles_article_changelist"),
        reverse("admin:articles_article_add"),
        reverse("admin:articles_article_change", args=[article.pk]),
        reverse("admin:articles_category_change", args=[article.category.pk]),
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_nothing_inline(response.content.decode())


def test_public_pages_have_no_inline_script_or_style(client, pages):
    for url in pages[:5]:
        assert_nothing_inline(client.get(url).content.decode())


# ---------------------------------------------------------------- Permissions-Policy, CORP, reporting (kb/headers.py)


def permissions(response):
    return dict(part.strip().split("=", 1) for part in response["Permissions-Policy"].split(","))


def test_every_response_denies_the_browser_features_the_site_never_uses(client, pages):
    for url in [*pages, "/favicon.ico", "/feed/", "/sitemap.xml", "/robots.txt"]:
        response = client.get(url, secure=True)
        policy = permissions(response)
        for feature in ["camera", "microphone", "geolocation", "payment", "usb", "serial", "hid", "browsing-topics"]:
            assert policy[feature] == "()", (url, feature)
        assert set(policy.values()) == {"()"}, url


def test_the_permissions_policy_names_only_features_chromium_knows():
    from django.conf import settings

    # Chromium 156 warns "Unrecognized feature" for these on every page (tests/browser/test_permissions_policy.py).
    unknown_to_chromium = {"battery", "document-domain", "vr", "web-share", "ambient-light-sensor", "bluetooth"}
    assert not unknown_to_chromium & set(settings.PERMISSIONS_POLICY)


def test_pages_are_same_origin_resources_and_public_images_cross_origin(client, pages, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    for url in [*pages, "/feed/", "/sitemap.xml", "/api/v1/articles"]:
        assert client.get(url, secure=True)["Cross-Origin-Resource-Policy"] == "same-origin", url

    # Made to be shown elsewhere: the favicon, an article's social card.
    from articles import cards
    from articles.models import Article

    assert client.get("/favicon.ico", secure=True)["Cross-Origin-Resource-Policy"] == "cross-origin"
    card = cards.card_path(Article.objects.get())
    assert client.get(card, secure=True)["Cross-Origin-Resource-Policy"] == "cross-origin"
    # An image address that is not served is not an image.
    missing = client.get(card.replace("card-", "card-0"), secure=True)
    assert missing["Cross-Origin-Resource-Policy"] == "same-origin"


def test_violations_are_reported_through_report_to_and_report_uri(client, db):
    response = client.get(reverse("articles:home"), secure=True)

    directives = csp_directives(response)
    assert directives["report-to"] == ["csp-endpoint"]
    assert directives["report-uri"] == [reverse("csp-report")]
    assert response["Reporting-Endpoints"] == f'csp-endpoint="{reverse("csp-report")}"'


def test_cached_pages_carry_the_same_headers(client, article_factory, settings):
    settings.PAGE_CACHE = True
    article = article_factory()

    first, second = (client.get(article.get_absolute_url(), secure=True) for _ in range(2))

    for name in [
        "Permissions-Policy",
        "Cross-Origin-Resource-Policy",
        "Reporting-Endpoints",
        "Content-Security-Policy",
    ]:
        assert first[name] == second[name], name
