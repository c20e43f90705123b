"""Review before publishing (#17): an article's moderation state, when it was submitted, and every transition."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def sqlite_count_triggers_off(apps, schema_editor):
    """SQLite rebuilds articles_article to add a column; the listing-count triggers (0010) would break the rename."""
    if schema_editor.connection.vendor == "sqlite":
        from articles import counts

        counts.uninstall(schema_editor.connection)


def sqlite_count_triggers_on(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        from articles import counts

        counts.install(schema_editor.connection)
        counts.rebuild(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0011_knowledge_freshness"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(sqlite_count_triggers_off, sqlite_count_triggers_on),
        migrations.AddField(
            model_name="article",
            name="moderation",
            field=models.CharField(
                blank=True,
                choices=[("", "None"), ("in_review", "In review"), ("changes_requested", "Changes requested")],
                default="",
                editable=False,
                max_length=20,
            ),
        ),
        migrations.AddField(
            model_name="article",
            name="submitted_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddIndex(
            model_name="article",
            index=models.Index(
                condition=models.Q(("moderation", "in_review")),
                fields=["submitted_at"],
                name="article_review_queue_idx",
            ),
        ),
        migrations.CreateModel(
            name="ModerationEvent",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                ("action", models.CharField(max_length=20)),
                ("from_state", models.CharField(max_length=20)),
                ("to_state", models.CharField(max_length=20)),
                ("comment", models.TextField(blank=True)),
                ("version", models.PositiveIntegerField()),
                (
                    "article",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="moderation_events",
                        to="articles.article",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={"ordering": ["-created_at", "-id"]},
        ),
        migrations.RunPython(sqlite_count_triggers_on, sqlite_count_triggers_off),
    ]
