"""Re-render every article with cmark-gfm (issue 12) and refresh its search document.

The derived fields (body_html, toc_html, body_text, word_count,
reading_time) are rebuilt from the Markdown by `articles.rendering`, the one
place Markdown becomes HTML. The search document is rebuilt the way
`articles.search.index_article` builds it at this point of the schema: the
weighted tsvector on PostgreSQL, the FTS5 row on SQLite. It works on the
historical models (later migrations add columns the current model has), so
tags are read through taggit's TaggedItem. Revisions hold no HTML. Running it
again changes nothing; backwards there is nothing to undo.
"""

from django.db import migrations


def rerender(apps, schema_editor):
    from articles.rendering import render_markdown
    from articles.search import CONFIG, INDEX_BODY_CHARS, expand_compounds

    Article = apps.get_model("articles", "Article")
    TaggedItem = apps.get_model("taggit", "TaggedItem")
    ContentType = apps.get_model("contenttypes", "ContentType")
    connection = schema_editor.connection
    content_type = ContentType.objects.using(connection.alias).filter(app_label="articles", model="article").first()
    articles = Article.objects.using(connection.alias).order_by("pk")
    for article in articles.iterator(chunk_size=100):
        rendered = render_markdown(article.body)
        Article.objects.using(connection.alias).filter(pk=article.pk).update(
            body_html=rendered.html,
            toc_html=rendered.toc_html,
            body_text=rendered.text,
            word_count=rendered.word_count,
            reading_time=rendered.reading_time,
        )
        tags = []
        if content_type is not None:
            tags = list(
                TaggedItem.objects.using(connection.alias)
                .filter(content_type=content_type, object_id=article.pk)
                .values_list("tag__name", flat=True)
            )
        tag_names = " ".join(tags)
        title = expand_compounds(article.title)
        tags_summary = expand_compounds(f"{tag_names} {article.summary}")
        body = expand_compounds(rendered.text[:INDEX_BODY_CHARS])
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(
                    "UPDATE articles_article SET search_vector ="
                    " setweight(to_tsvector(%s::regconfig, %s), 'A')"
                    " || setweight(to_tsvector(%s::regconfig, %s), 'B')"
                    " || setweight(to_tsvector(%s::regconfig, %s), 'C')"
                    " WHERE id = %s",
                    [CONFIG, title, CONFIG, tags_summary, CONFIG, body, article.pk],
                )
            elif connection.vendor == "sqlite":
                cursor.execute("DELETE FROM articles_article_fts WHERE rowid = %s", [article.pk])
                cursor.execute(
                    "INSERT INTO articles_article_fts (rowid, title, tags, summary, body) VALUES (%s, %s, %s, %s, %s)",
                    [article.pk, title, tag_names, article.summary, body],
                )


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0005_roles"),
        ("taggit", "0006_rename_taggeditem_content_type_object_id_taggit_tagg_content_8fc721_idx"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(rerender, migrations.RunPython.noop, elidable=True)]
