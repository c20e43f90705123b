"""Search bounded by design (#14): what a search costs does not grow with the number of matches.

The caps in search/engine.py are lowered here so that a dozen articles act
like a common word at 100,000 articles.
"""

import re
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from articles.models import Article
from search import engine
from tests.search_helpers import result_count, result_slugs

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_caps(monkeypatch):
    monkeypatch.setattr(engine, "COUNT_EXACT_UP_TO", 6)
    monkeypatch.setattr(engine, "RANK_NEWEST", 4)
    monkeypatch.setattr(engine, "RANK_TITLE", 2)
    monkeypatch.setattr(engine, "MAX_RESULTS", 4)
    monkeypatch.setattr(engine, "FACET_SAMPLE", 6)
    monkeypatch.setattr("search.views.SEARCH_PAGE_SIZE", 2)


@pytest.fixture
def many(article_factory, category):
    """12 articles about gizmos, newest first; the oldest has the word in its title."""
    now = timezone.now()
    articles = [
        article_factory(
            category=category,
            title=f"Note {n}",
            body="A paragraph about a gizmo.",
            tags=["gadgets"] if n % 2 else ["tools"],
            published_at=now - timedelta(days=1 + n),
        )
        for n in range(11)
    ]
    articles.append(
        article_factory(
            category=category,
            title="Gizmo handbook",
            body="Everything about the gizmo.",
            tags=["tools"],
            published_at=now - timedelta(days=30),
        )
    )
    return articles


@contextmanager
def statements():
    """The SQL of every statement run inside the block, as Django sends it (placeholders, not values)."""
    executed = []

    def remember(execute, sql, params, many, context):
        executed.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(remember):
        yield executed


def get(client, **params):
    return client.get(reverse("search:search"), params)


def test_past_the_threshold_the_count_is_an_estimate_and_says_about(client, small_caps, many, monkeypatch):
    monkeypatch.setattr(engine, "_planned_rows", lambda queryset: 40)  # the planner's guess, as at scale
    html = get(client, q="gizmo").content.decode()
    assert "data-estimated" in html
    assert "About 40 results for “gizmo”" in html
    assert result_count(html) == 40
    assert "The first 4 are shown, over 2 pages" in html


def test_when_the_planner_guesses_fewer_than_were_counted_the_count_says_more_than(
    client, small_caps, many, monkeypatch
):
    monkeypatch.setattr(engine, "_planned_rows", lambda queryset: 1)

    html = get(client, q="gizmo").content.decode()

    assert "data-estimated" in html
    assert "More than 6 results for “gizmo”" in html
    assert "About" not in html


def test_below_the_threshold_the_count_is_exact(client, small_caps, article_factory, category):
    for n in range(3):
        article_factory(category=category, title=f"Widget {n}")
    html = get(client, q="widget").content.decode()
    assert result_count(html) == 3
    assert "data-estimated" not in html
    assert "3 results for “widget”" in html


def test_a_title_match_is_ranked_even_when_older_than_the_newest_candidates(client, small_caps, many):
    assert result_slugs(get(client, q="gizmo").content.decode())[0] == many[-1].slug


def test_a_page_past_the_cap_is_refused_with_a_message_not_computed(client, small_caps, many):
    assert get(client, q="gizmo", page=2).status_code == 200
    response = get(client, q="gizmo", page=3)
    assert response.status_code == 404
    html = response.content.decode()
    assert "Search results go 2 pages deep (the first 4 results), so there is no page 3." in html
    assert "narrow the search" in html


def test_the_same_cap_holds_for_newest_first_and_for_filters_without_words(client, small_caps, many):
    assert get(client, q="gizmo", sort="newest", page=3).status_code == 404
    assert get(client, tag="tools", page=2).status_code == 200
    assert get(client, category="product-engineering", page=3).status_code == 404


def test_facets_past_the_threshold_are_estimated_and_marked(client, small_caps, many):
    html = get(client, q="gizmo").content.decode()
    assert re.search(r'data-facet-count="\d+"><span class="visually-hidden">about </span>≈', html)


def test_facets_below_the_threshold_are_exact(client, small_caps, article_factory, category):
    for n in range(3):
        article_factory(category=category, title=f"Widget {n}", tags=["gadgets"])
    html = get(client, q="widget").content.decode()
    assert 'data-facet-count="3">3</span>' in html
    assert "≈" not in html


def test_ranking_reads_only_the_candidates(small_caps, many):
    ranked = engine.ranked(Article.objects.published(), "gizmo")
    # The newest 4 and the newest 2 with "gizmo" in the title: 6 at most, of 12 matches.
    assert ranked.count() == 5
    assert many[-1].pk in set(ranked.values_list("pk", flat=True))


def test_the_api_searches_the_same_bounded_results(client, small_caps, many):
    outcome = engine.run(Article.objects.published(), "gizmo")
    body = client.get("/api/v1/articles", {"q": "gizmo", "limit": 100}).json()
    assert [item["slug"] for item in body["items"]] == list(outcome.results.values_list("slug", flat=True))
    assert body["items"][0]["slug"] == many[-1].slug


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the estimate is the PostgreSQL planner's")
def test_the_estimate_is_never_below_what_was_counted(small_caps, many):
    outcome = engine.run(Article.objects.published(), "gizmo")
    assert not outcome.exact
    assert outcome.estimated_total() >= engine.COUNT_EXACT_UP_TO + 1


def queries_for(client, **params):
    get(client, **params)  # warm the content-type cache
    with CaptureQueriesContext(connection) as captured:
        assert get(client, **params).status_code == 200
    return len(captured)


def test_a_search_runs_a_fixed_number_of_queries_whatever_the_number_of_matches(client, article_factory, category):
    for n in range(3):
        article_factory(category=category, title=f"Gizmo {n}", tags=["gadgets", "tools"])
    few = {
        "words": queries_for(client, q="gizmo"),
        "newest": queries_for(client, q="gizmo", sort="newest"),
        "filtered": queries_for(client, q="gizmo", tag="tools"),
        "typo": queries_for(client, q="gizmp"),
    }
    for n in range(40):
        article_factory(category=category, title=f"Gizmo {n} again", tags=["gadgets", "tools"])
    many = {
        "words": queries_for(client, q="gizmo"),
        "newest": queries_for(client, q="gizmo", sort="newest"),
        "filtered": queries_for(client, q="gizmo", tag="tools"),
        "typo": queries_for(client, q="gizmp"),
    }
    assert many == few


def test_only_the_most_frequent_tags_are_offered_to_narrow_a_search(client, article_factory, category, monkeypatch):
    monkeypatch.setattr(engine, "FACET_TAGS", 3)
    for n in range(6):
        # tag-0 on all six articles, tag-1 on five... tag-5 on one.
        article_factory(category=category, title=f"Widget {n}", tags=[f"tag-{k}" for k in range(n + 1)])
    html = get(client, q="widget").content.decode()
    offered = re.findall(r'data-facet="tag" data-facet-value="([^"]+)"', html)
    assert offered == ["tag-0", "tag-1", "tag-2"]
    # The active tag stays offered (to remove it), being on every result.
    html = get(client, q="widget", tag="tag-2").content.decode()
    assert re.findall(r'data-facet="tag" data-facet-value="([^"]+)"', html) == ["tag-0", "tag-1", "tag-2"]


def test_snippets_are_looked_for_in_the_first_headline_chars_of_a_body(article_factory, category, monkeypatch):
    monkeypatch.setattr(engine, "HEADLINE_CHARS", 200)
    early = article_factory(category=category, body="The quokka appears early. " + "Filler words here. " * 40)
    late = article_factory(category=category, body="Filler words here. " * 40 + "The quokka appears late.")
    found = engine.snippets([early.pk, late.pk], "quokka")
    assert "<mark>quokka</mark>" in found[early.pk]
    assert late.pk not in found  # its card shows the summary instead


def test_sparse_matches_are_sorted_by_date_and_dense_ones_found_by_walking_the_date_index(many, monkeypatch):
    # As at 100,000 public articles: the filters leave them all, and the planner expects 12 or 60,000 matches.
    monkeypatch.setattr(engine, "_planned_rows", lambda queryset: 100_000)
    monkeypatch.setattr(engine, "corpus_stats", lambda: (100_000, 500.0))
    base = Article.objects.published()
    matches = engine.match(base, "gizmo")

    def newest(planned):
        return engine.newest_first(matches, base=base, wanted=5, test_us=engine.TEST_DOCUMENT_US, planned=planned)

    by_date = 'ORDER BY "articles_article"."published_at" DESC'
    assert by_date not in str(newest(12).query)  # sorted: no index has the expression
    assert by_date in str(newest(60_000).query)  # walked
    expected = [a.pk for a in sorted(many, key=lambda a: a.published_at, reverse=True)]
    assert list(newest(12).values_list("pk", flat=True)) == list(newest(60_000).values_list("pk", flat=True))
    assert list(newest(12).values_list("pk", flat=True)) == expected


def test_a_filtered_search_walks_when_most_of_what_the_filters_leave_matches(many, monkeypatch):
    # A category of 15,000 articles of which 5,000 have a word most articles have: walking finds the
    # newest 501 after about 1,500; finding every match would test all 15,000.
    base = Article.objects.published().filter(category=many[0].category)
    monkeypatch.setattr(engine, "_planned_rows", lambda queryset: 15_000 if queryset is base else 5_000)
    monkeypatch.setattr(engine, "corpus_stats", lambda: (100_000, 500.0))
    matches = engine.match(base, "gizmo")

    newest = engine.newest_first(matches, base=base, wanted=501, test_us=engine.TEST_DOCUMENT_US)

    assert 'ORDER BY "articles_article"."published_at" DESC' in str(newest.query)


@pytest.fixture
def windowed(monkeypatch, small_caps, many, article_factory, category):
    """18 newer articles without the word: the 20 newest public articles hold only 2 of the 12 gizmos."""
    now = timezone.now()
    for n in range(18):
        article_factory(
            category=category, title=f"Other {n}", body="Nothing here.", published_at=now - timedelta(hours=n)
        )
    monkeypatch.setattr(engine, "NEWEST_WINDOW", 20)
    monkeypatch.setattr(engine, "WINDOW_US", 0.0)
    monkeypatch.setattr(engine, "TEST_DOCUMENT_US", 100.0)  # so that sorting, not walking, is chosen
    # As if the planner expected 40 matches among 40 articles: the window should hold 20 of them.
    monkeypatch.setattr(engine, "_planned_rows", lambda queryset: 40)
    monkeypatch.setattr(engine, "corpus_stats", lambda: (40, 500.0))
    return sorted(many, key=lambda a: a.published_at, reverse=True)


def test_the_newest_matches_sorted_within_the_window_are_the_newest_of_all(windowed):
    base = Article.objects.published()
    newest = engine.newest_first(engine.match(base, "gizmo"), base=base, wanted=2, test_us=100.0)

    assert newest._kb_windowed
    assert list(newest.values_list("pk", flat=True)[:2]) == [a.pk for a in windowed[:2]]


def test_a_count_whose_window_held_too_few_reads_past_it(windowed):
    base = Article.objects.published()

    _, total, exact, ids = engine.count_newest(base, "gizmo")

    assert (total, exact) == (7, False)  # COUNT_EXACT_UP_TO is 6 here
    assert ids == [a.pk for a in windowed[:7]]


def test_a_count_that_walks_tests_the_match_after_the_tag_and_finds_the_newest_matches(
    many, article_factory, category, monkeypatch
):
    monkeypatch.setattr(engine, "COUNT_EXACT_UP_TO", 3)
    article_factory(category=category, title="Tools without the word", tags=["tools"], published_at=timezone.now())
    base = Article.objects.published().filter(category=category).with_every_tag(["tools"])
    monkeypatch.setattr(engine, "_planned_rows", lambda queryset: 15_000 if queryset is base else 5_000)
    monkeypatch.setattr(engine, "corpus_stats", lambda: (100_000, 500.0))
    with statements() as executed:
        _, total, exact, ids = engine.count_newest(base, "gizmo")

    # Walked (the planner's estimates say most of what the filters leave matches), the match tested last.
    [walk] = executed
    assert walk.startswith("SELECT w.pk FROM (SELECT") and walk.endswith(
        "OFFSET 0) w WHERE w.search_vector @@ (websearch_to_tsquery(%s::regconfig, %s)) LIMIT %s"
    )
    tools = sorted((a for a in many if "tools" in a.tags.names()), key=lambda a: a.published_at, reverse=True)
    assert (total, exact, ids) == (4, False, [a.pk for a in tools[:4]])
    expected = engine.match(base, "gizmo").order_by("-published_at", "-id").values_list("pk", flat=True)[:4]
    assert ids == list(expected)


def test_a_walk_through_a_tag_is_priced_by_the_date_index_it_passes(many, monkeypatch):
    # As at 100,000 public articles: 40,000 with the tag, 6,000 of those with the word. Walking the date
    # index for the newest 200 passes about 3,300 articles (the tag is tested on those the walk reaches),
    # not 1,300 of the tagged ones; sorting the matches among the newest articles costs less.
    base = Article.objects.published().with_every_tag(["tools"])
    sizes = {id(base._kb_before_tags): 100_000, id(base): 40_000}
    monkeypatch.setattr(engine, "_planned_rows", lambda queryset: sizes.get(id(queryset), 6_000))
    monkeypatch.setattr(engine, "corpus_stats", lambda: (100_000, 500.0))
    matches = engine.match(base, "gizmo")

    newest = engine.newest_first(matches, base=base, wanted=200, test_us=engine.TEST_DOCUMENT_US)

    assert not getattr(newest, "_kb_walks", False)
    assert 'ORDER BY "articles_article"."published_at" DESC' not in str(newest.query)


def test_a_question_ranks_the_newest_matches_of_every_word_read_while_counting(many, monkeypatch):
    wanted = []
    real = engine.newest_first

    def recording(queryset, **options):
        wanted.append(options["wanted"])
        return real(queryset, **options)

    monkeypatch.setattr(engine, "newest_first", recording)
    outcome = engine.run(Article.objects.published(), "gizmo paragraph about")

    assert outcome.any_word and outcome.total == 12
    # Counted: every word, then any word (COUNT_EXACT_UP_TO + 1 each); the titles; never every word again.
    assert engine.RANK_NEWEST not in wanted
    assert wanted[:2] == [engine.COUNT_EXACT_UP_TO + 1] * 2
    assert [a.title for a in outcome.results][:1] == ["Note 0"]


def test_ranking_walks_for_the_newest_matches_after_every_filter_when_nothing_was_counted(many, monkeypatch):
    base = Article.objects.published().with_every_tag(["tools"])
    # As for a common word at 100,000 articles: the planner's estimate is trusted, and most articles match.
    monkeypatch.setattr(engine, "_planned_rows", lambda queryset: 50_000)
    monkeypatch.setattr(engine, "corpus_stats", lambda: (100_000, 500.0))
    with statements() as executed:
        outcome = engine.run(base, "gizmo")
        found = {article.pk for article in outcome.results}

    assert (outcome.total, outcome.exact) == (50_000, False)
    assert len([sql for sql in executed if sql.startswith("SELECT w.pk FROM (")]) == 1
    assert found == {a.pk for a in many if "tools" in a.tags.names()}
