"""The public lexicon (articles/lexicon.py): the stored vocabulary typo correction chooses from.

Kept by database triggers at every write, never rebuilt per request: after
each kind of change the tables must equal a recomputation from the articles,
and a word only a draft or a scheduled article uses must never be suggested.
"""

import random
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from articles import lexicon, search
from articles.models import Article, SearchLexeme, SearchWord
from articles.services import publish_article, unpublish_article
from search import engine

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the triggers are PostgreSQL's"),
]


def recomputed(sql: str) -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return dict(cursor.fetchall())


def expected_words() -> dict[str, int]:
    return recomputed(
        f"SELECT t.term, count(*) FROM articles_article a "
        f"CROSS JOIN LATERAL ({lexicon.WORDS_OF.format(row='a')}) AS t(term) "
        f"WHERE {lexicon.COUNTED.format(row='a')} GROUP BY t.term"
    )


def expected_lexemes() -> dict[str, int]:
    return recomputed(
        f"SELECT t.term, count(*) FROM articles_article a "
        f"CROSS JOIN LATERAL ({lexicon.LEXEMES_OF.format(row='a')}) AS t(term) "
        f"WHERE {lexicon.COUNTED.format(row='a')} GROUP BY t.term"
    )


def assert_lexicon_is_exact():
    assert dict(SearchWord.objects.values_list("word", "ndoc")) == expected_words()
    assert dict(SearchLexeme.objects.values_list("lexeme", "ndoc")) == expected_lexemes()


def ndoc(word: str) -> int:
    return SearchWord.objects.filter(word=word).values_list("ndoc", flat=True).first() or 0


def test_the_body_limit_is_the_search_documents():
    assert lexicon.BODY_CHARS == search.INDEX_BODY_CHARS


def test_the_lexicon_matches_the_seed(seeded):
    assert SearchWord.objects.filter(word="idempotency").exists()
    assert SearchLexeme.objects.filter(lexeme="idempot").exists()
    assert_lexicon_is_exact()


def test_saves_edits_tags_publishing_and_deletes_keep_it_exact(article_factory, category, editor):
    article = article_factory(category=category, title="Quokkanomics for beginners", tags=["zoology"])
    assert ndoc("quokkanomics") == 1
    assert SearchLexeme.objects.filter(lexeme="zoolog").exists()
    assert_lexicon_is_exact()

    article.title = "Wallabynomics for beginners"
    article.save()
    assert ndoc("quokkanomics") == 0 and ndoc("wallabynomics") == 1
    article.tags.add("marsupials")
    assert SearchLexeme.objects.filter(lexeme="marsupi").exists()
    article.tags.remove("marsupials")
    assert not SearchLexeme.objects.filter(lexeme="marsupi").exists()
    assert_lexicon_is_exact()

    article = unpublish_article(article=article, by=editor, expected_version=Article.objects.get(pk=article.pk).version)
    assert ndoc("wallabynomics") == 0
    assert_lexicon_is_exact()
    publish_article(article=article, by=editor, expected_version=article.version)
    assert ndoc("wallabynomics") == 1
    assert_lexicon_is_exact()

    Article.objects.filter(pk=article.pk).delete()
    assert ndoc("wallabynomics") == 0
    assert_lexicon_is_exact()


def test_drafts_count_for_nothing(article_factory, category):
    article_factory(category=category, title="Secretword in a draft", draft=True)
    assert ndoc("secretword") == 0
    assert_lexicon_is_exact()


def test_bulk_updates_and_deletes_are_counted_set_based(article_factory, category):
    articles = [article_factory(category=category, title=f"Bulkword number {n}") for n in range(6)]
    assert ndoc("bulkword") == 6
    Article.objects.filter(pk__in=[a.pk for a in articles[:4]]).update(status=Article.Status.DRAFT)
    assert ndoc("bulkword") == 2
    Article.objects.filter(pk__in=[a.pk for a in articles]).update(status=Article.Status.PUBLISHED)
    assert ndoc("bulkword") == 6
    Article.objects.filter(pk__in=[a.pk for a in articles[:3]]).delete()
    assert ndoc("bulkword") == 3
    assert_lexicon_is_exact()


def test_random_changes_keep_it_exact(article_factory, category):
    rng = random.Random(14)
    vocabulary = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]
    articles = [article_factory(category=category, title=" ".join(rng.sample(vocabulary, 3))) for _ in range(8)]
    for _ in range(30):
        article = Article.objects.get(pk=rng.choice(articles).pk)
        action = rng.choice(["title", "body", "status", "schedule", "tags"])
        if action == "title":
            article.title = " ".join(rng.sample(vocabulary, 3))
            article.save()
        elif action == "body":
            article.body = " ".join(rng.choices(vocabulary, k=6))
            article.save()
        elif action == "status":
            article.status = rng.choice(list(Article.Status.values))
            article.save()
        elif action == "schedule":
            article.published_at = timezone.now() + timedelta(days=rng.choice([-3, 3]))
            article.save()
        else:
            article.tags.set(rng.sample(vocabulary, 2))
    assert_lexicon_is_exact()


def test_rebuild_recomputes_it(seeded):
    SearchWord.objects.all().delete()
    SearchWord.objects.create(word="stale", ndoc=7)
    assert lexicon.rebuild() > 0
    assert_lexicon_is_exact()
    assert search.LEXICON_STEP in search.rebuild_all(skip={"search documents"})


def test_a_word_only_a_scheduled_article_uses_is_suggested_once_its_time_comes(article_factory, category):
    for n in range(5):
        article_factory(category=category, title=f"Pooling, part {n}", body="Opening a connection costs a trip.")
    scheduled = article_factory(category=category, title="Quokkanomics explained", scheduled=True)
    now = timezone.now()

    # Counted (published with a date), so it needs no save when its time comes ...
    assert ndoc("quokkanomics") == 1
    # ... but not suggested before then: the word is not public yet.
    assert not [c for c in lexicon.candidates(["quokkanomicz"], ["quokkanomicz"], now) if c[1] == "quokkanomics"]
    outcome = engine.run(Article.objects.published(), "quokkanomicz")
    assert outcome.correction is None and outcome.total == 0

    later = scheduled.published_at + timedelta(seconds=1)
    assert [c for c in lexicon.candidates(["quokkanomicz"], ["quokkanomicz"], later) if c[1] == "quokkanomics"]
    Article.objects.filter(pk=scheduled.pk).update(published_at=now - timedelta(seconds=1))  # its time has come
    assert ndoc("quokkanomics") == 1
    outcome = engine.run(Article.objects.published(), "quokkanomicz")
    assert outcome.corrected and outcome.query == "quokkanomics"


def test_a_scheduled_article_does_not_change_which_spelling_counts_as_known(article_factory, category):
    # "conection" is public once; a scheduled article quoting it too must not make it look like two.
    for n in range(5):
        article_factory(category=category, title=f"Pooling, part {n}", body="Opening a connection costs a trip.")
    article_factory(category=category, body='The log said "conection refused".')
    article_factory(category=category, body='Again "conection refused".', scheduled=True)
    assert ndoc("conection") == 2
    outcome = engine.run(Article.objects.published(), "conection")
    assert outcome.corrected and outcome.query == "connection"


def test_correction_reads_the_stored_vocabulary_not_the_articles(seeded):
    with CaptureQueriesContext(connection) as queries:
        engine.run(Article.objects.published(), "idempotncy keys")
    sql = "\n".join(q["sql"] for q in queries.captured_queries)
    assert "articles_searchword" in sql
    assert "regexp_split_to_table" not in sql
    assert sum("articles_searchword" in q["sql"] for q in queries.captured_queries) == 1
    # The whole search, a fixed number of statements: the planner settings (savepoint, SET, release), the
    # words' count and newest matches (estimate, ids), the vocabulary, the corrections' hits, the correction's
    # count and newest matches, the BM25 terms and the ranking's candidates (#13 made run() read those), the
    # planner's estimates of what the filters leave and of the title matches (newest_first() chooses how to
    # read the newest from them), and when not cached yet the synonyms list and the corpus statistics.
    assert len(queries) <= 15


def test_two_typos_away_goes_through_the_trigram_index(seeded):
    with connection.cursor() as cursor:
        # A vocabulary of a realistic size: at the seed's 5,000 words, reading them all may be as cheap.
        cursor.execute(
            "INSERT INTO articles_searchword (word, ndoc) "
            "SELECT 'w' || md5(i::text), 1 FROM generate_series(1, 50000) i"
        )
        cursor.execute("ANALYZE articles_searchword")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(
            "EXPLAIN SELECT word FROM articles_searchword v, unnest(%s::text[]) t(term) WHERE v.word %% t.term",
            [["opentelemetery"]],
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "articles_searchword_trgm_idx" in plan


def test_one_typo_away_is_found_however_short_the_word():
    assert {"load", "laod", "lad", "laods"} <= lexicon.neighbours("laod")
    assert "loads" not in lexicon.neighbours("laod")
    assert "chain" in lexicon.neighbours("chian")
    assert all(lexicon._WORD_RE.match(word) for word in lexicon.neighbours("k8s"))
