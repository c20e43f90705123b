# Promoted results and search analytics (#13): Promotion, QueryLog, ResultClick, and the Editors' permissions.
import django.db.models.deletion
from django.contrib.auth.management import create_permissions
from django.db import migrations, models

import search.models

# The Editors group (articles/migrations/0005_roles.py) pins results and reads the report; Authors do neither.
EDITOR_PERMISSIONS = [
    "add_promotion",
    "change_promotion",
    "delete_promotion",
    "view_promotion",
    "view_search_report",
]


def grant_editors(apps, schema_editor):
    # Permissions are normally created after all migrations have run; create them now to grant them.
    app_config = apps.get_app_config("search")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="Editors")
    group.permissions.add(*Permission.objects.filter(content_type__app_label="search", codename__in=EDITOR_PERMISSIONS))


def revoke_editors(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    for group in Group.objects.filter(name="Editors"):
        group.permissions.remove(
            *Permission.objects.filter(content_type__app_label="search", codename__in=EDITOR_PERMISSIONS)
        )


class Migration(migrations.Migration):
    dependencies = [("search", "0002_synonyms")]

    operations = [
        migrations.CreateModel(
            name="Promotion",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "query",
                    models.CharField(
                        help_text="What readers type. Matched ignoring case, punctuation and extra spaces: "
                        "“VPN?” and “vpn” are the same query.",
                        max_length=200,
                    ),
                ),
                (
                    "description",
                    models.CharField(
                        blank=True,
                        help_text="Optional: why this article answers the query, shown under its title instead "
                        "of its summary.",
                        max_length=300,
                    ),
                ),
                (
                    "sort_order",
                    models.PositiveSmallIntegerField(
                        default=0, help_text="Lower numbers come first when several articles are pinned to one query."
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "article",
                    models.ForeignKey(
                        help_text="A published article. It is shown first, marked “Editor’s pick”, and not "
                        "repeated below.",
                        limit_choices_to=search.models.public_article_choices,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="articles.article",
                    ),
                ),
            ],
            options={
                "verbose_name": "promoted result",
                "verbose_name_plural": "promoted results",
                "ordering": ["query", "sort_order", "id"],
                "constraints": [
                    models.UniqueConstraint(fields=("query", "article"), name="search_promotion_unique_pin")
                ],
            },
        ),
        migrations.CreateModel(
            name="QueryLog",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("query", models.CharField(help_text="Normalised: lower case, no punctuation.", max_length=200)),
                (
                    "results",
                    models.PositiveIntegerField(help_text="How many results the search found (an estimate past 500)."),
                ),
                (
                    "corrected",
                    models.BooleanField(default=False, help_text="The results were for a typo correction."),
                ),
                (
                    "relaxed",
                    models.BooleanField(default=False, help_text="No article had every word; results had some."),
                ),
                (
                    "duration_ms",
                    models.PositiveIntegerField(help_text="How long the server took to find the results."),
                ),
                ("page", models.PositiveSmallIntegerField(default=1)),
                ("clicks", models.PositiveSmallIntegerField(default=0)),
                (
                    "script",
                    models.BooleanField(
                        default=False, help_text="Recorded by the page's script, which also reports opened results."
                    ),
                ),
                ("view", models.UUIDField(blank=True, editable=False, null=True, unique=True)),
                ("searched_at", models.DateTimeField()),
            ],
            options={
                "verbose_name": "search",
                "verbose_name_plural": "searches",
                "ordering": ["-searched_at", "-id"],
                "permissions": [("view_search_report", "Can see the search analytics report")],
                "indexes": [models.Index(fields=["searched_at"], name="search_querylog_period")],
            },
        ),
        migrations.CreateModel(
            name="ResultClick",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "position",
                    models.PositiveSmallIntegerField(help_text="1 for the first result; editor's picks count too."),
                ),
                ("promoted", models.BooleanField(default=False, help_text="The result was an editor's pick.")),
                ("clicked_at", models.DateTimeField()),
                (
                    "article",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="articles.article"
                    ),
                ),
                (
                    "search",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="result_clicks",
                        to="search.querylog",
                    ),
                ),
            ],
            options={
                "verbose_name": "opened result",
                "verbose_name_plural": "opened results",
                "ordering": ["-clicked_at", "-id"],
            },
        ),
        migrations.RunPython(grant_editors, revoke_editors),
    ]
