"""`generate_corpus`: realistic, reproducible, and derived exactly as the app derives (issue #14)."""

from collections import Counter

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone
from taggit.models import TaggedItem

from articles import corpus, search
from articles.models import Article, ArticleRevision, ListingCount, SearchLexeme, SearchWord
from search import engine

# Dates are relative to the day the corpus is made; scheduled articles stay in the future from it.
NOW = timezone.now().replace(microsecond=0)


def vector_text(pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT search_vector::text FROM articles_article WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def assert_derived_as_the_app_derives(articles):
    for article in articles:
        stored = {name: getattr(article, name) for name in Article.DERIVED_FIELDS}
        stored_vector = vector_text(article.pk)
        article.render()
        assert stored == {name: getattr(article, name) for name in Article.DERIVED_FIELDS}, article.slug
        search.index_article(article)
        assert vector_text(article.pk) == stored_vector, article.slug
        assert stored_vector  # not empty


@pytest.fixture
def small_corpus(db):
    corpus.generate(articles=300, drafts=20, scheduled=10, seed=7, workers=1, batch_size=128, now=NOW)
    return Article.objects.filter(seed_checksum=corpus.MARKER)


def test_counts_of_each_kind(small_corpus):
    counts = corpus.counts()
    assert counts == {"total": 330, "drafts": 20, "scheduled": 10, "public": 300}
    assert ArticleRevision.objects.filter(article__seed_checksum=corpus.MARKER, version=1).count() == 330
    assert small_corpus.values("category").distinct().count() > 10
    assert small_corpus.values("author").distinct().count() == len(corpus.FIRST_NAMES)
    assert small_corpus.filter(status=Article.Status.DRAFT, published_at__isnull=False).count() == 0


def test_derived_fields_and_search_documents_equal_what_a_save_computes(small_corpus):
    sample = list(small_corpus.order_by("?")[:12]) + list(small_corpus.filter(body__contains="```")[:3])
    assert_derived_as_the_app_derives(sample)


def test_articles_are_realistic(small_corpus):
    articles = list(small_corpus)
    assert len({a.slug for a in articles}) == len(articles)
    words = sorted(a.word_count for a in articles)
    assert words[0] >= 50 and words[-1] > 5 * words[0]
    assert any("```" in a.body for a in articles) and any("\n|" in a.body for a in articles)
    assert any(a.toc_html for a in articles)
    assert all(1 <= a.tags.count() <= 6 for a in articles[:30])
    public = [a for a in articles if a.state == "Published"]
    years = {a.published_at.year for a in public}
    assert len(years) >= 5
    assert all(a.created_at <= a.published_at <= a.updated_at <= NOW for a in public)


def test_tag_popularity_is_zipf_like(small_corpus):
    items = TaggedItem.objects.filter(content_type=ContentType.objects.get_for_model(Article))
    counts = Counter(items.values_list("tag__name", flat=True))
    ranked = [name for name, _ in counts.most_common()]
    assert ranked[0] == "api"
    assert counts["api"] >= 0.3 * 330
    top_ten = sum(n for _, n in counts.most_common(10))
    assert top_ten > 0.35 * sum(counts.values())
    by_rank = [counts.get(name, 0) for name in corpus.tag_names()]
    assert -1.5 < corpus.zipf_check(by_rank[:60]) < -0.5
    assert len(corpus.tag_names()) == len(set(corpus.tag_names())) == 400


def test_the_same_seed_gives_the_same_corpus():
    def specs(seed):
        generator = corpus.Generator(seed, NOW, set())
        return [generator.article(kind, 8) for kind in generator.kinds(60, 5, 3)]

    assert specs(3) == specs(3)
    assert specs(3) != specs(4)


def test_search_finds_generated_articles(small_corpus):
    results = engine.run(Article.objects.published(), "circuit breaker")
    assert results.total > 0


def test_the_command_refuses_a_database_with_other_articles(db, seeded):
    call_command("generate_corpus", "--articles", "20", "--drafts", "2", "--scheduled", "1", "--workers", "1")
    assert corpus.counts()["total"] == 23
    with pytest.raises(CommandError, match="already holds 23 articles"):
        call_command("generate_corpus", "--articles", "5", "--workers", "1")
    call_command("generate_corpus", "--articles", "5", "--drafts", "0", "--scheduled", "0", "--workers", "1", "--force")
    assert corpus.counts()["total"] == 28


@pytest.mark.django_db(transaction=True)
def test_rendering_in_worker_processes_gives_the_same_fields():
    corpus.generate(articles=40, drafts=0, scheduled=0, seed=11, workers=2, batch_size=16, now=NOW)
    generated = Article.objects.filter(seed_checksum=corpus.MARKER)
    assert generated.count() == 40
    assert_derived_as_the_app_derives(generated[:10])


def derived_tables() -> dict[str, set]:
    return {
        "words": set(SearchWord.objects.values_list("word", "ndoc")),
        "lexemes": set(SearchLexeme.objects.values_list("lexeme", "ndoc")),
        "counts": set(ListingCount.objects.filter(published__gt=0).values_list("kind", "object_id", "published")),
    }


def test_the_lexicon_and_counts_equal_what_the_triggers_keep(seeded):
    """The bulk load defers the triggers and rebuilds once; taking the articles out again through the
    triggers must leave exactly the seed's numbers, as it would after saving them one by one."""
    before = derived_tables()
    timings = corpus.generate(articles=120, drafts=10, scheduled=5, seed=5, workers=1, batch_size=50, now=NOW)
    assert timings["triggers_deferred"] == 1.0  # the test database's user may defer them: the fast path ran
    after = derived_tables()
    assert after["words"] != before["words"]
    public = Article.objects.published()
    for kind, object_id, published in after["counts"]:
        if kind == "category":
            expected = Article.objects.filter(category_id=object_id).exclude(published_at=None)
        else:
            expected = Article.objects.filter(tags__id=object_id).exclude(published_at=None)
        assert expected.filter(status=Article.Status.PUBLISHED).count() == published, (kind, object_id)
    assert public.filter(seed_checksum=corpus.MARKER).count() == 120
    Article.objects.filter(seed_checksum=corpus.MARKER).delete()
    assert derived_tables() == before
