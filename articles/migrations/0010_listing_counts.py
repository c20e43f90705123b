"""Listings at scale (#14): counts kept per category and tag, and the indexes keyset pages seek on.

- `ListingCount`, kept by triggers on articles_article and taggit_taggeditem
  (articles/counts.py has the SQL for PostgreSQL and SQLite), filled once here.
- Covering indexes ending in `id`, so that finding where page N starts reads
  only an index (an index-only scan), for all public articles and per category;
  and one on taggings by tag, for the articles of a rare tag. They are created
  here in SQL rather than declared on the models, because they exist only for
  the queries in articles/listing.py.
"""

from django.db import migrations, models

INDEXES = {
    "article_public_key_idx": "articles_article (status, published_at DESC, id DESC)",
    "article_category_key_idx": "articles_article (category_id, status, published_at DESC, id DESC)",
    "articles_taggeditem_tag_object_idx": "taggit_taggeditem (tag_id, content_type_id, object_id)",
}


def forwards(apps, schema_editor):
    from articles import counts

    with schema_editor.connection.cursor() as cursor:
        for name, target in INDEXES.items():
            cursor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")
    counts.install(schema_editor.connection)
    counts.rebuild(schema_editor.connection)


def backwards(apps, schema_editor):
    from articles import counts

    counts.uninstall(schema_editor.connection)
    with schema_editor.connection.cursor() as cursor:
        for name in INDEXES:
            cursor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0009_search_lexicon"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("taggit", "0006_rename_taggeditem_content_type_object_id_taggit_tagg_content_8fc721_idx"),
    ]

    operations = [
        migrations.CreateModel(
            name="ListingCount",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("kind", models.CharField(choices=[("category", "Category"), ("tag", "Tag")], max_length=8)),
                ("object_id", models.BigIntegerField()),
                ("published", models.IntegerField(default=0)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("kind", "object_id"), name="listingcount_unique_object")
                ],
            },
        ),
        migrations.RunPython(forwards, backwards),
    ]
