"""The public lexicon: which words and lexemes public articles use, and in how many articles.

Two tables, each term -> number of articles (`ndoc`), kept current in the
database itself rather than recomputed per query:

- `SearchWord`: the words readers type, as written (lower-cased, not stemmed):
  the vocabulary typo correction chooses from. Words of an article's title,
  summary and the first `search.INDEX_BODY_CHARS` of its body, split by the
  same parser as the search document ("simple" configuration: no stemming, no
  stop words removed), letters and digits only, starting with a letter, 3 to 40
  characters. Trigram-indexed (pg_trgm) for candidates two typos away.
- `SearchLexeme`: the lexemes of the stored `search_vector` (English stems,
  weights ignored), for document frequencies in ranking (BM25, #15).

**Which articles count.** Both tables count the articles that are *published
with a date* (`status = published AND published_at IS NOT NULL`), the same rule
as `ListingCount` (articles/counts.py). Scheduled articles (a date still in the
future) are among them, because they become public with nobody saving anything
and a trigger cannot see the clock pass. Their words must not leak into
suggestions before their time, so `candidates()` subtracts them live: every
word whose count could be made up by scheduled articles alone (`ndoc` at most
the number of scheduled articles, plus EXACT_MARGIN) is counted again in the scheduled articles
that the GIN index says may contain it (few, by an index range on
`(status, published_at)`), and dropped when nothing public is left. As the clock
passes a date, the article stops being subtracted: the vocabulary grows by
itself, exactly when the article becomes public.

**How the counts stay right (PostgreSQL).** Statement-level triggers on
`articles_article` (INSERT, UPDATE, DELETE, with transition tables) compute one
delta per statement, set-based, in the statement's own transaction: the words
and lexemes of the rows that stop counting or whose text or vector changed are
subtracted, those of the rows that start counting or changed are added. Every
path is covered: `Article.save()` (whose row update changes the text and then
`search.index_article()` the vector), tag changes (they change the vector),
publish, unpublish, delete, queryset `.update()`, bulk loads (one aggregate
per statement, not per row) and raw SQL. Upserts lock lexicon rows in term
order, so two concurrent saves never deadlock on them. Rows reaching 0 are
deleted.

**SQLite** (`make run`) has no procedural triggers: `search.index_article()`
and `remove_from_index()` keep an FTS5 table of the counted articles' words
(no stemming), and FTS5's own `fts5vocab` table gives each word's document
count. The same live subtraction of scheduled articles applies.

`rebuild()` recomputes both tables from the articles (`rebuild_search`, after
restores or if the triggers were ever dropped).
"""

import re

from django.db import connection, transaction

# The condition, in SQL, under which an article row counts (see above).
COUNTED = "{row}.status = 'published' AND {row}.published_at IS NOT NULL"
# Must equal search.INDEX_BODY_CHARS (asserted in tests).
BODY_CHARS = 100_000
WORD_PATTERN = "^[a-z][a-z0-9]{2,39}$"
_WORD_RE = re.compile(WORD_PATTERN)
_WORD_PATTERN_IN_TEMPLATE = WORD_PATTERN.replace("{", "{{").replace("}", "}}")

# The words of a row as a tsvector ("simple": as written), `{row}` the row's alias.
WORDS_VECTOR = (
    "to_tsvector('simple'::regconfig, coalesce({row}.title, '') || ' ' || coalesce({row}.summary, '') || ' ' || "
    f"left(coalesce({{row}}.body_text, ''), {BODY_CHARS}))"
)
WORDS_OF = (
    f"SELECT w FROM unnest(tsvector_to_array({WORDS_VECTOR})) w "  # noqa: S608 (constant SQL)
    f"WHERE w ~ '{_WORD_PATTERN_IN_TEMPLATE}'"
)
LEXEMES_OF = "SELECT unnest(tsvector_to_array({row}.search_vector))"


def _apply(changes: str) -> str:
    """PL/pgSQL applying the delta of `changes` (rows: d = +1/-1, w, l = whether words/lexemes changed, and the row)."""
    statements = []
    for table, column, terms_of, flag in (
        ("articles_searchword", "word", WORDS_OF, "w"),
        ("articles_searchlexeme", "lexeme", LEXEMES_OF, "l"),
    ):
        statements.append(  # noqa: S608 (constant SQL, no input)
            f"""
    WITH changes AS ({changes}),
    delta AS (
        SELECT t.term, sum(c.d) AS d
        FROM changes c CROSS JOIN LATERAL ({terms_of.format(row="c")}) AS t(term)
        WHERE c.{flag}
        GROUP BY t.term
        HAVING sum(c.d) <> 0
    ),
    upserted AS (
        INSERT INTO {table} AS s ({column}, ndoc)
        SELECT term, d FROM delta ORDER BY term
        ON CONFLICT ({column}) DO UPDATE SET ndoc = s.ndoc + excluded.ndoc
        RETURNING s.ctid AS row, s.ndoc
    )
    SELECT array_agg(row) INTO gone FROM upserted WHERE ndoc <= 0;
    IF gone IS NOT NULL THEN
        -- The row versions just written, locked by this transaction: found by their address.
        DELETE FROM {table} WHERE ctid = ANY(gone);
    END IF;"""  # noqa: S608 (constant SQL, no input)
        )
    return "\n".join(statements)


_ROW = "{p}.title, {p}.summary, {p}.body_text, {p}.search_vector"
# The trigger's changed rows: d = -1 (stops counting) or +1, w and l: whether its words and lexemes count as changed.
_INSERTED = f"SELECT 1 AS d, true AS w, true AS l, {_ROW.format(p='n')} FROM new_rows n WHERE {COUNTED.format(row='n')}"  # noqa: S608
_DELETED = f"SELECT -1 AS d, true AS w, true AS l, {_ROW.format(p='o')} FROM old_rows o WHERE {COUNTED.format(row='o')}"  # noqa: S608
_TEXT_CHANGED = (
    f"(o.title, o.summary, left(o.body_text, {BODY_CHARS})) "
    f"IS DISTINCT FROM (n.title, n.summary, left(n.body_text, {BODY_CHARS}))"
)
_VECTOR_CHANGED = "o.search_vector IS DISTINCT FROM n.search_vector"
_OLD_IN, _NEW_IN = COUNTED.format(row="o"), COUNTED.format(row="n")
_UPDATED = f"""
        SELECT -1 AS d, NOT ({_NEW_IN}) OR {_TEXT_CHANGED} AS w, NOT ({_NEW_IN}) OR {_VECTOR_CHANGED} AS l,
               {_ROW.format(p="o")}
        FROM old_rows o JOIN new_rows n USING (id) WHERE {_OLD_IN}
        UNION ALL
        SELECT 1, NOT ({_OLD_IN}) OR {_TEXT_CHANGED}, NOT ({_OLD_IN}) OR {_VECTOR_CHANGED}, {_ROW.format(p="n")}
        FROM old_rows o JOIN new_rows n USING (id) WHERE {_NEW_IN}"""  # noqa: S608


def _function(name: str, changes: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    gone tid[];
BEGIN
{_apply(changes)}
    RETURN NULL;
END $$;"""


TRIGGERS = {
    "articles_lexicon_insert": ("INSERT", "REFERENCING NEW TABLE AS new_rows", _INSERTED),
    "articles_lexicon_update": ("UPDATE", "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows", _UPDATED),
    "articles_lexicon_delete": ("DELETE", "REFERENCING OLD TABLE AS old_rows", _DELETED),
}

POSTGRES_INSTALL = "\n".join(
    _function(name, changes)
    + f"""
DROP TRIGGER IF EXISTS {name} ON articles_article;
CREATE TRIGGER {name} AFTER {event} ON articles_article {transition}
    FOR EACH STATEMENT EXECUTE FUNCTION {name}();"""
    for name, (event, transition, changes) in TRIGGERS.items()
)

POSTGRES_UNINSTALL = "\n".join(
    f"DROP TRIGGER IF EXISTS {name} ON articles_article; DROP FUNCTION IF EXISTS {name}();" for name in TRIGGERS
)

# ts_stat() counts each term's documents in C, several times faster than unnesting every
# article's terms and grouping them in SQL (at 100,000 articles: minutes); the word pattern is
# then checked once per distinct term, not once per term of every article.
_COUNTED_ROWS = f"FROM articles_article a WHERE {COUNTED.format(row='a')}"


def _ts_stat(vector: str) -> str:
    query = f"SELECT {vector} {_COUNTED_ROWS}".replace("'", "''")
    return f"ts_stat('{query}')"


POSTGRES_REBUILD = [  # noqa: S608 (constant SQL)
    "LOCK TABLE articles_searchword, articles_searchlexeme IN SHARE ROW EXCLUSIVE MODE",
    "DELETE FROM articles_searchword",
    "DELETE FROM articles_searchlexeme",
    "INSERT INTO articles_searchword (word, ndoc) "  # noqa: S608
    f"SELECT word, ndoc FROM {_ts_stat(WORDS_VECTOR.format(row='a'))} WHERE word ~ '{WORD_PATTERN}'",
    "INSERT INTO articles_searchlexeme (lexeme, ndoc) "  # noqa: S608
    f"SELECT word, ndoc FROM {_ts_stat('a.search_vector')}",
]

# SQLite: an FTS5 table of the counted articles' words (no stemming) and its vocabulary.
SQLITE_WORDS = "articles_searchword_fts"
SQLITE_VOCAB = "articles_searchword_vocab"
SQLITE_INSTALL = [
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {SQLITE_WORDS} USING fts5(text, tokenize = 'unicode61 remove_diacritics 2')",
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {SQLITE_VOCAB} USING fts5vocab({SQLITE_WORDS}, 'row')",
]
SQLITE_UNINSTALL = [f"DROP TABLE IF EXISTS {SQLITE_VOCAB}", f"DROP TABLE IF EXISTS {SQLITE_WORDS}"]


def install(conn=None) -> None:
    conn = conn or connection
    with conn.cursor() as cursor:
        if conn.vendor == "postgresql":
            cursor.execute(POSTGRES_INSTALL)
        elif conn.vendor == "sqlite":
            for statement in SQLITE_INSTALL:
                cursor.execute(statement)


def uninstall(conn=None) -> None:
    conn = conn or connection
    with conn.cursor() as cursor:
        if conn.vendor == "postgresql":
            cursor.execute(POSTGRES_UNINSTALL)
        elif conn.vendor == "sqlite":
            for statement in SQLITE_UNINSTALL:
                cursor.execute(statement)


def installed(conn=None) -> bool:
    conn = conn or connection
    with conn.cursor() as cursor:
        if conn.vendor == "postgresql":
            cursor.execute("SELECT count(*) FROM pg_trigger WHERE tgname = ANY(%s)", [list(TRIGGERS)])
            return cursor.fetchone()[0] == len(TRIGGERS)
        cursor.execute("SELECT count(*) FROM sqlite_master WHERE name IN (%s, %s)", [SQLITE_WORDS, SQLITE_VOCAB])
        return cursor.fetchone()[0] == 2


def rebuild(conn=None) -> int:
    """Recompute the lexicon from the articles; returns how many words it holds."""
    conn = conn or connection
    with transaction.atomic(using=conn.alias), conn.cursor() as cursor:
        if conn.vendor == "postgresql":
            # Writers' triggers wait until the new counts are in, then apply on top of them.
            for statement in POSTGRES_REBUILD:
                cursor.execute(statement)
            # The planner needs to know these tables' sizes to look terms up by key.
            cursor.execute("ANALYZE articles_searchword, articles_searchlexeme")
            cursor.execute("SELECT count(*) FROM articles_searchword")
            return cursor.fetchone()[0]
        cursor.execute(f"DELETE FROM {SQLITE_WORDS}")  # noqa: S608 (constant names)
        cursor.execute(
            f"INSERT INTO {SQLITE_WORDS} (rowid, text) "  # noqa: S608
            "SELECT id, title || ' ' || summary || ' ' || substr(body_text, 1, %s) FROM articles_article "
            f"WHERE {COUNTED.format(row='articles_article')}",
            [BODY_CHARS],
        )
        cursor.execute(f"SELECT count(*) FROM {SQLITE_VOCAB}")  # noqa: S608
        return cursor.fetchone()[0]


def sqlite_index(article) -> None:
    """SQLite: bring one article's words up to date (PostgreSQL's triggers do this by themselves)."""
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {SQLITE_WORDS} WHERE rowid = %s", [article.pk])  # noqa: S608
        if article.status == "published" and article.published_at is not None:
            cursor.execute(
                f"INSERT INTO {SQLITE_WORDS} (rowid, text) VALUES (%s, %s)",  # noqa: S608
                [article.pk, f"{article.title} {article.summary} {article.body_text[:BODY_CHARS]}"],
            )


def sqlite_remove(pk: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {SQLITE_WORDS} WHERE rowid = %s", [pk])  # noqa: S608


# ---------------------------------------------------------------- reading

ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
# Counts are made exact (scheduled articles subtracted) for every word that
# scheduled articles alone could account for, and up to this many more: typo
# correction compares small counts (a one-off word, a spelling in 5 articles).
# Larger counts may include scheduled articles; they only order candidates.
EXACT_MARGIN = 5


def neighbours(term: str) -> set[str]:
    """Every string one typo from `term` (a deletion, insertion, substitution or swap of neighbours), and itself.

    Looked up by primary key, this finds exactly the words within one typo,
    however short: trigram similarity misses "laod" -> "load".
    """
    splits = [(term[:i], term[i:]) for i in range(len(term) + 1)]
    out = {term}
    for left, right in splits:
        if right:
            out.add(left + right[1:])
            if len(right) > 1:
                out.add(left + right[1] + right[0] + right[2:])
            out.update(left + c + right[1:] for c in ALPHABET)
        out.update(left + c + right for c in ALPHABET)
    return {word for word in out if _WORD_RE.match(word)}


def candidates(terms: list[str], long_terms: list[str], now) -> list[tuple[str, str, float, int]]:
    """(term, word, trigram similarity, public ndoc) for vocabulary words near each term (PostgreSQL).

    Words one typo away come from `neighbours()` by primary key; words two
    typos away from long terms, through the trigram index. Each word's count
    is of public articles only (scheduled ones subtracted, see above).
    """
    pairs = [(term, word) for term in terms for word in sorted(neighbours(term))]
    sql = f"""
        WITH near AS (
            SELECT n.term, v.word, v.ndoc
            FROM unnest(%s::text[], %s::text[]) AS n(term, word)
            JOIN articles_searchword v ON v.word = n.word
            UNION
            SELECT t.term, v.word, v.ndoc
            FROM unnest(%s::text[]) AS t(term)
            JOIN articles_searchword v ON v.word %% t.term AND levenshtein_less_equal(v.word, t.term, 2) <= 2
        ),
        scheduled AS MATERIALIZED (
            SELECT id FROM articles_article WHERE status = 'published' AND published_at > %s
        ),
        rare AS (
            SELECT DISTINCT word FROM near WHERE ndoc <= (SELECT count(*) FROM scheduled) + %s
        ),
        hidden AS (
            SELECT t.term AS word, count(*) AS n
            FROM articles_article a CROSS JOIN LATERAL ({WORDS_OF.format(row="a")}) AS t(term)
            WHERE a.id IN (SELECT id FROM scheduled)
              AND a.search_vector @@ to_tsquery('english', (SELECT string_agg(word, ' | ') FROM rare))
              AND t.term IN (SELECT word FROM rare)
            GROUP BY t.term
        )
        SELECT near.term, near.word, similarity(near.word, near.term), near.ndoc - coalesce(hidden.n, 0)
        FROM near LEFT JOIN hidden ON hidden.word = near.word
        WHERE near.ndoc - coalesce(hidden.n, 0) > 0
    """  # noqa: S608 (constant SQL; every value is a parameter)
    with connection.cursor() as cursor:
        cursor.execute(sql, [[t for t, _ in pairs], [w for _, w in pairs], long_terms, now, EXACT_MARGIN])
        return cursor.fetchall()


def sqlite_candidates(terms: list[str], now, within) -> list[tuple[str, str, float, int]]:
    """SQLite: the same answer from the FTS5 vocabulary, compared in Python (`within(term, word)` decides)."""
    from articles.models import Article

    if not terms:
        return []
    lengths = [len(term) for term in terms]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT term, doc FROM {SQLITE_VOCAB} WHERE length(term) BETWEEN %s AND %s",  # noqa: S608
            [max(3, min(lengths) - 2), min(40, max(lengths) + 2)],
        )
        vocabulary = [(word, ndoc) for word, ndoc in cursor.fetchall() if _WORD_RE.match(word)]
    near = [(term, word, ndoc) for term in terms for word, ndoc in vocabulary if within(term, word)]
    scheduled = Article.objects.filter(status="published", published_at__gt=now)
    rare = {word for _, word, ndoc in near if ndoc <= scheduled.count() + EXACT_MARGIN} if near else set()
    hidden: dict[str, int] = {}
    if rare:
        for text in scheduled.values_list("title", "summary", "body_text"):
            words = set(re.findall(r"[a-z][a-z0-9]*", " ".join(text).lower()))
            for word in rare & words:
                hidden[word] = hidden.get(word, 0) + 1
    return [
        (term, word, trigram_similarity(term, word), ndoc - hidden.get(word, 0))
        for term, word, ndoc in near
        if ndoc - hidden.get(word, 0) > 0
    ]


def _trigrams(word: str) -> set[str]:
    padded = f"  {word} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def trigram_similarity(a: str, b: str) -> float:
    """pg_trgm's similarity(), for SQLite."""
    ta, tb = _trigrams(a), _trigrams(b)
    return len(ta & tb) / len(ta | tb) if ta | tb else 0.0
