"""The search document of an article: derived data, computed at save like body_html.

PostgreSQL: a weighted tsvector in `Article.search_vector` (title A, tags and
summary B, body C) with a GIN index.
SQLite (`make run`): a row of the FTS5 table `articles_article_fts`.

Kept in the content app, not in the search app (whose engine,
search/engine.py, matches and ranks with it), because it is part of the
article (derived data is computed once, at save) and bulk loads
(articles/corpus.py) write it with the rows. Articles never import the
search app; articles/signals.py indexes on save, tag change and delete.
"""

import re

from django.contrib.postgres.search import SearchVector
from django.db import connection
from django.db.models import Value

from articles import lexicon

# PostgreSQL caps a tsvector at 1 MB; the body is limited to 200 KB, and the
# index reads at most this much of it, so no article can break indexing.
INDEX_BODY_CHARS = 100_000
CONFIG = "english"
# The title's English tsvector, a generated column with its own GIN index (PostgreSQL, migration 0016):
# search's title candidates and the suggestions match it.
TITLE_VECTOR = '"articles_article"."title_vector"'

# Tokens like "CI/CD", "async/await" and "MAJOR.MINOR.PATCH" are one lexeme to
# PostgreSQL's parser; indexing their parts too lets "async" or "ci cd" match.
_COMPOUND = re.compile(r"\b\w+(?:[/.]\w+)+\b")


def expand_compounds(text: str) -> str:
    parts = [" ".join(re.split(r"[/.]", match)) for match in _COMPOUND.findall(text)]
    return f"{text} {' '.join(parts)}" if parts else text


def document_parts(article) -> tuple[str, str, str]:
    """(title, tags and summary, body): the three weighted parts of the search document."""
    tags = " ".join(article.tags.names())
    return (
        expand_compounds(article.title),
        expand_compounds(f"{tags} {article.summary}"),
        expand_compounds(article.body_text[:INDEX_BODY_CHARS]),
    )


# ---------------------------------------------------------------- indexing

# The name of the lexicon's step in `rebuild_all()`.
LEXICON_STEP = "search lexicon"


def index_article(article) -> None:
    """Bring the article's search document up to date (on save and tag change)."""
    title, tags_summary, body = document_parts(article)
    vendor = connection.vendor
    if vendor == "postgresql":
        from articles.models import Article

        Article.objects.filter(pk=article.pk).update(
            search_vector=SearchVector(Value(title), weight="A", config=CONFIG)
            + SearchVector(Value(tags_summary), weight="B", config=CONFIG)
            + SearchVector(Value(body), weight="C", config=CONFIG)
        )
    elif vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM articles_article_fts WHERE rowid = %s", [article.pk])
            cursor.execute(
                "INSERT INTO articles_article_fts (rowid, title, tags, summary, body) VALUES (%s, %s, %s, %s, %s)",
                [article.pk, title, " ".join(article.tags.names()), article.summary, body],
            )
        # PostgreSQL's triggers keep the lexicon by themselves (articles/lexicon.py).
        lexicon.sqlite_index(article)


def remove_from_index(pk: int) -> None:
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM articles_article_fts WHERE rowid = %s", [pk])
        lexicon.sqlite_remove(pk)


def reindex_all() -> int:
    from articles.models import Article

    count = 0
    for article in Article.objects.prefetch_related("tags").iterator(chunk_size=200):
        index_article(article)
        count += 1
    return count


def rebuild_all(*, skip=(), progress=None) -> dict[str, int]:
    """Recompute every derived search structure from the articles: after bulk loads and restores.

    `python manage.py rebuild_search` and `generate_corpus` call this; it is the
    one entry point. Set-based on PostgreSQL (one UPDATE per batch), never a
    save per article. Returns how many rows each step wrote, by step name.
    `skip` names steps already done (generate_corpus writes documents as it goes).
    """
    from articles import counts, search_bulk

    # ------------------------------------------------------------ rebuild steps, in order
    # (name, function returning a count). A new derived structure appends its own
    # step here, after the documents it may be computed from.
    steps = [
        # The weighted tsvector (PostgreSQL) or the FTS5 rows (SQLite) of every article.
        (search_bulk.DOCUMENTS_STEP, search_bulk.rebuild_documents),
        # The public lexicon (words for typo correction, lexemes for ranking), from the documents.
        (LEXICON_STEP, lexicon.rebuild),
        # Public article counts per category and tag (articles/counts.py), from the articles and their tags.
        ("listing_counts", counts.rebuild),
    ]
    # ------------------------------------------------------------ end of rebuild steps

    done = {}
    for name, step in steps:
        if name in skip:
            continue
        done[name] = step()
        if progress:
            progress(name, done[name])
    return done
