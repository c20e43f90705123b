"""The admin's article list at scale (#14): the indexes its default order and its date drill-down read.

- `-updated_at` (then `-id`, which the admin adds for a stable order) is the
  list's default order: with this index the first page reads 100 index
  entries instead of sorting every article.
- `published_at` alone serves the date hierarchy's first and last dates
  (min/max) and its years and months.

Created in SQL, as 0010's are, because they exist only for these queries.
"""

from django.db import migrations

INDEXES = {
    "article_updated_idx": "articles_article (updated_at DESC, id DESC)",
    "article_published_at_idx": "articles_article (published_at)",
}


def forwards(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        for name, target in INDEXES.items():
            cursor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")


def backwards(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        for name in INDEXES:
            cursor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("articles", "0012_moderation")]

    operations = [migrations.RunPython(forwards, backwards)]
