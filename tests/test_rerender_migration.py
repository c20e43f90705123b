"""Migration 0006 re-renders every stored article and refreshes its search document (issue 12)."""

import json
import os
import subprocess
import sys
from importlib import import_module
from pathlib import Path

import pytest
from django.apps import apps
from django.db import connection

from articles.models import Article
from articles.rendering import render_markdown
from search.engine import matches

ROOT = Path(__file__).resolve().parent.parent
migration = import_module("articles.migrations.0006_rerender_with_cmark")


def run_migration():
    with connection.schema_editor() as schema_editor:
        migration.rerender(apps, schema_editor)


@pytest.mark.django_db
def test_every_article_is_rendered_again_and_searchable_by_its_new_text(article_factory):
    article = article_factory(body="## Zebra crossings\n\nSee https://example.com/zebra and `quokka`.", tags=["api"])
    # As Python-Markdown left it: no autolink, the old permalink markup, a stale index.
    Article.objects.filter(pk=article.pk).update(
        body_html="<p>old</p>", toc_html="", body_text="old", word_count=1, reading_time=9, search_vector=None
    )

    run_migration()

    article.refresh_from_db()
    expected = render_markdown(article.body)
    assert article.body_html == expected.html
    assert article.toc_html == expected.toc_html
    assert article.body_text == expected.text
    assert (article.word_count, article.reading_time) == (expected.word_count, expected.reading_time)
    assert 'href="https://example.com/zebra"' in article.body_html
    found = matches(Article.objects.all(), "quokka")
    assert list(found.values_list("pk", flat=True)) == [article.pk]
    assert list(matches(Article.objects.all(), "api").values_list("pk", flat=True)) == [article.pk]


@pytest.mark.django_db
def test_running_it_twice_changes_nothing(article_factory):
    article = article_factory(body="# A\n\ntext")
    run_migration()
    first = Article.objects.values().get(pk=article.pk)
    run_migration()
    assert Article.objects.values().get(pk=article.pk) == first


@pytest.mark.django_db
def test_a_body_the_renderer_refuses_keeps_its_text_and_html_and_the_others_are_rendered(article_factory, monkeypatch):
    from articles import rendering

    refused = article_factory(body="## Refused\n\nKeep every word.")
    other = article_factory(body="## Fine\n\nRendered again.")
    Article.objects.update(body_html="<p>old</p>", body_text="old")
    real = rendering.render_markdown

    def refuse_one(source):
        if "Keep every word." in source:
            raise rendering.RenderError("too much")
        return real(source)

    monkeypatch.setattr(rendering, "render_markdown", refuse_one)
    run_migration()

    refused.refresh_from_db()
    other.refresh_from_db()
    assert refused.body == "## Refused\n\nKeep every word."
    assert (refused.body_html, refused.body_text) == ("<p>old</p>", "old")
    assert other.body_html == real(other.body).html


@pytest.mark.django_db
def test_it_writes_in_batches_not_row_by_row(article_factory, django_assert_max_num_queries, monkeypatch):
    for index in range(7):
        article_factory(body=f"## Part {index}\n\ntext", tags=["api"])
    monkeypatch.setattr(migration, "BATCH", 3)
    # Row by row was four statements an article (28 here). In batches of 3:
    # per batch one tag query and one executemany of UPDATEs, besides the
    # content type and the iterator's query.
    with django_assert_max_num_queries(14):
        run_migration()
    for article in Article.objects.all():
        assert article.body_html == render_markdown(article.body).html
    assert Article.objects.filter(search_vector__isnull=True).count() == 0


SQLITE_CHECK = """
import json
import django
django.setup()
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from importlib import import_module
call_command("migrate", verbosity=0)
call_command("load_seed", verbosity=0)
from articles.models import Article
from search.engine import matches
Article.objects.update(body_html="<p>stale</p>", body_text="stale")
with connection.cursor() as cursor:
    cursor.execute("UPDATE articles_article_fts SET body = 'stale'")
with connection.schema_editor() as editor:
    import_module("articles.migrations.0006_rerender_with_cmark").rerender(apps, editor)
print(json.dumps({
    "stale": Article.objects.filter(body_html="<p>stale</p>").count(),
    "permalinks": Article.objects.filter(body_html__contains='class="headerlink"').count(),
    "found": list(matches(Article.objects.all(), "refresh token rotation").values_list("slug", flat=True))[:3],
}))
"""


def test_on_sqlite_too(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "kb.settings",
        "DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "MEDIA_ROOT": str(tmp_path / "media"),
    }
    env.pop("REDIS_URL", None)
    result = subprocess.run(
        [sys.executable, "-c", SQLITE_CHECK], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["stale"] == 0
    assert out["permalinks"] == 52
    assert "jwt-authentication-implementation-and-security-patterns" in out["found"]
