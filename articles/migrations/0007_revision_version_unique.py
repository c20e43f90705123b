"""One revision per (article, version).

Before this, a restore or a publish racing a save could record two revisions
with the same version number. Those are renumbered here, in the order they were
written, before the constraint is added; no revision is deleted or has its text
changed, and an article whose revisions moved up moves its own version up with
them, so its next save continues after the last one.
"""

from django.db import migrations, models
from django.db.models import Count


def renumber_duplicate_revisions(apps, schema_editor):
    Article = apps.get_model("articles", "Article")
    ArticleRevision = apps.get_model("articles", "ArticleRevision")
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        # The previous release may still be serving (see README, "Migrations"):
        # no revision may be written between this pass and the constraint.
        with connection.cursor() as cursor:
            cursor.execute(
                f"LOCK TABLE {connection.ops.quote_name(ArticleRevision._meta.db_table)} IN SHARE ROW EXCLUSIVE MODE"
            )
    duplicated = (
        ArticleRevision.objects.values("article_id", "version")
        .annotate(copies=Count("id"))
        .filter(copies__gt=1)
        .values_list("article_id", flat=True)
    )
    for article_id in sorted(set(duplicated)):
        revisions = list(ArticleRevision.objects.filter(article_id=article_id).order_by("version", "created_at", "id"))
        # Walk in the order they were written: keep each number unless an
        # earlier revision already has it, else take the next free one.
        changed, last = [], 0
        for revision in revisions:
            number = max(revision.version, last + 1)
            if number != revision.version:
                revision.version = number
                changed.append(revision)
            last = number
        ArticleRevision.objects.bulk_update(changed, ["version"])
        article = Article.objects.select_for_update().get(pk=article_id)
        if article.version < last:
            Article.objects.filter(pk=article_id).update(version=last)


class Migration(migrations.Migration):
    dependencies = [("articles", "0006_rerender_with_cmark")]

    operations = [
        migrations.RunPython(renumber_duplicate_revisions, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="articlerevision",
            constraint=models.UniqueConstraint(fields=("article", "version"), name="articlerevision_unique_version"),
        ),
    ]
