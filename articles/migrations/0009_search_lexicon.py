"""The public lexicon (#14): words and lexemes of the counted articles with document frequencies.

`SearchWord` (the typo vocabulary, trigram-indexed) and `SearchLexeme` (the
search vectors' lexemes), kept by the triggers in articles/lexicon.py and
filled here from the current articles. Also a GIN index on the title's
tsvector, so the search can find title matches without reading every match's
whole document (articles/search.py, `ranked()`).
"""

from django.db import migrations, models

POSTGRES_INDEXES = [
    # Room on each page, so that changing a count is a HOT update that touches no index.
    "ALTER TABLE articles_searchword SET (fillfactor = 70)",
    "ALTER TABLE articles_searchlexeme SET (fillfactor = 70)",
    "CREATE INDEX IF NOT EXISTS articles_searchword_trgm_idx ON articles_searchword USING gin (word gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS article_title_search_idx ON articles_article "
    "USING gin (to_tsvector('english'::regconfig, COALESCE(title, '')))",
]
POSTGRES_DROP_INDEXES = [
    "DROP INDEX IF EXISTS article_title_search_idx",
    "DROP INDEX IF EXISTS articles_searchword_trgm_idx",
]


def forwards(apps, schema_editor):
    from articles import lexicon

    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for statement in POSTGRES_INDEXES:
                cursor.execute(statement)
    lexicon.install(connection)
    lexicon.rebuild(connection)


def backwards(apps, schema_editor):
    from articles import lexicon

    connection = schema_editor.connection
    lexicon.uninstall(connection)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for statement in POSTGRES_DROP_INDEXES:
                cursor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("articles", "0008_preview_links")]

    operations = [
        migrations.CreateModel(
            name="SearchWord",
            fields=[
                ("word", models.CharField(max_length=40, primary_key=True, serialize=False)),
                ("ndoc", models.IntegerField(default=0)),
            ],
        ),
        migrations.CreateModel(
            name="SearchLexeme",
            fields=[
                ("lexeme", models.CharField(max_length=2048, primary_key=True, serialize=False)),
                ("ndoc", models.IntegerField(default=0)),
            ],
        ),
        migrations.RunPython(forwards, backwards),
    ]
