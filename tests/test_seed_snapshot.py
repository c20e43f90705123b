"""The seed snapshot (tests/seed_snapshot.py) gives tests exactly what a real load_seed() writes."""

import json

import pytest
from django.db import connection, transaction

from articles.models import Article
from articles.seed import load_seed
from tests import seed_snapshot
from tests.test_search_lexicon import assert_lexicon_is_exact

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _snapshots_on(monkeypatch):
    monkeypatch.setenv("KB_TEST_SEED_SNAPSHOT", "1")  # tested even in a run that turns them off


def differs_between_loads(column):
    # Ids (and foreign keys) come from sequences a rolled-back load has advanced; creation times from its clock.
    return column in {"id", "created_at"} or column.endswith("_id")


def rows(table):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT to_jsonb(t) FROM {table} t")  # noqa: S608 (a table name from the snapshot)
        return sorted(
            repr(sorted((k, v) for k, v in json.loads(row).items() if not differs_between_loads(k)))
            for (row,) in cursor.fetchall()
        )


def take_snapshot():
    with transaction.atomic():
        seed_snapshot.load(load_seed)
        transaction.set_rollback(True)
    assert seed_snapshot._snapshot is not None
    return seed_snapshot._snapshot


def test_a_restored_seed_holds_the_rows_a_real_load_writes():
    snapshot = take_snapshot()
    derived = {"articles_searchlexeme", "articles_searchword", "articles_listingcount"}
    assert {"articles_article", "taggit_taggeditem"} | derived <= set(snapshot.rows)
    with transaction.atomic():
        load_seed()
        loaded = {table: rows(table) for table in snapshot.rows}
        transaction.set_rollback(True)

    report = seed_snapshot.load(load_seed)

    assert seed_snapshot._snapshot is snapshot  # restored, not loaded again
    assert len(report.created) == 52
    assert {table: rows(table) for table in snapshot.rows} == loaded
    assert_lexicon_is_exact()
    assert Article.objects.published().count() == 52


def test_new_rows_after_a_restore_get_ids_of_their_own(article_factory):
    take_snapshot()
    with connection.cursor() as cursor:  # as if the sequence had been reset since the snapshot was taken
        cursor.execute("SELECT setval(pg_get_serial_sequence('articles_article', 'id'), 1, false)")
    seed_snapshot.load(load_seed)
    highest = max(Article.objects.values_list("id", flat=True))

    assert article_factory().id > highest


def test_a_snapshot_is_not_restored_over_rows_a_test_made_first(category):
    snapshot = take_snapshot()
    assert "articles_category" in snapshot.fingerprint

    seed_snapshot.load(load_seed)

    assert Article.objects.filter(category=category).count() == 52
