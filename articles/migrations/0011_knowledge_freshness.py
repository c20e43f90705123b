"""Knowledge that stays true (#16): owners and review dates, reader feedback, links between articles.

Existing articles get their author as owner, their publication (else last
change) as their last review, and a due date from the category's interval
(6 months by default). The links already in their bodies are recorded.
"""

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


def fire_deferred_checks(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def backfill(apps, schema_editor):
    from datetime import timedelta

    from django.db.models import F
    from django.db.models.functions import Coalesce

    from articles.links import link_slugs

    Article = apps.get_model("articles", "Article")
    Category = apps.get_model("articles", "Category")
    ArticleLink = apps.get_model("articles", "ArticleLink")
    Article.objects.update(owner=F("author"), last_reviewed_at=Coalesce("published_at", "updated_at"))
    for category in Category.objects.all():
        articles = Article.objects.filter(category=category)
        if category.review_interval_days:
            articles.update(review_due_at=F("last_reviewed_at") + timedelta(days=category.review_interval_days))
    batch = []
    for pk, html in Article.objects.values_list("pk", "body_html").iterator(chunk_size=500):
        batch += [ArticleLink(source_id=pk, target_slug=slug) for slug in link_slugs(html)]
        if len(batch) >= 1000:
            ArticleLink.objects.bulk_create(batch, ignore_conflicts=True)
            batch = []
    ArticleLink.objects.bulk_create(batch, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0010_listing_counts"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(sqlite_count_triggers_off, sqlite_count_triggers_on),
        migrations.AddField(
            model_name="article",
            name="last_reviewed_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="article",
            name="last_reviewed_by",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="article",
            name="owner",
            field=models.ForeignKey(
                blank=True,
                help_text="Reviews it and gets its reminders. Empty: its author, else the editor who publishes it.",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="owned_articles",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="article",
            name="review_due_at",
            field=models.DateTimeField(blank=True, db_index=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="article",
            name="review_interval_days",
            field=models.PositiveIntegerField(
                blank=True,
                choices=[
                    (None, "The category's interval"),
                    (0, "Never"),
                    (30, "Every month"),
                    (91, "Every 3 months"),
                    (182, "Every 6 months"),
                    (365, "Every year"),
                    (730, "Every 2 years"),
                ],
                help_text="How often it is reviewed.",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="articlerevision",
            name="reviewed",
            field=models.BooleanField(default=False, help_text="This version was confirmed accurate (a review)."),
        ),
        migrations.AddField(
            model_name="category",
            name="review_interval_days",
            field=models.PositiveIntegerField(
                choices=[
                    (0, "Never"),
                    (30, "Every month"),
                    (91, "Every 3 months"),
                    (182, "Every 6 months"),
                    (365, "Every year"),
                    (730, "Every 2 years"),
                ],
                default=182,
                help_text="How often its articles are reviewed, unless an article says otherwise.",
            ),
        ),
        migrations.CreateModel(
            name="ReviewReminder",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("sent_at", models.DateTimeField(db_index=True)),
                ("article_count", models.PositiveIntegerField()),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="review_reminders",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["-sent_at"],
            },
        ),
        migrations.CreateModel(
            name="ArticleLink",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("target_slug", models.CharField(db_index=True, max_length=200)),
                (
                    "source",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="outgoing_links",
                        to="articles.article",
                    ),
                ),
            ],
            options={
                "constraints": [models.UniqueConstraint(fields=("source", "target_slug"), name="articlelink_unique")],
            },
        ),
        migrations.CreateModel(
            name="Feedback",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("helpful", models.BooleanField()),
                ("comment", models.TextField(blank=True, max_length=1000)),
                ("created_at", models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                ("day", models.DateField()),
                ("voter", models.CharField(editable=False, max_length=64)),
                (
                    "article",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="feedback", to="articles.article"
                    ),
                ),
            ],
            options={
                "verbose_name": "reader feedback",
                "verbose_name_plural": "reader feedback",
                "ordering": ["-created_at", "-id"],
                "indexes": [models.Index(fields=["article", "helpful"], name="feedback_article_helpful_idx")],
                "constraints": [
                    models.UniqueConstraint(fields=("article", "day", "voter"), name="feedback_one_per_reader_day")
                ],
            },
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True),
        # The backfill updates rows that gained foreign keys in this migration; their
        # deferred checks must fire before Django creates those keys' indexes at the
        # end, or PostgreSQL refuses ("pending trigger events").
        migrations.RunPython(fire_deferred_checks, migrations.RunPython.noop),
        migrations.RunPython(sqlite_count_triggers_on, sqlite_count_triggers_off),
    ]
