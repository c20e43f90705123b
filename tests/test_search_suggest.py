"""Suggestions as you type (#13): search/suggest.py and its JSON endpoint, search:suggest."""

import re

import pytest
from django.db import connection
from django.urls import reverse

from articles.models import Article
from search.suggest import LIMIT, MAX_CHARS, MAX_WORD_CHARS, MAX_WORDS, suggestions, words_of

pytestmark = pytest.mark.django_db

postgresql_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="the title index is PostgreSQL's")


def titles(q):
    return [s["title"] for s in suggestions(q)]


def suggest(client, **params):
    return client.get(reverse("search:suggest"), params)


# ---------------------------------------------------------------- the queryset


def test_a_title_that_begins_with_what_was_typed_comes_first_then_the_newest(article_factory):
    # The factory dates each article a minute before the previous one.
    article_factory(title="Why observability needs budgets")
    article_factory(title="Tracing is not observability")
    article_factory(title="Observability for batch jobs")

    assert titles("observ") == [
        "Observability for batch jobs",
        "Why observability needs budgets",
        "Tracing is not observability",
    ]


def test_every_word_typed_is_the_start_of_a_word_of_the_title(article_factory):
    article_factory(title="JWT Authentication — Implementation and Security Patterns")
    article_factory(title="Session authentication")

    assert titles("jwt auth") == ["JWT Authentication — Implementation and Security Patterns"]
    assert titles("auth impl") == ["JWT Authentication — Implementation and Security Patterns"]
    assert titles("jwt sess") == []


def test_drafts_and_scheduled_articles_are_never_suggested(article_factory):
    article_factory(title="Zebra crossings in public")
    article_factory(title="Zebra crossings draft", draft=True)
    article_factory(title="Zebra crossings scheduled", scheduled=True)
    # Published once, then taken back to draft: its date stays, it is not public.
    article_factory(title="Zebra crossings unpublished", status=Article.Status.DRAFT)

    assert titles("zebra") == ["Zebra crossings in public"]
    assert titles("zebra cross") == ["Zebra crossings in public"]


@postgresql_only
def test_drafts_are_not_suggested_through_the_typo_path_either(article_factory):
    article_factory(title="Quokka husbandry", draft=True)
    article_factory(title="Quokka feeding")

    # "qokka" finds no title by prefix, so its neighbours in the public lexicon are tried.
    assert titles("qokka") == ["Quokka feeding"]


def test_no_more_than_six_titles_are_suggested(article_factory):
    for n in range(LIMIT + 4):
        article_factory(title=f"Pagination pattern {n}")

    assert len(titles("pagin")) == LIMIT


@postgresql_only
def test_a_misspelt_word_still_finds_its_title(article_factory):
    article_factory(title="API Idempotency — Safe Retries for Mutations")
    article_factory(title="Kubernetes Deployment Patterns")

    assert titles("idempotncy") == ["API Idempotency — Safe Retries for Mutations"]
    assert titles("kubernets deploy") == ["Kubernetes Deployment Patterns"]


@postgresql_only
def test_a_half_typed_word_whose_stem_differs_still_matches(article_factory):
    article_factory(title="Retrying with jitter")

    # "retrying" is stored as the stem "retri"; "retryi" is neither its prefix nor a stem of it.
    assert titles("retryi") == ["Retrying with jitter"]
    assert titles("retr") == ["Retrying with jitter"]


def test_stop_words_are_not_required_to_be_in_the_title(article_factory):
    article_factory(title="The art of code review")

    assert titles("the art of code") == ["The art of code review"]


def test_search_syntax_in_the_box_is_only_text(article_factory):
    article_factory(title="Caching at the edge")

    for q in ["cach:* & !(", "'cach' | edge", "cach\\", "<script>", "cach)))", "!!!"]:
        found = titles(q)
        assert found in ([], ["Caching at the edge"]), q
    assert titles("cach:* & !(") == ["Caching at the edge"]


def test_the_words_used_are_capped_in_number_and_length():
    words = words_of("alpha beta gamma delta epsilon zeta eta theta " + "x" * 500)

    assert words == ["alpha", "beta", "gamma", "delta", "epsilon", "zeta"]
    assert len(words) == MAX_WORDS
    assert words_of("y" * 500) == ["y" * MAX_WORD_CHARS]
    assert words_of("a b c") == []
    assert words_of("  ") == []


# ---------------------------------------------------------------- the endpoint


def test_the_endpoint_answers_titles_and_addresses_as_json(client, article_factory):
    article = article_factory(title='Circuit breakers <explained> & "why"')

    response = suggest(client, q="circuit")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "query": "circuit",
        "suggestions": [{"title": 'Circuit breakers <explained> & "why"', "url": article.get_absolute_url()}],
    }
    cache_control = response["Cache-Control"]
    assert "public" in cache_control
    assert re.search(r"max-age=60\b", cache_control)


def test_short_or_empty_input_is_an_empty_list_without_a_query(client, django_assert_max_num_queries):
    for q in ["", " ", "a", "!!"]:
        response = suggest(client, q=q)
        assert response.status_code == 200
        assert response.json()["suggestions"] == []
    with django_assert_max_num_queries(0):
        assert suggestions("a") == []


def test_input_over_the_cap_is_a_400_that_says_why(client):
    response = suggest(client, q="x" * (MAX_CHARS + 1))

    assert response.status_code == 400
    assert "q" in response.json()["errors"]
    assert "no-cache" in response["Cache-Control"]
    assert suggest(client, q="x" * MAX_CHARS).status_code == 200


def test_a_nul_byte_is_a_400_not_a_500(client):
    response = suggest(client, q="api\x00")

    assert response.status_code == 400
    assert "null" in response.json()["errors"]["q"][0].lower()


def test_only_get_and_head_are_allowed(client):
    assert client.post(reverse("search:suggest"), {"q": "api"}).status_code == 405
    assert client.head(reverse("search:suggest"), {"q": "api"}).status_code == 200


def test_drafts_are_never_in_the_endpoints_answer(client, article_factory):
    article_factory(title="Yak shaving, in public")
    article_factory(title="Yak shaving, the draft", draft=True)

    assert [s["title"] for s in suggest(client, q="yak").json()["suggestions"]] == ["Yak shaving, in public"]


def test_a_suggestion_costs_at_most_three_queries_whatever_the_corpus(
    client, article_factory, django_assert_max_num_queries
):
    for n in range(30):
        article_factory(title=f"Observability notes {n}")

    with django_assert_max_num_queries(3):
        assert suggestions("observ") != []
    # The typo path: the prefix query, the lexicon lookup, the title query again.
    with django_assert_max_num_queries(3):
        suggestions("obsrvability")
    # Through the endpoint, with what the page cache asks of the database besides.
    with django_assert_max_num_queries(4):
        assert suggest(client, q="observ").status_code == 200


def test_answers_are_cached_and_an_unpublished_title_goes_at_once(
    client, settings, redis_cache, article_factory, django_assert_max_num_queries
):
    settings.PAGE_CACHE = True
    article = article_factory(title="Yodelling at scale")
    assert [s["title"] for s in suggest(client, q="yodel").json()["suggestions"]] == ["Yodelling at scale"]

    with django_assert_max_num_queries(0):
        again = suggest(client, q="yodel")
    assert again.json()["suggestions"][0]["title"] == "Yodelling at scale"
    assert "max-age=60" in again["Cache-Control"]

    article.status = Article.Status.DRAFT
    article.save()
    assert suggest(client, q="yodel").json()["suggestions"] == []


def test_the_seeds_titles_are_suggested(client, seeded):
    found = [s["title"] for s in suggest(client, q="jwt").json()["suggestions"]]

    assert found == ["JWT Authentication — Implementation and Security Patterns"]
    api = [s["title"] for s in suggest(client, q="api").json()["suggestions"]]
    assert len(api) == LIMIT
    assert all(title.lower().startswith("api") for title in api)


# ---------------------------------------------------------------- bounded at scale


@postgresql_only
def test_the_title_condition_is_answered_by_the_title_index(article_factory):
    """At a few rows other plans are cheaper; with them priced out, the title index must be able to answer.

    (Among 100,000 articles the planner picks it for a rare prefix, and the date index for a common one, reading
    only the newest CANDIDATES rows: bench figures in the README.)
    """
    article_factory(title="Observability for batch jobs")
    from search.suggest import _prefix_all

    queryset = Article.objects.filter(_prefix_all([["observ"], ["batch"]])).values_list("id")
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "article_title_vector_idx" in plan, plan


# ---------------------------------------------------------------- the page


def test_the_header_search_box_names_the_endpoint_and_still_submits_without_javascript(client, seeded):
    html = client.get(reverse("articles:home")).content.decode()

    form = re.search(r'<form class="header-search"[^>]*>.*?</form>', html, re.S).group(0)
    assert f'action="{reverse("search:search")}"' in form
    assert 'method="get"' in form
    assert 'name="q"' in form
    assert f'data-suggest-url="{reverse("search:suggest")}"' in form
    assert '<button type="submit">' in form
    # The combobox roles are the script's to add: without it, the box is a plain search box.
    assert 'role="combobox"' not in form
    assert re.search(r'<script src="/static/search/suggest(\.[0-9a-f]+)?\.js" defer></script>', html)
    assert "<script>" not in html
