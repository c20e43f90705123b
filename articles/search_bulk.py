"""Search documents for many articles at once: for bulk loads and `rebuild_search`.

`articles.search.index_article` keeps one article's document current on every
save. This module writes the same documents for a whole batch in one statement
(PostgreSQL: one set-based UPDATE of the weighted tsvector; SQLite: the FTS5
rows), built from the same `search.document_parts()`, so a bulk-loaded or
rebuilt article is indexed exactly as a saved one would be.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType
from django.contrib.postgres.search import SearchVector
from django.db import connection, transaction
from django.db.models import Value
from taggit.models import TaggedItem

from articles import search

# Articles per statement when rebuilding every document.
BATCH_SIZE = 2_000
# The name of the documents' step in `search.rebuild_all()`.
DOCUMENTS_STEP = "search documents"


@dataclass(frozen=True)
class Doc:
    """What a search document is made of, without a database round trip per article."""

    pk: int | None
    title: str
    summary: str
    body_text: str
    tag_names: Sequence[str]  # in the order the article's tags were added, as `article.tags.names()` gives them

    @property
    def tags(self):
        return self

    def names(self) -> list[str]:
        return list(self.tag_names)


def document_expression(doc: Doc):
    """The search document as an expression, for an INSERT (PostgreSQL): index_article's own, built the same way."""
    title, tags_summary, body = search.document_parts(doc)
    return (
        SearchVector(Value(title), weight="A", config=search.CONFIG)
        + SearchVector(Value(tags_summary), weight="B", config=search.CONFIG)
        + SearchVector(Value(body), weight="C", config=search.CONFIG)
    )


def _vector_sql(title: str, tags_summary: str, body: str) -> str:
    # The expression Django compiles for index_article's three SearchVectors, over columns instead of values.
    return " || ".join(
        f"setweight(to_tsvector(%s::regconfig, COALESCE({column}, '')), '{weight}')"
        for column, weight in ((title, "A"), (tags_summary, "B"), (body, "C"))
    )


def index_docs(docs: Iterable[Doc]) -> int:
    """Write the search documents of `docs` in one statement; returns how many."""
    docs = list(docs)
    if not docs:
        return 0
    parts = [search.document_parts(doc) for doc in docs]
    if connection.vendor == "postgresql":
        sql = (
            "UPDATE articles_article AS a SET search_vector = "  # noqa: S608 (no input in the SQL text)
            + _vector_sql("d.title", "d.tags_summary", "d.body")
            + " FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[]) AS d(id, title, tags_summary, body)"
            " WHERE a.id = d.id"
        )
        with connection.cursor() as cursor:
            cursor.execute(
                sql,
                [
                    search.CONFIG,
                    search.CONFIG,
                    search.CONFIG,
                    [doc.pk for doc in docs],
                    [title for title, _, _ in parts],
                    [tags_summary for _, tags_summary, _ in parts],
                    [body for _, _, body in parts],
                ],
            )
    elif connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.executemany("DELETE FROM articles_article_fts WHERE rowid = %s", [[doc.pk] for doc in docs])
            cursor.executemany(
                "INSERT INTO articles_article_fts (rowid, title, tags, summary, body) VALUES (%s, %s, %s, %s, %s)",
                [
                    [doc.pk, title, " ".join(doc.names()), doc.summary, body]
                    for doc, (title, _, body) in zip(docs, parts, strict=True)
                ],
            )
    return len(docs)


def docs_for(pks: Sequence[int]) -> list[Doc]:
    """The documents of these articles, read in two queries."""
    from articles.models import Article

    names: dict[int, list[str]] = {}
    items = (
        TaggedItem.objects.filter(content_type=ContentType.objects.get_for_model(Article), object_id__in=pks)
        .order_by("pk")
        .values_list("object_id", "tag__name")
    )
    for pk, name in items:
        names.setdefault(pk, []).append(name)
    rows = Article.objects.filter(pk__in=pks).order_by("pk").values_list("pk", "title", "summary", "body_text")
    return [Doc(pk, title, summary, body_text, names.get(pk, [])) for pk, title, summary, body_text in rows]


def rebuild_documents(batch_size: int = BATCH_SIZE, progress=None) -> int:
    """Recompute every article's search document from its current fields and tags, batch by batch.

    Each batch commits on its own, so a rebuild of a large table neither holds
    locks for long nor starts over after an interruption. On SQLite the FTS5
    table is emptied first (rows of deleted articles go with it).
    """
    from articles.models import Article

    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM articles_article_fts")
    done, last = 0, 0
    while True:
        pks = list(Article.objects.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not pks:
            return done
        with transaction.atomic():
            done += index_docs(docs_for(pks))
        last = pks[-1]
        if progress:
            progress(done)
