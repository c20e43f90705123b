"""`rebuild_search` recomputes every derived search structure from the articles (issue #14)."""

from django.core.management import call_command
from django.db import connection

from articles import search
from articles.models import Article
from search import engine


def vectors() -> dict[int, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, search_vector::text FROM articles_article ORDER BY id")
        return dict(cursor.fetchall())


def test_rebuild_restores_a_corrupted_index(article_factory):
    breaker = article_factory(title="Circuit breakers", body="Trip the breaker when calls fail.", tags=["resilience"])
    article_factory(title="Connection pools", body="Size the pool for the database.", tags=["databases", "api"])
    article_factory(title="Release notes", body="What changed in CI/CD.", draft=True)
    saved = vectors()

    with connection.cursor() as cursor:
        cursor.execute("UPDATE articles_article SET search_vector = to_tsvector('english', 'nonsense')")
    assert engine.run(Article.objects.published(), "breaker").total == 0

    call_command("rebuild_search", "--no-analyze")

    assert vectors() == saved
    outcome = engine.run(Article.objects.published(), "breaker")
    assert [a.pk for a in outcome.results] == [breaker.pk]
    assert engine.run(Article.objects.published(), "resilience").total == 1  # tags are in the document
    assert engine.run(Article.objects.published(), "cd").total == 0  # the draft stays unsearchable to readers


def test_rebuild_all_reports_each_step_and_can_skip(article_factory):
    article_factory(title="Idempotency keys", tags=["api"])
    done = search.rebuild_all()
    assert done["search documents"] == 1
    assert "search documents" not in search.rebuild_all(skip={"search documents"})


def test_rebuild_works_in_batches(article_factory, monkeypatch):
    from articles import search_bulk

    articles = [article_factory(title=f"Queue design {n}", tags=["messaging"]) for n in range(5)]
    saved = vectors()
    Article.objects.update(search_vector=None)
    assert search_bulk.rebuild_documents(batch_size=2) == 5
    assert vectors() == saved
    assert engine.run(Article.objects.published(), "queue").total == len(articles)
