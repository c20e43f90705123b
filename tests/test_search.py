import re

import pytest
from django.db import connection
from django.urls import reverse

from articles.models import Article
from search import engine
from tests.search_helpers import result_count, result_slugs

pytestmark = pytest.mark.django_db

JWT = "jwt-authentication-implementation-and-security-patterns"


def get(client, **params):
    return client.get(reverse("search:search"), params)


def page(client, **params):
    response = get(client, **params)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def test_refresh_token_ranks_the_jwt_article_first_with_a_highlighted_snippet(client, seeded):
    html = page(client, q="refresh token")
    assert result_slugs(html)[0] == JWT
    first_card = html[html.index(f'data-article="{JWT}"') :].split("</article>")[0]
    assert "<mark>refresh</mark>" in first_card.lower() or "<mark>token" in first_card.lower()
    assert "results for “refresh token”" in html


def test_result_cards_link_the_title_first(client, seeded):
    html = page(client, q="webhook")
    card = re.search(r'data-article="([^"]+)">\s*<h2 class="card-title"><a href="([^"]+)">', html)
    assert card.group(2) == reverse("articles:article", args=[card.group(1)])


def test_snippets_escape_everything_but_mark(client, article_factory):
    article_factory(
        title="Escaping", body="Keyword <script>alert(1)</script> keyword &lt;b&gt; `<img src=x onerror=alert(1)>`"
    )
    html = page(client, q="keyword")
    snippet = re.search(r'<p class="card-snippet">(.*?)</p>', html, re.S).group(1)
    assert re.sub(r"</?mark>", "", snippet).count("<") == 0
    assert "<mark>" in snippet


@pytest.mark.parametrize(
    "query, slug",
    [
        ("N+1", "sql-query-optimisation-indexes-execution-plans-and-n1"),
        ("k6", "load-testing-with-k6"),
        ("OAuth 2.0", "oauth-20-and-oidc-implementing-secure-third-party-auth"),
        ("gRPC", "grpc-service-design-protocol-buffers-and-production-patterns"),
        ("CI/CD", "cicd-pipeline-design-from-commit-to-production"),
        ("async/await", "asyncawait-patterns-and-common-pitfalls"),
        ("MAJOR.MINOR.PATCH", "semantic-versioning-majorminorpatch-in-practice"),
        ("dead-letter", "message-queue-patterns-sqs-rabbitmq-and-dead-letter-queues"),
        ("SemVer", "semantic-versioning-majorminorpatch-in-practice"),
    ],
)
def test_technical_tokens_find_their_article_in_the_top_three(client, seeded, query, slug):
    assert slug in result_slugs(page(client, q=query))[:3]


def test_websearch_syntax_phrases_or_and_exclusion(client, seeded):
    phrase = result_slugs(page(client, q='"dead letter queue"'))
    assert phrase
    excluded = result_slugs(page(client, q="token -jwt"))
    assert JWT not in excluded
    either = result_count(page(client, q="webhook or grpc"))
    assert either >= result_count(page(client, q="webhook")) + 1


def test_category_and_tag_filters_combine_with_the_query(client, seeded):
    everything = result_count(page(client, q="api"))
    security = page(client, q="api", tag="security")
    assert 0 < result_count(security) < everything
    both = page(client, q="api", tag=["security", "reliability"])
    assert result_count(both) <= result_count(security)
    for slug in result_slugs(both):
        names = set(Article.objects.get(slug=slug).tags.names())
        assert {"security", "reliability"} <= names
    in_category = page(client, q="api", category="product-engineering")
    assert result_count(in_category) == everything


def test_sort_newest_orders_by_publication_date(client, seeded):
    slugs = result_slugs(page(client, q="api", sort="newest"))
    dates = [Article.objects.get(slug=s).published_at for s in slugs]
    assert dates == sorted(dates, reverse=True)


def test_facet_counts_add_up_and_narrow(client, seeded):
    html = page(client, q="cache")
    total = result_count(html)
    category_counts = [
        int(n)
        for n in re.findall(r'data-facet="category"[^>]*>[^<]*</a> <span class="count" data-facet-count="(\d+)"', html)
    ]
    assert sum(category_counts) == total
    tag_facets = re.findall(
        r'<a href="([^"]+)" data-facet="tag" data-facet-value="([^"]+)">[^<]*</a> '
        r'<span class="count" data-facet-count="(\d+)"',
        html,
    )
    assert tag_facets
    for url, slug, count in tag_facets[:4]:
        narrowed = client.get(url.replace("&amp;", "&")).content.decode()
        assert result_count(narrowed) == int(count), slug


def test_empty_query_shows_the_form_and_popular_tags(client, seeded):
    html = page(client, q="")
    assert 'id="search-q"' in html
    assert "Popular tags" in html
    assert "data-result-count" not in html


def test_only_public_articles_are_searched_counted_or_snippeted(client, article_factory, category):
    article_factory(category=category, title="Zebra public", tags=["zoo"])
    article_factory(category=category, title="Zebra draft", draft=True, tags=["zoo", "secret"])
    article_factory(category=category, title="Zebra scheduled", scheduled=True, tags=["zoo", "secret"])
    html = page(client, q="zebra")
    assert result_count(html) == 1
    assert "draft" not in html.lower().split("search</h1>")[1].split("</main>")[0].replace("drafts", "")
    assert 'data-facet-value="secret"' not in html
    assert 'data-facet-count="1"' in html


def test_index_follows_saves_tag_changes_and_deletes(client, article_factory, category):
    article = article_factory(category=category, title="Quokka handling")
    assert result_slugs(page(client, q="quokka")) == [article.slug]
    article.title = "Wombat handling"
    article.save()
    assert result_slugs(page(client, q="quokka")) == []
    assert result_slugs(page(client, q="wombat")) == [article.slug]
    article.tags.add("marsupials")
    assert result_slugs(page(client, q="marsupials")) == [article.slug]
    article.tags.remove("marsupials")
    assert result_slugs(page(client, q="marsupials")) == []
    Article.objects.filter(pk=article.pk).delete()
    assert result_slugs(page(client, q="wombat")) == []


def test_a_misspelling_offers_a_working_did_you_mean(client, seeded):
    html = page(client, q="idempotncy keys")
    suggestion = re.search(r'<a href="\?([^"]+)" data-suggestion="([^"]+)">', html)
    assert suggestion.group(2) == "idempotency keys"
    assert result_slugs(html)[0] == "api-idempotency-safe-retries-for-mutations"
    followed = client.get(reverse("search:search") + "?" + suggestion.group(1).replace("&amp;", "&")).content.decode()
    assert result_slugs(followed)[0] == "api-idempotency-safe-retries-for-mutations"


def test_no_suggestion_for_a_correct_query(client, seeded):
    assert "data-suggestion" not in page(client, q="idempotency keys")


def test_search_uses_the_gin_index():
    # A test table is too small for the planner to prefer any index on its own; with sequential scans
    # and whole-index walks priced out, the match must be answerable from GIN.
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        sql, params = engine.matches(Article.objects.all(), "refresh token").query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "article_search_vector_idx" in plan, plan


def test_an_article_at_the_size_limit_is_indexed_and_searchable(client, article_factory, settings):
    words = " ".join(f"w{i}x" for i in range(40_000))
    body = ("Needle paragraph.\n\n" + words)[: settings.ARTICLE_BODY_MAX_BYTES]
    article = article_factory(title="Huge", body=body)
    assert result_slugs(page(client, q="needle")) == [article.slug]


@pytest.mark.parametrize(
    "q",
    [
        "'", '"', '"unterminated', "-", "or", "!", ":*", "- or ! :*", "&|!()<>", "🔥🚀", "jwt 🔥",
        "'; DROP TABLE articles_article; --", "1' OR '1'='1", "\\", "%", "_", "a" * 3000,
        " ".join(["token"] * 500), "\u202e\u200b", "title:jwt", "NEAR(a b)", "*",
    ],
)  # fmt: skip
def test_any_query_text_gives_a_normal_page(client, seeded, q):
    response = get(client, q=q)
    assert response.status_code == 200
    assert "data-result-count" in response.content.decode()


def test_a_long_query_is_cut_and_the_reader_is_told(client, seeded):
    html = page(client, q=" ".join(["token"] * 50))
    assert "Your search was long" in html


@pytest.mark.parametrize(
    "params, status",
    [
        ({"q": "jwt\x00"}, 400),
        ({"q": "jwt", "page": "abc"}, 400),
        ({"q": "jwt", "page": "0"}, 400),
        ({"q": "jwt", "page": "99"}, 404),
        ({"q": "jwt", "sort": "sideways"}, 400),
        ({"q": "jwt", "category": "not a slug!"}, 400),
        ({"q": "jwt", "tag": [f"t{i}" for i in range(300)]}, 400),
        ({"q": "jwt", "tag": "<script>"}, 400),
    ],
)
def test_bad_parameters_get_a_clear_4xx(client, seeded, params, status):
    response = get(client, **params)
    assert response.status_code == status
    html = response.content.decode()
    assert "couldn’t" in html


def test_invalid_utf8_in_the_query_string_is_a_normal_page(client, seeded):
    response = client.get(reverse("search:search") + "?q=%ff%fe%C0")
    assert response.status_code == 200


def test_unknown_category_or_tag_says_so_with_no_results(client, seeded):
    html = page(client, q="jwt", category="nope")
    assert result_count(html) == 0
    assert "There is no category “nope”" in html
    assert result_count(page(client, q="jwt", tag="nope")) == 0


def test_filters_without_a_query_list_matching_articles(client, seeded):
    html = page(client, tag="security")
    assert result_count(html) == Article.objects.published().filter(tags__slug="security").count()


def test_a_correct_query_with_few_results_gets_no_false_suggestion(client, seeded):
    html = page(client, q="circuit breaker")
    assert "data-suggestion" not in html
    assert result_slugs(html)[0] == "resilience-patterns-circuit-breaker-retry-bulkhead-and-timeout"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="typo correction is PostgreSQL's")
def test_a_correction_that_finds_more_offers_the_words_as_typed(client, article_factory):
    for n in range(5):
        article_factory(title=f"Pooling, part {n}", body="Opening a connection costs a round trip.", tags=["databases"])
    quoted = article_factory(title="Reading error logs", body='The log said "conection refused".', tags=["databases"])

    html = page(client, q="conection")

    assert re.search(r'Showing results for <a href="[^"]+" data-suggestion="connection">', html)
    assert result_count(html) == 5
    verbatim = re.search(r'Search instead for <a href="\?([^"]+)" data-verbatim>conection</a> \(1 result\)', html)
    assert verbatim, "a corrected search that replaced some results must offer them back"
    as_typed = page(client, **dict(pair.split("=") for pair in verbatim.group(1).split("&amp;")))
    assert result_slugs(as_typed) == [quoted.slug]
    assert "data-suggestion" not in as_typed
    # Refining the search keeps the words as typed.
    assert re.search(r'href="/search/\?q=conection&amp;(category=[^"&]+&amp;)?verbatim=1"', as_typed)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="typo correction is PostgreSQL's")
def test_a_correction_of_a_search_that_found_nothing_says_so(client, seeded):
    html = page(client, q="idempotncy keys")
    assert "No results for “idempotncy keys”." in html
    assert "data-verbatim" not in html


def test_run_leaves_the_words_alone_when_asked(article_factory):
    for n in range(5):
        article_factory(title=f"Pooling, part {n}", body="Opening a connection costs a round trip.")
    article_factory(body='The log said "conection refused".')

    outcome = engine.run(Article.objects.published(), "conection", correct=False)

    assert (outcome.total, outcome.original_total, outcome.correction) == (1, 1, None)
    if connection.vendor == "postgresql":
        corrected = engine.run(Article.objects.published(), "conection")
        assert (corrected.total, corrected.original_total, corrected.query) == (5, 1, "connection")
