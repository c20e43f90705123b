"""Migration 0007 renumbers revisions that share a version, losing none, before making (article, version) unique."""

from importlib import import_module
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import IntegrityError, connection, transaction

from articles import services
from articles.models import Article, ArticleRevision
from tests.conftest import member_of

pytestmark = pytest.mark.django_db

migration = import_module("articles.migrations.0007_revision_version_unique")
CONSTRAINT = "articlerevision_unique_version"


def test_the_database_refuses_a_second_revision_with_the_same_version(article_factory):
    article = article_factory()
    with pytest.raises(IntegrityError), transaction.atomic():
        services.record_revision(article=article)


@pytest.fixture
def without_the_constraint():
    """The table as it was before 0007 (inside the test's transaction, which rolls back)."""
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE articles_articlerevision DROP CONSTRAINT {CONSTRAINT}")
    yield
    with connection.cursor() as cursor:  # the constraint can be added again: no duplicate is left
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # this test's inserts leave deferred FK checks pending
        cursor.execute(f"ALTER TABLE articles_articlerevision ADD CONSTRAINT {CONSTRAINT} UNIQUE (article_id, version)")


def raced(article, *bodies_and_users):
    """Revisions as the old code wrote them when saves raced: several with the article's version."""
    for body, user in bodies_and_users:
        ArticleRevision.objects.create(
            article=article,
            user=user,
            title=article.title,
            summary=article.summary,
            body=body,
            status=article.status,
            version=article.version,
            note="",
        )


def run_migration():
    migration.renumber_duplicate_revisions(apps, SimpleNamespace(connection=connection))


def history(article):
    """(version, body) in the order written."""
    return list(article.revisions.order_by("created_at", "id").values_list("version", "body"))


def test_duplicates_are_renumbered_in_the_order_written_and_the_article_continues_after_them(
    without_the_constraint, article_factory, editor
):
    olga = member_of("Editors", "olga")
    article = article_factory(body="v1")
    # Two saves that both read version 1 and both wrote version 2, then a third save on top.
    Article.objects.filter(pk=article.pk).update(version=2, body="Olga's v2")  # the last writer's row
    article.refresh_from_db()
    raced(article, ("Edith's v2", editor), ("Olga's v2", olga))
    Article.objects.filter(pk=article.pk).update(version=3, body="v3")
    article.refresh_from_db()
    raced(article, ("v3", None))
    assert history(article) == [(1, "v1"), (2, "Edith's v2"), (2, "Olga's v2"), (3, "v3")]

    run_migration()

    article.refresh_from_db()
    assert history(article) == [(1, "v1"), (2, "Edith's v2"), (3, "Olga's v2"), (4, "v3")]
    assert article.version == 4  # the latest revision is the article as it is
    assert [r.user for r in article.revisions.order_by("version")] == [None, editor, olga, None]
    # The next save continues the sequence, under the constraint.
    article.body = "v5"
    services.save_article(article=article, by=editor, expected_version=4)
    assert article.revisions.first().version == 5


def test_three_copies_of_the_latest_version_all_survive(without_the_constraint, article_factory):
    article = article_factory(body="first")
    raced(article, ("second", None), ("third", None))
    run_migration()
    article.refresh_from_db()
    assert history(article) == [(1, "first"), (2, "second"), (3, "third")]
    assert article.version == 3


def test_articles_without_duplicates_are_left_alone(without_the_constraint, article_factory):
    untouched = article_factory(body="only")
    # A gap (a version with no revision) is not a duplicate: numbers stay as they are.
    Article.objects.filter(pk=untouched.pk).update(version=3)
    untouched.refresh_from_db()
    raced(untouched, ("after a gap", None))
    duplicated = article_factory()
    raced(duplicated, ("copy", None))

    run_migration()

    untouched.refresh_from_db()
    assert history(untouched) == [(1, "only"), (3, "after a gap")]
    assert untouched.version == 3
    duplicated.refresh_from_db()
    assert [version for version, _ in history(duplicated)] == [1, 2]
