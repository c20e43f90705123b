"""Search indexes, one per database engine.

PostgreSQL: pg_trgm and fuzzystrmatch for typo correction, and a GIN index on
the weighted `search_vector`. SQLite (the zero-setup default): an FTS5 table
that articles.search keeps in step on save and delete.
"""

from django.contrib.postgres.operations import CreateExtension, TrigramExtension
from django.db import migrations

POSTGRES_FORWARDS = "CREATE INDEX IF NOT EXISTS article_search_vector_idx ON articles_article USING gin (search_vector)"
POSTGRES_BACKWARDS = "DROP INDEX IF EXISTS article_search_vector_idx"
SQLITE_FORWARDS = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS articles_article_fts USING fts5("
    "title, tags, summary, body, tokenize = 'porter unicode61 remove_diacritics 2')"
)
SQLITE_BACKWARDS = "DROP TABLE IF EXISTS articles_article_fts"


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_FORWARDS)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_FORWARDS)


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_BACKWARDS)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_BACKWARDS)


class Migration(migrations.Migration):
    dependencies = [("articles", "0002_derived_text_and_search_vector")]

    operations = [
        TrigramExtension(),
        CreateExtension("fuzzystrmatch"),
        migrations.RunPython(forwards, backwards),
    ]
