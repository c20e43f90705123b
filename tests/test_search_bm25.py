"""BM25 ranking in PostgreSQL (#13), bounded at scale (#14).

The caps are lowered so that a dozen articles act like common words at 100,000.
"""

import math
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from articles.models import Article
from search import engine

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_caps(monkeypatch):
    monkeypatch.setattr(engine, "COUNT_EXACT_UP_TO", 6)
    monkeypatch.setattr(engine, "RANK_NEWEST", 4)
    monkeypatch.setattr(engine, "RANK_TITLE", 2)
    monkeypatch.setattr(engine, "RANK_RARE", 3)
    monkeypatch.setattr(engine, "MAX_RESULTS", 4)
    monkeypatch.setattr(engine, "FACET_SAMPLE", 6)
    monkeypatch.setattr(engine, "PHRASE_SAMPLE", 4)


def days_ago(n, hours=0):
    return timezone.now() - timedelta(days=n, hours=hours)


def search_length(article) -> float:
    with connection.cursor() as cursor:
        cursor.execute("SELECT search_length FROM articles_article WHERE id = %s", [article.pk])
        return cursor.fetchone()[0]


def test_the_document_length_follows_the_search_vector(article_factory, category):
    article = article_factory(category=category, title="Gizmo", summary="", body="Gizmo gizmo widget.", tags=[])
    # Title words count 3, body words 1: gizmo (title) + gizmo, gizmo, widget (body).
    assert search_length(article) == 3 + 3
    article.tags.add("sprockets")  # tags and summary count 2
    assert search_length(article) == 3 + 3 + 2
    Article.objects.filter(pk=article.pk).update(search_vector=None)
    assert search_length(article) == 0


def test_the_score_is_okapi_bm25_over_weighted_fields(article_factory, category):
    article_factory(category=category, title="Other", summary="", body="Nothing to see.", tags=[])
    target = article_factory(category=category, title="Jitter", summary="", body="Jitter and backoff.", tags=[])
    [ranked] = engine.matches(Article.objects.published(), "jitter").values_list("rank", flat=True)
    documents, average = engine.corpus_stats()
    assert documents == 2
    idf = math.log(1 + (2 - 1 + 0.5) / (1 + 0.5))
    tf, length = 3 + 1, search_length(target)  # title 3, body 1
    expected = idf * tf * 2.2 / (tf + 1.2 * (1 - 0.75 + 0.75 * length / average))
    assert ranked == pytest.approx(expected * (1 + engine.ALL_WORDS_BOOST), rel=1e-4)


def test_a_rare_word_outweighs_common_ones(article_factory, category):
    for n in range(5):
        article_factory(category=category, title=f"Service note {n}", body="The service handles a request.")
    rare = article_factory(category=category, title="Backoff", body="Add jitter to the service's retries.")
    outcome = engine.run(Article.objects.published(), "why add jitter to service request retries")
    assert outcome.any_word  # a question matches on any of its words
    assert list(outcome.results)[0] == rare


def test_articles_with_every_word_are_boosted(article_factory, category):
    both = article_factory(category=category, title="Notes", body="Queues and retries, briefly.")
    article_factory(category=category, title="Queues", body="Queues, queues and more queues.")
    outcome = engine.run(Article.objects.published(), "queues retries")
    assert not outcome.any_word and list(outcome.results) == [both]


def test_questions_find_the_rare_word_past_the_candidate_caps(small_caps, article_factory, category):
    # Ten newer articles share the common words; only an older one has the rare word.
    for n in range(10):
        article_factory(
            category=category, title=f"Service {n}", body="A service answers a request.", published_at=days_ago(n)
        )
    rare = article_factory(category=category, title="Old", body="Strangler fig migration.", published_at=days_ago(99))
    outcome = engine.run(Article.objects.published(), "how does a strangler service request work")
    assert list(outcome.results)[0] == rare
    assert outcome.results.count() <= engine.RANK_NEWEST + engine.RANK_TITLE + engine.RANK_RARE


def test_a_quoted_phrase_is_checked_on_a_bounded_sample(small_caps, article_factory, category):
    for n in range(10):
        body = "The circuit breaker opens." if n % 2 else "A breaker on a circuit board."
        article_factory(category=category, title=f"Note {n}", body=body, published_at=days_ago(n))
    outcome = engine.run(Article.objects.published(), '"circuit breaker"')
    assert not outcome.exact  # ten have both words, more than COUNT_EXACT_UP_TO: the phrase is sampled
    found = list(outcome.results)
    assert found and all("circuit breaker" in a.body_text for a in found)
    assert len(found) <= engine.PHRASE_SAMPLE
    assert outcome.reachable == len(found)


def test_a_quoted_phrase_is_exact_among_few_matches(article_factory, category):
    phrase = article_factory(category=category, title="A", body="The circuit breaker opens.")
    article_factory(category=category, title="B", body="A breaker on a circuit board.")
    outcome = engine.run(Article.objects.published(), '"circuit breaker"')
    assert outcome.exact and outcome.total == 1 and list(outcome.results) == [phrase]


def test_when_few_have_every_word_the_newest_with_any_word_are_ranked(small_caps, article_factory, category):
    # Nothing has every word, and no word is rare (each is in more articles than RANK_RARE): the candidates are
    # the newest with any of the words, not the newest with whichever word happens to be the least common.
    for n in range(8):
        article_factory(category=category, title=f"Queue {n}", body="A queue of work.", published_at=days_ago(n))
        article_factory(category=category, title=f"Consumer {n}", body="A consumer.", published_at=days_ago(n, 1))
    outcome = engine.run(Article.objects.published(), "queue consumer idempotent")
    assert outcome.any_word and not outcome.exact
    assert {a.title for a in outcome.results} == {"Queue 0", "Consumer 0", "Queue 1", "Consumer 1"}
