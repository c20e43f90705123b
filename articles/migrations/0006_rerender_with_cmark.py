"""Re-render every article with cmark-gfm (issue 12) and refresh its search document.

The derived fields (body_html, toc_html, body_text, word_count,
reading_time) are rebuilt from the Markdown by `articles.rendering`, the one
place Markdown becomes HTML. The search document is rebuilt the way
`articles.search.index_article` builds it at this point of the schema: the
weighted tsvector on PostgreSQL, the FTS5 row on SQLite. It works on the
historical models (later migrations add columns the current model has), so
tags are read through taggit's TaggedItem. Revisions hold no HTML. Running it
again changes nothing; backwards there is nothing to undo.

It works in batches of BATCH articles (a page of the iterator, one query for
the tags, one pipelined batch of UPDATEs of the derived fields and the search
document): row by row it took about 20 minutes at 100,000 articles. A body
the renderer refuses is skipped and keeps its previous HTML; the Markdown
itself is never written.
"""

import logging

from django.db import migrations

logger = logging.getLogger(__name__)

# Articles read, rendered and written per round: one page of the iterator,
# one query for their tags and one batch of UPDATEs (the derived fields and
# the search document together) per this many, instead of four queries each.
BATCH = 500


def rerender(apps, schema_editor):
    from articles.rendering import render_markdown

    Article = apps.get_model("articles", "Article")
    ContentType = apps.get_model("contenttypes", "ContentType")
    alias = schema_editor.connection.alias
    content_type = ContentType.objects.using(alias).filter(app_label="articles", model="article").first()
    # Only what rendering and the search document read; the derived fields
    # are written, never read.
    articles = Article.objects.using(alias).order_by("pk").only("pk", "title", "summary", "body")
    batch = []
    for article in articles.iterator(chunk_size=BATCH):
        try:
            rendered = render_markdown(article.body)
        except Exception:
            # The body is never touched: an article the renderer cannot
            # handle keeps its Markdown and the HTML it had, and an editor
            # sees the reason when saving it.
            logger.exception("Article %s could not be re-rendered; it keeps its previous HTML", article.pk)
            continue
        article.body_html = rendered.html
        article.toc_html = rendered.toc_html
        article.body_text = rendered.text
        article.word_count = rendered.word_count
        article.reading_time = rendered.reading_time
        batch.append(article)
        if len(batch) >= BATCH:
            _write(apps, schema_editor, Article, content_type, batch)
            batch = []
    if batch:
        _write(apps, schema_editor, Article, content_type, batch)


def _write(apps, schema_editor, Article, content_type, batch):
    from articles.search import CONFIG, INDEX_BODY_CHARS, expand_compounds

    TaggedItem = apps.get_model("taggit", "TaggedItem")
    connection = schema_editor.connection
    alias = connection.alias
    tags = {article.pk: [] for article in batch}
    if content_type is not None:
        rows = (
            TaggedItem.objects.using(alias)
            .filter(content_type=content_type, object_id__in=list(tags))
            .order_by("pk")
            .values_list("object_id", "tag__name")
        )
        for object_id, name in rows:
            tags[object_id].append(name)
    derived = [
        (article.body_html, article.toc_html, article.body_text, article.word_count, article.reading_time, article.pk)
        for article in batch
    ]
    # The search document as `articles.search.index_article` builds it at
    # this point of the schema.
    documents = []
    for article in batch:
        tag_names = " ".join(tags[article.pk])
        title = expand_compounds(article.title)
        body = expand_compounds(article.body_text[:INDEX_BODY_CHARS])
        documents.append((article.pk, title, tag_names, article.summary, body))
    # One statement per article, sent as one batch (psycopg pipelines
    # executemany): bulk_update's CASE over 500 ids cost about as much as
    # rendering did.
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.executemany(
                "UPDATE articles_article SET body_html = %s, toc_html = %s, body_text = %s, word_count = %s,"
                " reading_time = %s, search_vector ="
                " setweight(to_tsvector(%s::regconfig, %s), 'A')"
                " || setweight(to_tsvector(%s::regconfig, %s), 'B')"
                " || setweight(to_tsvector(%s::regconfig, %s), 'C')"
                " WHERE id = %s",
                [
                    (
                        *values[:5],
                        CONFIG,
                        title,
                        CONFIG,
                        expand_compounds(f"{tag_names} {summary}"),
                        CONFIG,
                        body,
                        pk,
                    )
                    for values, (pk, title, tag_names, summary, body) in zip(derived, documents, strict=True)
                ],
            )
        else:
            cursor.executemany(
                "UPDATE articles_article SET body_html = %s, toc_html = %s, body_text = %s, word_count = %s,"
                " reading_time = %s WHERE id = %s",
                derived,
            )
            if connection.vendor == "sqlite":
                cursor.executemany("DELETE FROM articles_article_fts WHERE rowid = %s", [(pk,) for pk, *_ in documents])
                cursor.executemany(
                    "INSERT INTO articles_article_fts (rowid, title, tags, summary, body) VALUES (%s, %s, %s, %s, %s)",
                    documents,
                )


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0005_roles"),
        ("taggit", "0006_rename_taggeditem_content_type_object_id_taggit_tagg_content_8fc721_idx"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(rerender, migrations.RunPython.noop, elidable=True)]
