import base64
import json
import re
from datetime import timedelta

import pytest
from django.contrib.staticfiles import finders
from django.db import connection
from django.utils import timezone

from articles.models import Article, Category
from articles.querysets import public_tags
from search import engine
from tests.factories import CategoryFactory, UserFactory

pytestmark = pytest.mark.django_db

API = "/api/v1"
ORIGIN = "http://testserver"


def get(client, path, **params):
    return client.get(f"{API}{path}", params)


def ok(client, path, **params):
    response = get(client, path, **params)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("application/json")
    return response.json()


def problem(client, path, status, **params):
    response = get(client, path, **params)
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert body["type"] == "about:blank"
    assert body["title"] and body["detail"]
    return body


def walk(client, **params):
    """Every item of a list, following `next` cursors; and how many pages that took."""
    items, pages, cursor = [], 0, ""
    while True:
        page = ok(client, "/articles", **params, **({"cursor": cursor} if cursor else {}))
        items += page["items"]
        pages += 1
        cursor = page["next"]
        if cursor is None:
            return items, pages
        assert pages < 100


@pytest.fixture
def hidden(article_factory, category):
    """A draft and a scheduled article that would match every filter and search below."""
    return [
        article_factory(slug="draft-jwt", title="JWT draft", category=category, draft=True, tags=["security", "api"]),
        article_factory(
            slug="scheduled-jwt",
            title="JWT scheduled",
            category=category,
            scheduled=True,
            published_at=timezone.now() + timedelta(minutes=5),
            tags=["security", "api"],
        ),
    ]


# ---------------------------------------------------------------- articles


def test_the_article_list_is_public_articles_newest_first_with_their_summary_fields(client, seeded, hidden):
    items, pages = walk(client, limit=100)

    expected = list(Article.objects.published().order_by("-published_at", "-id"))
    assert [item["slug"] for item in items] == [a.slug for a in expected]
    assert pages == 1
    first, article = items[0], expected[0]
    assert set(first) == {
        "slug",
        "title",
        "summary",
        "category",
        "tags",
        "author",
        "published_at",
        "updated_at",
        "last_reviewed_at",
        "review_due_at",
        "url",
    }
    assert first["title"] == article.title
    assert first["summary"] == article.summary
    assert first["category"] == {
        "slug": "product-engineering",
        "name": "Product Engineering",
        "url": f"{ORIGIN}/categories/product-engineering/",
    }
    assert sorted(t["slug"] for t in first["tags"]) == sorted(t.slug for t in article.tags.all())
    assert all(t["url"] == f"{ORIGIN}/tags/{t['slug']}/" for t in first["tags"])
    assert first["url"] == f"{ORIGIN}{article.get_absolute_url()}"
    assert first["published_at"] == article.published_at.isoformat().replace("+00:00", "Z")


def test_drafts_and_scheduled_articles_appear_in_no_list_search_or_filter(client, seeded, hidden):
    for params in [{}, {"q": "jwt"}, {"tag": "security"}, {"category": "product-engineering"}, {"sort": "newest"}]:
        items, _ = walk(client, limit=100, **params)
        slugs = {item["slug"] for item in items}
        assert items, params
        assert not slugs & {"draft-jwt", "scheduled-jwt"}, params


def test_drafts_and_scheduled_articles_cannot_be_fetched(client, seeded, hidden):
    for slug in ["draft-jwt", "scheduled-jwt", "never-existed"]:
        body = problem(client, f"/articles/{slug}", 404)
        assert slug in body["detail"]


def test_one_article_adds_its_markdown_html_toc_and_reading_time(client, seeded):
    article = Article.objects.get(slug="rest-api-versioning-strategies")

    item = ok(client, "/articles/rest-api-versioning-strategies")

    assert item["body"] == article.body
    assert item["body_html"] == article.body_html
    assert item["toc"] == article.toc_html
    assert item["toc"].startswith('<div class="toc">')
    assert item["reading_time"] == article.reading_time > 1
    assert item["word_count"] == article.word_count
    assert item["url"] == f"{ORIGIN}/articles/rest-api-versioning-strategies/"


def test_an_articles_author_is_named(client, article_factory):
    article_factory(slug="by-someone", author=UserFactory(username="linus", first_name="Linus", last_name="T"))
    article_factory(slug="by-nobody")

    assert ok(client, "/articles/by-someone")["author"] == "Linus T"
    assert ok(client, "/articles/by-nobody")["author"] is None


def test_cursor_pages_cover_every_article_once_in_order(client, seeded, hidden):
    items, pages = walk(client, limit=7)

    expected = list(Article.objects.published().order_by("-published_at", "-id").values_list("slug", flat=True))
    assert [item["slug"] for item in items] == expected
    assert pages == 8  # 52 articles, 7 a page


def test_articles_published_at_the_same_moment_are_neither_skipped_nor_repeated(client, article_factory, category):
    moment = timezone.now() - timedelta(days=3)
    for n in range(9):
        article_factory(slug=f"same-time-{n}", category=category, published_at=moment)

    items, pages = walk(client, limit=2)

    slugs = [item["slug"] for item in items]
    assert sorted(slugs) == sorted(f"same-time-{n}" for n in range(9))
    assert len(set(slugs)) == 9
    assert pages == 5


def test_search_uses_the_search_pages_ranking(client, seeded, hidden):
    for q in ["api", "token rotation", "kubernetes deploy"]:
        items, _ = walk(client, q=q, limit=5)

        outcome = engine.run(Article.objects.published(), q)
        assert not outcome.relaxed and not outcome.corrected, q
        assert [item["slug"] for item in items] == list(outcome.results.values_list("slug", flat=True)), q
        assert len(items) > 1, q


def test_search_can_sort_matches_newest_first(client, seeded):
    items, _ = walk(client, q="api", sort="newest", limit=100)

    expected = engine.matches(Article.objects.published(), "api").order_by("-published_at", "-id")
    assert [item["slug"] for item in items] == list(expected.values_list("slug", flat=True))


def test_filters_narrow_to_a_category_and_to_every_given_tag(client, seeded, article_factory):
    other = CategoryFactory(slug="elsewhere", name="Elsewhere")
    article_factory(slug="elsewhere-article", category=other, tags=["security", "api"])

    by_category, _ = walk(client, category="elsewhere")
    both_tags, _ = walk(client, tag=["security", "api"], limit=100)

    assert [item["slug"] for item in by_category] == ["elsewhere-article"]
    expected = Article.objects.published().filter(tags__slug="security").filter(tags__slug="api")
    assert {item["slug"] for item in both_tags} == set(expected.values_list("slug", flat=True))
    assert len(both_tags) < len(walk(client, tag="security", limit=100)[0])


def test_filters_narrow_by_the_category_and_tag_ids_as_the_search_page_does(article_factory, category):
    from articles.api import ArticleListParams, find_articles

    article_factory(category=category, tags=["api", "security"], title="Keys")
    for q in ("", "keys"):
        queryset, *_ = find_articles(ArticleListParams(q=q, category=category.slug, tag=["api", "security"]))
        where = str(queryset.query).split(" WHERE ", 1)[1]
        # Through the slugs, the planner guessed every tag's size from the average (a search of the most
        # used tag at 100,000 articles: 179-436 ms; by id, 62).
        assert '"taggit_tag"' not in where and '"articles_category"."slug"' not in where
        assert [a.title for a in queryset] == ["Keys"]


def test_a_cursor_only_works_for_the_query_that_gave_it(client, seeded):
    cursor = ok(client, "/articles", q="api", limit=2)["next"]

    assert cursor
    assert ok(client, "/articles", q="api", limit=5, cursor=cursor)["items"]
    for other in [{"q": "security"}, {"q": "api", "sort": "newest"}, {}, {"q": "api", "tag": "api"}]:
        body = problem(client, "/articles", 400, cursor=cursor, **other)
        assert [e["parameter"] for e in body["errors"]] == ["cursor"]


def test_a_tampered_cursor_is_a_400_naming_cursor(client, seeded):
    cursor = ok(client, "/articles", limit=2)["next"]
    data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    data["k"] = ["yesterday", "one"]
    forged = base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    for bad in [forged, "abc", "x" * 40, cursor[:-3], base64.urlsafe_b64encode(b"[1,2]").decode().rstrip("=")]:
        body = problem(client, "/articles", 400, cursor=bad)
        assert body["errors"][0]["parameter"] == "cursor"


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"sort": "oldest"}, "sort"),
        ({"category": "not a slug!"}, "category"),
        ({"tag": "no/slashes"}, "tag"),
        ({"tag": [f"t{n}" for n in range(11)]}, "tag"),
        ({"q": "x" * 201}, "q"),
        ({"q": " ".join(["word"] * 13)}, "q"),
        ({"q": "null\x00byte"}, "q"),
        ({"cursor": "not base64!"}, "cursor"),
        ({"category": "no-such-category"}, "category"),
        ({"tag": "no-such-tag"}, "tag"),
        ({"colour": "blue"}, "colour"),
        ({"limit": ["5", "6"]}, "limit"),
    ],
)
def test_bad_values_and_unknown_parameters_are_a_400_problem_naming_them(client, seeded, params, named):
    body = problem(client, "/articles", 400, **params)

    assert named in body["detail"]
    assert named in [error["parameter"] for error in body["errors"]]


def test_a_tag_only_drafts_use_is_as_unknown_as_a_tag_that_does_not_exist(client, article_factory):
    article_factory(draft=True, tags=["unreleased"])

    unreleased = problem(client, "/articles", 400, tag="unreleased")
    missing = problem(client, "/articles", 400, tag="missing")

    assert unreleased["detail"].replace("unreleased", "?") == missing["detail"].replace("missing", "?")


@pytest.mark.parametrize("path", ["/articles/x", "/categories", "/tags", "/"])
def test_operations_without_query_parameters_refuse_any(client, seeded, path):
    body = problem(client, path, 400, utm_source="x")

    assert "utm_source" in body["detail"]


def test_a_malformed_slug_is_a_400_and_an_unknown_address_a_404_problem(client, db):
    assert problem(client, "/articles/bad%20slug", 400)["errors"][0]["parameter"] == "slug"
    assert problem(client, "/articles/", 404)
    assert problem(client, "/nothing-here", 404)
    response = client.get("/api/v2/articles")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


def test_writes_are_refused_with_a_405_problem(client, db):
    for method in [client.post, client.put, client.delete, client.patch]:
        response = method(f"{API}/articles")
        assert response.status_code == 405
        assert response["Content-Type"] == "application/problem+json"
        assert response["Allow"] == "GET, HEAD"


def test_head_answers_like_get_without_a_body(client, seeded):
    get_response = get(client, "/articles/rest-api-versioning-strategies")
    head_response = client.head(f"{API}/articles/rest-api-versioning-strategies")

    assert head_response.status_code == 200
    assert head_response.content == b""
    assert head_response["ETag"] == get_response["ETag"]
    assert head_response["Content-Type"] == get_response["Content-Type"]


# ---------------------------------------------------------------- categories and tags


def test_categories_come_with_their_public_article_counts(client, seeded, hidden):
    CategoryFactory(slug="empty", name="Empty")

    items = ok(client, "/categories")["items"]

    counts = {item["slug"]: item["article_count"] for item in items}
    assert counts == {c.slug: c.article_count for c in Category.objects.with_public_counts()}
    assert counts["product-engineering"] == 52
    assert counts["empty"] == 0
    assert items[0]["url"] == f"{ORIGIN}/categories/{items[0]['slug']}/"


def test_tags_are_those_of_public_articles_with_their_counts(client, seeded, hidden, article_factory):
    article_factory(draft=True, tags=["unreleased"])

    items = ok(client, "/tags")["items"]

    assert [(t["slug"], t["article_count"]) for t in items] == [(t.slug, t.article_count) for t in public_tags()]
    assert "unreleased" not in {t["slug"] for t in items}
    security = next(t for t in items if t["slug"] == "security")
    assert security["article_count"] == Article.objects.published().filter(tags__slug="security").count()
    assert security["url"] == f"{ORIGIN}/tags/security/"


def test_the_api_root_links_to_everything(client, db):
    assert ok(client, "/") == {
        "articles": f"{ORIGIN}/api/v1/articles",
        "categories": f"{ORIGIN}/api/v1/categories",
        "tags": f"{ORIGIN}/api/v1/tags",
        "openapi": f"{ORIGIN}/api/v1/openapi.json",
        "docs": f"{ORIGIN}/api/v1/docs",
    }


# ---------------------------------------------------------------- caching


@pytest.mark.parametrize("path", ["/", "/articles", "/articles/rest-api-versioning-strategies", "/categories", "/tags"])
def test_every_get_has_an_etag_and_answers_304_while_it_still_matches(client, seeded, path):
    response = get(client, path)
    etag = response["ETag"]

    assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
    assert response["Cache-Control"] == "public, max-age=60"
    again = client.get(f"{API}{path}", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == etag
    assert client.get(f"{API}{path}", HTTP_IF_NONE_MATCH='"something-else"').status_code == 200


def test_a_change_to_an_article_changes_the_etag(client, article_factory):
    article = article_factory(slug="changing")
    before = get(client, "/articles/changing")["ETag"]
    article.title = "A new title"
    article.save()

    after = client.get(f"{API}/articles/changing", HTTP_IF_NONE_MATCH=before)

    assert after.status_code == 200
    assert after["ETag"] != before
    assert after.json()["title"] == "A new title"


# ---------------------------------------------------------------- OpenAPI and docs


def test_the_openapi_document_is_generated_and_describes_errors_as_problem_details(client, db):
    document = ok(client, "/openapi.json")

    assert document["openapi"].startswith("3.")
    assert document["info"]["version"] == "1"
    operation = document["paths"]["/api/v1/articles"]["get"]
    parameters = {p["name"] for p in operation["parameters"]}
    assert parameters == {"q", "verbatim", "category", "tag", "sort", "cursor", "limit"}
    assert set(operation["responses"]["400"]["content"]) == {"application/problem+json"}
    assert set(document["paths"]["/api/v1/articles/{slug}"]["get"]["responses"]["404"]["content"]) == {
        "application/problem+json"
    }
    assert "ETag" in operation["responses"]["200"]["headers"]


def test_the_docs_page_loads_nothing_from_other_sites(client, db):
    # The API reference (articles/api_reference.py; tests/test_api_reference.py): our own page, our own files.
    response = client.get(f"{API}/docs")
    html = response.content.decode()

    assert response.status_code == 200
    assets = re.findall(r'<script[^>]+src="([^"]+)"', html) + re.findall(
        r'<link rel="stylesheet"[^>]*href="([^"]+)"', html
    )
    assert assets
    for asset in assets:
        assert asset.startswith("/static/"), asset
        assert finders.find(asset.removeprefix("/static/")), asset
    assert "//" not in "".join(assets)
    assert "swagger" not in html.lower()
    assert 'href="/api/v1/openapi.json"' in html


def test_search_says_how_q_was_understood(client, seeded):
    exact = ok(client, "/articles", q="refresh token")
    assert exact["search"] == {"query": "refresh token", "corrected": False, "relaxed": False, "did_you_mean": None}
    assert ok(client, "/articles")["search"] is None


@pytest.mark.skipif(connection.vendor != "postgresql", reason="typo correction is PostgreSQL's")
def test_a_misspelt_search_finds_what_the_search_page_finds_and_says_so(client, seeded):
    items, _ = walk(client, q="idempotncy keys", limit=5)

    outcome = engine.run(Article.objects.published(), "idempotncy keys")
    assert outcome.corrected
    assert [item["slug"] for item in items] == list(outcome.results.values_list("slug", flat=True))
    first = ok(client, "/articles", q="idempotncy keys")
    assert first["search"] == {"query": "idempotency keys", "corrected": True, "relaxed": False, "did_you_mean": None}


def test_verbatim_searches_for_q_as_given(client, seeded):
    body = ok(client, "/articles", q="idempotncy keys", verbatim="true")
    items, _ = walk(client, q="idempotncy keys", verbatim="true", limit=100)

    # No article has the misspelling, so as on the search page, those with "keys" are offered.
    assert body["search"] == {"query": "idempotncy keys", "corrected": False, "relaxed": True, "did_you_mean": None}
    expected = engine.run(Article.objects.published(), "idempotncy keys", correct=False).results
    assert [item["slug"] for item in items] == list(expected.values_list("slug", flat=True))


def test_a_cursor_from_a_corrected_search_does_not_serve_a_verbatim_one(client, seeded):
    cursor = ok(client, "/articles", q="idempotncy keys", limit=2)["next"]
    assert cursor
    body = problem(client, "/articles", 400, q="idempotncy keys", verbatim="true", limit=2, cursor=cursor)
    assert [e["parameter"] for e in body["errors"]] == ["cursor"]
