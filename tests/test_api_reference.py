"""The API reference at /api/v1/docs (#15): generated from the OpenAPI document, server-rendered, no script."""

import re
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from tests.test_html_validity import vnu_messages

pytestmark = pytest.mark.django_db


class Page(HTMLParser):
    """The ids, fragment links, scripts, stylesheets and meta tags of a page."""

    def __init__(self, html):
        super().__init__()
        self.ids, self.fragments, self.scripts, self.stylesheets, self.meta = set(), [], [], [], {}
        self.html_lang = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "html":
            self.html_lang = attrs.get("lang")
        if tag == "a" and attrs.get("href", "").startswith("#"):
            self.fragments.append(attrs["href"][1:])
        if tag == "script":
            self.scripts.append(attrs.get("src"))
        if tag == "link" and attrs.get("rel") == "stylesheet":
            self.stylesheets.append(attrs["href"])
        if tag == "meta" and "name" in attrs:
            self.meta[attrs["name"]] = attrs.get("content")


@pytest.fixture
def reference(client):
    response = client.get(reverse("api-v1:openapi-view"))
    assert response.status_code == 200
    return response


@pytest.fixture
def document(client):
    return client.get(reverse("api-v1:openapi-json")).json()


def test_the_reference_is_at_the_docs_address_as_a_page_of_its_own(reference):
    assert reverse("api-v1:openapi-view") == "/api/v1/docs"
    assert reference["Content-Type"] == "text/html; charset=utf-8"


def test_the_reference_lists_every_operation_parameter_and_response_of_the_openapi_document(reference, document):
    html = reference.content.decode()
    page = Page(html)

    assert document["paths"], "the document describes no operation"
    for path, item in document["paths"].items():
        for method, operation in item.items():
            section = re.search(
                rf'<section class="api-block" id="{operation["operationId"]}".*?</section>', html, re.S
            ).group(0)
            assert f"<code>{path}</code>" in section
            assert f'<span class="api-method">{method.upper()}</span>' in section
            assert operation["summary"] in section
            for parameter in operation["parameters"]:
                assert f"<code>{parameter['name']}</code>" in section, (path, parameter["name"])
            for status in operation["responses"]:
                assert f"<code>{status}</code>" in section, (path, status)
    for name, schema in document["components"]["schemas"].items():
        assert f"schema-{name}" in page.ids
        section = re.search(rf'<section class="api-block" id="schema-{name}".*?</section>', html, re.S).group(0)
        for field in schema.get("properties", {}):
            assert f"<code>{field}</code>" in section, (name, field)


def test_constraints_and_descriptions_come_from_the_document(reference):
    html = reference.content.decode()
    articles = re.search(r'<section class="api-block" id="listArticles".*?</section>', html, re.S).group(0)

    assert "At most 200 characters" in articles  # q's maxLength
    assert "At least 1; at most 100; default <code>20</code>." in articles  # limit
    # sort's enum
    assert "One of <code>relevance</code>, <code>newest</code>; default <code>relevance</code>." in articles
    # Backticks in descriptions become code, and the text is escaped.
    assert "<code>-word</code> to exclude" in articles
    assert "&quot;quoted phrases&quot;" in articles
    # A referenced schema is a link to its section.
    assert '<a href="#schema-ArticlePage">ArticlePage</a>' in articles
    assert '<a href="#schema-Problem">Problem</a>' in articles


def test_every_link_within_the_page_leads_somewhere_on_it(reference):
    page = Page(reference.content.decode())

    assert page.fragments
    missing = [fragment for fragment in page.fragments if fragment not in page.ids]
    assert missing == []


def test_the_page_needs_no_script_and_no_swagger(reference):
    html = reference.content.decode()
    page = Page(html)

    assert "swagger" not in html.lower()
    # The only script is the search box's suggestions (deferred, and the page works without it).
    assert all(src and re.fullmatch(r"/static/search/suggest(\.[0-9a-f]+)?\.js", src) for src in page.scripts)
    assert any("site" in href for href in page.stylesheets)
    assert len(reference.content) < 60_000


def test_the_page_has_a_language_a_viewport_a_description_and_is_not_indexed(reference):
    page = Page(reference.content.decode())

    assert page.html_lang == "en"
    assert page.meta["viewport"] == "width=device-width, initial-scale=1"
    assert "OpenAPI" in page.meta["description"]
    assert page.meta["robots"] == "noindex"
    assert reference["X-Robots-Tag"] == "noindex"
    assert '<link rel="canonical"' not in reference.content.decode()


def test_the_page_links_to_the_openapi_document_for_tools(client, reference):
    assert f'href="{reverse("api-v1:openapi-json")}"' in reference.content.decode()
    response = client.get(reverse("api-v1:openapi-json"))
    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.")


def test_the_page_is_cached_and_revalidated_like_the_api(client, reference):
    assert "public" in reference["Cache-Control"]
    assert reference["ETag"]

    again = client.get(reverse("api-v1:openapi-view"), HTTP_IF_NONE_MATCH=reference["ETag"])
    assert again.status_code == 304
    assert client.head(reverse("api-v1:openapi-view")).status_code == 200


def test_the_index_and_the_404_point_to_the_reference(client):
    assert client.get(reverse("api-v1:index")).json()["docs"].endswith("/api/v1/docs")
    assert "/api/v1/docs" in client.get("/api/v2/nothing").json()["detail"]


def test_the_reference_is_valid_html(reference, tmp_path):
    messages = vnu_messages({"API reference": reference.content.decode()}, tmp_path)

    problems = [m for m in messages if m["type"] in ("error", "non-document-error")]
    assert problems == []
