"""Full-text search over public articles.

PostgreSQL (production): a weighted tsvector per article (title A, tags and
summary B, body C) with a GIN index, `websearch_to_tsquery` for the reader's
words, ts_rank plus a title boost, ts_headline snippets, and typo correction
against the public articles' own words (fuzzystrmatch + pg_trgm).
SQLite (`make run`'s zero-setup default): an FTS5 table with bm25 ranking.

Everything starts from `Article.objects.published()`: nothing else is searched,
counted or snippeted for readers.
"""

import json
import math
import re
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import islice, product

from django.contrib.contenttypes.models import ContentType
from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchVectorField
from django.core.cache import cache
from django.db import connection
from django.db.models import BooleanField, Count, DateTimeField, ExpressionWrapper, F, FloatField, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Left
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe
from taggit.models import TaggedItem

import kb.lookups  # noqa: F401 (registers __any_of)
from articles import lexicon
from articles.search import CONFIG, TITLE_VECTOR, expand_compounds
from kb import planner

# Private-use characters mark highlights inside the database's snippet; the
# snippet is escaped whole and only these become <mark>, so nothing else an
# author wrote can turn into markup. rendering.plain_text strips them from bodies.
MARK_START, MARK_END = "\ue000", "\ue001"

# ---------------------------------------------------------------- querying
#
# Bounded by design, so that no query costs more with 100,000 articles than
# with a few thousand (README, "Search"):
# - matching goes through the GIN index on `search_vector`;
# - counts are exact up to COUNT_EXACT_UP_TO, past it an estimate ("about"):
#   the planner's, which is trusted without counting at all when it says more
#   than TRUST_ESTIMATE_ABOVE (a common word: counting even a capped number of
#   matches reads each one's row);
# - ranking reads the whole search document of RANK_NEWEST + RANK_TITLE
#   candidates at most: the newest matches, and the newest whose title matches
#   (a GIN index on the title's tsvector finds those without reading documents);
# - readers can page through the first MAX_RESULTS results, no deeper;
# - facets count FACET_SAMPLE matches, scaled to the estimate past them;
# - snippets (ts_headline) are made for the page shown only.
# Below these numbers (every search of the 52 seed articles) nothing is cut.

# Exact as far as a reader can page (MAX_RESULTS): counting further read 501 documents to tell "412" from
# "about 400" (a filtered search's largest statement).
COUNT_EXACT_UP_TO = 300
TRUST_ESTIMATE_ABOVE = 10_000
RANK_NEWEST = 300
RANK_TITLE = 100
MAX_RESULTS = 300
FACET_SAMPLE = 500
# Tags offered to narrow a search, the most frequent first: a sidebar of every tag in the sample (250 at
# 100,000 articles) helps nobody choose, and was a third of the page's rendering.
FACET_TAGS = 20

assert MAX_RESULTS <= RANK_NEWEST <= COUNT_EXACT_UP_TO <= FACET_SAMPLE  # noqa: S101 (what the paging relies on)


def _unhyphened(text: str) -> str:
    # "dead-letter" must find "dead letter" too: PostgreSQL would otherwise
    # demand the hyphenated compound. A leading "-word" still excludes.
    return re.sub(r"(?<=\w)-(?=\w)", " ", text)


def _websearch(q: str) -> SearchQuery:
    return SearchQuery(_unhyphened(q), search_type="websearch", config=CONFIG)


def reader_query(q: str, also=()) -> SearchQuery:
    """The reader's words as a tsquery, or any of the synonym alternatives `also` (search/synonyms.py)."""
    query = _websearch(q)
    for text in also:
        query = query | _websearch(text)
    return query


def match(base, q: str, also=()):
    """`base` narrowed to the articles matching `q` or an alternative (through the full-text index), unranked."""
    if connection.vendor == "postgresql":
        return base.filter(search_vector=reader_query(q, also))
    match = _fts5_match(q, also)
    if not match:
        return base.none()
    return base.filter(
        pk__in=RawSQL("SELECT rowid FROM articles_article_fts WHERE articles_article_fts MATCH %s", [match])
    )


# ---------------------------------------------------------------- BM25 (PostgreSQL)
#
# Okapi BM25 as Lucene computes it, over the stored weighted tsvector:
# - a term's frequency in a document is its weighted count of occurrences
#   (title 3, tags and summary 2, body 1): ts_rank_cd() with one lexeme and
#   these weights sums exactly that, by binary search in the vector;
# - the document's length is the same weighted count over all its words, the
#   generated column `search_length` (articles/migrations/0015_search_length.py);
# - a term's document frequency is SearchLexeme.ndoc, kept by triggers at
#   save (articles/lexicon.py); the number of documents and their average
#   length are read once per change of public content (cached).
# Documents that have every word, and multi-word queries' exact phrase, get a boost.

K1 = 1.2
B = 0.75
ALL_WORDS_BOOST = 0.05
PHRASE_BOOST = 0.25
# ts_rank_cd's weights, {D, C, B, A}, must lie in [0, 1]: the field weights divided by 3.
_FIELD_WEIGHTS = "{0.33333334,0.33333334,0.6666667,1}"


def _positive_text(texts) -> str:
    """The words to score: negated words, quotes and `or` left out; compounds split as in the document."""
    words = []
    for text in texts:
        for token in _unhyphened(text).split():
            if token.startswith("-") or token.lower() == "or":
                continue
            words.append(token.strip('"'))
    return expand_compounds(" ".join(words))


@dataclass(frozen=True)
class Term:
    lexeme: str
    ndoc: int
    own: bool = True  # in the reader's own words, not only in a synonym's

    @property
    def tsquery(self) -> str:
        # One lexeme, quoted as tsquery input wants it (quotes and backslashes doubled).
        return "'" + self.lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


# A word that only a synonym brought in counts this much of a word the reader typed.
SYNONYM_WEIGHT = 0.25


def terms_of(q: str, also=()) -> list[Term]:
    """The query's lexemes (stemmed as the documents are) with their document frequencies, rarest first."""
    own, other = _positive_text((q,)), _positive_text(also)
    if not (own + other).strip():
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT t.lexeme, coalesce(l.ndoc, 0), t.lexeme = ANY(tsvector_to_array(to_tsvector(%s::regconfig, %s))) "
            "FROM unnest(tsvector_to_array(to_tsvector(%s::regconfig, %s))) AS t(lexeme) "
            "LEFT JOIN articles_searchlexeme l ON l.lexeme = t.lexeme ORDER BY 2, 1",
            [CONFIG, own, CONFIG, f"{own} {other}"],
        )
        return [Term(lexeme, ndoc, bool(mine)) for lexeme, ndoc, mine in cursor.fetchall()]


STATS_KEY = "search:bm25-stats:{version}"


def corpus_stats() -> tuple[int, float]:
    """(number of counted articles, their average weighted length), recomputed when public content changes."""
    from articles import caching

    remembered = getattr(connection, "_kb_corpus_stats", None)  # read already in this search (run())
    if remembered is not None:
        return remembered
    key = STATS_KEY.format(version=caching.content_version())
    stats = cache.get(key)
    if stats is None:
        with connection.cursor() as cursor:
            counted = lexicon.COUNTED.format(row="articles_article")
            sql = f"SELECT count(*), coalesce(avg(search_length), 0) FROM articles_article WHERE {counted}"  # noqa: S608
            cursor.execute(sql)
            documents, average = cursor.fetchone()
        stats = (documents, float(average))
        cache.set(key, stats, 3600)
    if getattr(connection, "_kb_planned_for_memory", False):
        connection._kb_corpus_stats = stats  # until the search ends: two cache round trips, asked three times
    return stats


def inverse_document_frequency(documents: int, ndoc: int) -> float:
    return math.log(1 + (documents - ndoc + 0.5) / (ndoc + 0.5))


def _tsquery_sql(q: str, also=()) -> tuple[str, list]:
    """reader_query(q, also) as SQL and its parameters, for queries written by hand."""
    sql = " || ".join(["websearch_to_tsquery(%s::regconfig, %s)"] * (1 + len(also)))
    return sql, [value for text in (q, *also) for value in (CONFIG, _unhyphened(text))]


def bm25(terms: list[Term], q: str, also=()):
    """The BM25 score of a row of articles_article for `terms`, with the all-words and phrase boosts."""
    documents, average = corpus_stats()
    documents = max(documents, max((t.ndoc for t in terms), default=0), 1)
    idf = [inverse_document_frequency(documents, t.ndoc) * (1 if t.own else SYNONYM_WEIGHT) for t in terms]
    strict, strict_params = _tsquery_sql(q, also)
    words = [w for w in re.findall(r"\w+", q) if w.lower() != "or"]
    phrase = bool(any_word_query(q))  # several words, no search syntax
    # The document is read once per article, in `d`: each mention of the column would read it again from
    # its TOAST table (5 KB a document; a quarter of this expression's cost with two words).
    sql = f"""
        (SELECT
          (SELECT coalesce(sum(v.idf * v.tf * {K1 + 1} / (v.tf + {K1} * (1 - {B} + {B} * articles_article.search_length
                                                                    / %s))), 0)
           FROM (SELECT t.idf, 3 * ts_rank_cd('{_FIELD_WEIGHTS}'::real[], d.document, t.q::tsquery, 0) AS tf
                 FROM unnest(%s::text[], %s::float8[]) AS t(q, idf)) v)
          * (1 + {ALL_WORDS_BOOST} * (d.document @@ ({strict}))::int
             {"+ %s * (d.document @@ phraseto_tsquery(%s::regconfig, %s))::int" if phrase else ""})
         FROM (SELECT articles_article.search_vector || ''::tsvector AS document OFFSET 0) d)
    """  # noqa: S608 (constants and placeholders only)
    params = [max(average, 1.0), [t.tsquery for t in terms], idf, *strict_params]
    if phrase:
        params += [PHRASE_BOOST, CONFIG, " ".join(words)]
    return RawSQL(sql, params, output_field=FloatField())  # noqa: S611 (constants; values are parameters)


def _rank(q: str, also=(), terms=None):
    from articles.freshness import search_rank_factor

    # Overdue articles rank a little lower (#16): the text's rank times a factor just under 1 for them.
    return _text_rank(q, also, terms) * search_rank_factor()


def _text_rank(q: str, also=(), terms=None):
    if connection.vendor == "postgresql":
        return bm25(terms if terms is not None else terms_of(q, also), q, also)
    match = _fts5_match(q, also)
    return RawSQL(
        "(SELECT -bm25(articles_article_fts, 3.0, 2.0, 2.0, 1.0) FROM articles_article_fts "
        "WHERE articles_article_fts MATCH %s AND rowid = articles_article.id)",
        [match],
        output_field=FloatField(),
    )


def matches(base, q: str, also=()):
    """`base` narrowed to articles matching `q`, annotated with `rank` (higher is better).

    Unbounded: ranking all of it reads every match's document. `ranked()` is
    what the search uses.
    """
    if connection.vendor != "postgresql" and not _fts5_query(q):
        return base.none().annotate(rank=Value(0.0, output_field=FloatField()))
    return match(base, q, also).annotate(rank=_rank(q, also))


# Candidates ranked at most: the newest matches of every word, the newest
# whose title has every word, and (for questions, which match on any word)
# every article with the query's rare words, rarest first.
RANK_RARE = 200


def ranked(base, q: str, also=(), *, any_word: bool = False, newest_ids=None):
    return ranked_candidates(base, q, also, any_word=any_word, newest_ids=newest_ids)[0]


def ranked_candidates(
    base, q: str, also=(), *, any_word: bool = False, newest_ids=None, matched=None, any_word_ids=None
):
    """(The best matches of `q` first, ranked by BM25 among a bounded set of candidates and annotated with
    `rank`; the candidate ids it ranks, or None on SQLite).

    Candidates are the RANK_NEWEST newest matches of every word, the
    RANK_TITLE newest with every word in their title and, when any word may
    match (a question, or nothing has them all): every article with the
    query's rare words, rarest word first while all of a word's articles fit
    in RANK_RARE; and when fewer than RANK_NEWEST have every word, the newest
    with any word in their place. With fewer matches than that, every match
    is ranked exactly.

    `newest_ids`, `any_word_ids`: the newest matches of every word and of any
    word, when the caller read them already (run(), while counting).
    `matched`: `match(base, q, also)` when the caller built it already (its
    planner estimate is remembered).
    """
    from articles.models import Article

    # What a result must match: every word (or the phrase), or for questions any word, of q or an alternative.
    found_text, found_also = q, list(also)
    if any_word:
        found_text, found_also = any_word_query(q) or q, [any_word_query(text) or text for text in also]
    if connection.vendor != "postgresql":
        newest = match(base, found_text, found_also).order_by("-published_at", "-id").values("pk")[:RANK_NEWEST]
        return (
            Article.objects.filter(pk__in=newest)
            .annotate(rank=_rank(found_text, found_also))
            .order_by("-rank", "-published_at", "-id")
        ), None
    # The newest articles with every word: they are boosted, so they belong among the candidates.
    if newest_ids is None:  # not read by run() while counting (the planner's estimate was trusted)
        matched = match(base, q, also) if matched is None else matched
        newest_ids, _ = _newest_ids(matched, base, q, also, wanted=RANK_NEWEST)
    newest = base.model.objects.filter(pk__any_of=newest_ids[:RANK_NEWEST]).values_list("pk", flat=True)
    terms = terms_of(q, also)
    # Title matches, tested on the title alone; the full match is checked on the few candidates only.
    # The title's stored tsvector: parsed when the title was written, not for each row passed here.
    titled = base.alias(title_document=RawSQL(TITLE_VECTOR, [], output_field=SearchVectorField())).filter(  # noqa: S611
        title_document=reader_query(q, also)
    )
    by_title = newest_first(titled, base=base, wanted=RANK_TITLE, test_us=TEST_TITLE_US)
    by_title = by_title.values_list("pk", flat=True)[:RANK_TITLE]
    branches = [by_title]
    if any_word:
        # Every article with a rare word: the newest 200 of a common "rarest" word (in a third of the articles)
        # were only more of the newest, and read 1,400 articles of a category and a tag (10 ms).
        budget = RANK_RARE
        for term in terms:  # rarest first
            if term.ndoc > budget:
                break
            if term.ndoc:
                with_term = base.filter(search_vector=SearchQuery(term.tsquery, search_type="raw", config=CONFIG))
                branches.append(with_term.values_list("pk", flat=True)[: term.ndoc])
                budget -= term.ndoc
        short = RANK_NEWEST - len(newest_ids)
        if short > 0:  # few articles have every word: the newest with any of them take their place
            if any_word_ids is not None:
                any_newest = base.model.objects.filter(pk__any_of=any_word_ids[:short]).values_list("pk", flat=True)
            else:
                loose = match(base, found_text, found_also)
                any_newest = newest_first(loose, base=base, wanted=short, test_us=TEST_DOCUMENT_US)
                any_newest = any_newest.values_list("pk", flat=True)[:short]
            branches.append(any_newest)
    # Read once, here (inside run()'s planner settings), so the ranking query below is a plain lookup by id.
    with planned_for_memory():
        candidates = sorted(set(newest.union(*branches).values_list("pk", flat=True)))
    return (
        match(Article.objects.all(), found_text, found_also)
        .filter(pk__any_of=candidates)
        .annotate(rank=_rank(q, also, terms))
        .order_by("-rank", "-published_at", "-id")
    ), candidates


def count(queryset) -> tuple[int, bool]:
    """(how many, exact): exact up to COUNT_EXACT_UP_TO, else more than that and False.

    When the planner expects more than TRUST_ESTIMATE_ABOVE, its estimate is
    the answer and nothing is counted.
    """
    if queryset.query.is_empty():
        return 0, True
    if connection.vendor == "postgresql" and (planned := _planned_rows(queryset)) > TRUST_ESTIMATE_ABOVE:
        return _round(planned), False
    n = queryset.order_by().values("pk")[: COUNT_EXACT_UP_TO + 1].count()
    return n, n <= COUNT_EXACT_UP_TO


def count_newest(base, q: str, also=()) -> tuple[object, int, bool, list | None]:
    """(the matches of `q` or an alternative in `base`, count(), and the ids it read: the newest
    COUNT_EXACT_UP_TO + 1, in one walk).

    Counting, ranking's newest candidates and the facets' sample were three
    reads of the same matches (each checking the match on every article's
    document); this is one. None when the planner's estimate is trusted and
    nothing is read.
    """
    queryset = match(base, q, also)
    if queryset.query.is_empty():  # a filter that can match nothing (an unknown category or tag)
        return queryset, 0, True, []
    planned = None
    if connection.vendor == "postgresql" and (planned := _planned_rows(queryset)) > TRUST_ESTIMATE_ABOVE:
        return queryset, _round(planned), False, None
    wanted = COUNT_EXACT_UP_TO + 1
    ids, windowed = _newest_ids(queryset, base, q, also, wanted=wanted, planned=planned)
    if len(ids) < wanted and windowed:  # the window held fewer than expected
        ids = list(queryset.order_by(NOT_BY_THE_DATE_INDEX.desc(), "-id").values_list("pk", flat=True)[:wanted])
    return queryset, len(ids), len(ids) <= COUNT_EXACT_UP_TO, ids


def _newest_ids(queryset, base, q: str, also, *, wanted: int, planned: int | None = None) -> tuple[list[int], bool]:
    """(ids of the newest `wanted` of `queryset`, the matches of `q` in `base`, read the cheaper way; whether
    only the newest window was read)."""
    newest = newest_first(queryset, base=base, wanted=wanted, test_us=TEST_DOCUMENT_US, planned=planned)
    if getattr(newest, "_kb_walks", False):
        return _walk_newest(base, q, also, wanted), False
    return list(newest.values_list("pk", flat=True)[:wanted]), getattr(newest, "_kb_windowed", False)


def _walk_newest(base, q: str, also, wanted: int) -> list[int]:
    """Ids of the newest `wanted` articles of `base` matching `q` or an alternative, walking `base` newest first.

    Walked as one query, PostgreSQL tests the match (reading the article's
    5 KB search document) where it reads the article, before the tag's
    semi-join, though the tag's index probe is cheaper and fails more often.
    So the walk is a subquery (OFFSET 0 keeps it one) and the match is tested
    on what every filter left: "service" in a category and a tag, 301
    newest matches, tested 340 documents instead of 856 (13 -> 5 ms). The
    subquery's order is kept: nothing above it sorts or joins, which also
    lets the LIMIT reach its plan (a walk, not a sort of every row).
    """
    walk = base.order_by("-published_at", "-id").values("pk", "search_vector")
    walk_sql, walk_params = walk.query.sql_with_params()
    tsquery, tsquery_params = _tsquery_sql(q, also)
    sql = f"SELECT w.pk FROM ({walk_sql} OFFSET 0) w WHERE w.search_vector @@ ({tsquery}) LIMIT %s"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [*walk_params, *tsquery_params, wanted])
        return [pk for (pk,) in cursor.fetchall()]


# The publication date, in an expression no index provides (see newest_first()).
NOT_BY_THE_DATE_INDEX = ExpressionWrapper(F("published_at") + Value(timedelta(0)), output_field=DateTimeField())
# What reading the newest matches costs, in µs (measured at 100,000 articles): per article passed while
# walking the date index and testing the match on each (reading its whole search document, or only its
# title's vector), and per match sorted when an index found them.
TEST_DOCUMENT_US, TEST_TITLE_US, SORT_US = 8.0, 1.5, 2.0


def newest_first(queryset, *, base, wanted: int, test_us: float, planned: int | None = None):
    """`queryset` (matches narrowed from `base`) newest first, read the cheaper way for its first `wanted`.

    Either walk the date index, testing the match on each article passed
    until `wanted` have it, or find every match (through the GIN index, or
    by testing each article of a small `base`) and sort them. The planner
    would choose itself, but it prices the test like an addition: it walked
    every one of 100,000 articles for the 90 titles with "api" and
    "databases" (145 ms; 3 ms sorted), and 7,000 for the 501 newest
    documents with "database green" (94 ms; 13 ms sorted). So the choice is
    made here, from its estimates of how many articles match and how many
    the filters leave, and the costs above.
    """
    if connection.vendor != "postgresql":
        return queryset.order_by("-published_at", "-id")
    planned = max(1, planned if planned is not None else _planned_rows(queryset))
    filtered = max(1, _planned_rows(base))
    # A walk passes the articles of a date index (all public ones, or a category's) and tests the tags on
    # those it reaches: for 200 of the 6,000 articles with "backoff" and the most used tag, 3,200 articles.
    domain = max(filtered, _planned_rows(getattr(base, "_kb_before_tags", base)))
    public = max(corpus_stats()[0], domain)
    walked = min(domain, wanted * domain / planned)
    # Matches among all public articles, as if the filters and the words were independent.
    everywhere = planned * public / filtered
    sorting = min(everywhere * SORT_US, filtered * test_us)
    # Only the newest NEWEST_WINDOW public articles need sorting when they surely hold `wanted` matches (twice
    # as many expected, the matches spread over time like the articles).
    window = public > NEWEST_WINDOW and planned * NEWEST_WINDOW / public >= 2 * wanted
    if window:
        sorting = sorting * NEWEST_WINDOW / public + WINDOW_US
    if walked * test_us <= sorting:
        walking = queryset.order_by("-published_at", "-id")
        walking._kb_walks = True  # _newest_ids() walks in a query of its own, the match tested last (_walk_newest())
        return walking
    start = window_start() if window else None
    ordered = (queryset if start is None else queryset.filter(published_at__gte=start)).order_by(
        NOT_BY_THE_DATE_INDEX.desc(), "-id"
    )
    ordered._kb_windowed = start is not None  # count_newest() checks that it held `wanted`
    return ordered


# Sorting every match reads each one's row: 12,000 rows for a pair of words in 12% of articles (25 ms warm,
# 62 ms from cold pages). When the matches are many, the newest are among the NEWEST_WINDOW newest public
# articles, and only those are sorted: the GIN index's matches AND a range of the date index, which costs
# about WINDOW_US more (18 ms, 49 from cold pages; walking the date index took 28 ms, 518 from cold pages).
NEWEST_WINDOW = 20_000
WINDOW_US = 5_000.0
WINDOW_KEY = "search:newest-window:{version}"


def window_start():
    """The publication date of the NEWEST_WINDOW-th newest public article (cached until content changes)."""
    from articles import caching
    from articles.models import Article

    key = WINDOW_KEY.format(version=caching.content_version())
    start = cache.get(key)
    if start is None:
        newest = Article.objects.published().order_by("-published_at", "-id").values_list("published_at", flat=True)
        start = next(iter(newest[NEWEST_WINDOW - 1 : NEWEST_WINDOW]), None)
        # Articles published since (scheduled ones) only make the window a little wider than it needs to be.
        cache.set(key, start, 3600)
    return start


def _planned_rows(queryset) -> int:
    """The planner's estimate of how many rows `queryset` has; asked once per queryset (a search asks again)."""
    if queryset.query.is_empty():  # nothing to plan (an unknown tag or category): EXPLAIN says nothing
        return 0
    planned = getattr(queryset, "_kb_planned_rows", None)
    if planned is None:
        plan = json.loads(queryset.order_by().values("pk").explain(format="json"))
        planned = queryset._kb_planned_rows = int(plan[0]["Plan"]["Plan Rows"])
    return planned


def _round(rows: int) -> int:
    digits = len(str(rows)) - 3  # three significant figures: "about 12,400"
    return round(rows, -digits) if digits > 0 else rows


def estimate(queryset) -> int:
    """The planner's estimate of how many rows `queryset` has (never below COUNT_EXACT_UP_TO + 1), rounded."""
    if connection.vendor != "postgresql":
        return queryset.order_by().count()  # SQLite (`make run`) counts: it need not be fast at scale.
    return _round(max(_planned_rows(queryset), COUNT_EXACT_UP_TO + 1))


def _fts5_match(q: str, also=()) -> str:
    """An FTS5 query for `q` or any of the alternatives `also`."""
    return " OR ".join(f"({part})" for part in (_fts5_query(text) for text in (q, *also)) if part)


def _fts5_query(q: str) -> str:
    # Each word quoted, so FTS5 syntax in a reader's query is never an error;
    # "or" between words keeps its meaning.
    parts = []
    for word in re.findall(r"\w+", q.lower()):
        if word == "or":
            if parts and parts[-1] != "OR":
                parts.append("OR")
        else:
            parts.append(f'"{word}"')
    while parts and parts[-1] == "OR":
        parts.pop()
    return " ".join(parts)


# ts_headline parses all the text it is given (about 1 ms per 4 KB): a snippet is looked for in the
# first HEADLINE_CHARS of each body, so twenty 200 KB bodies cost a page 20 ms, not a second.
HEADLINE_CHARS = 20_000


def snippets(article_ids: list[int], q: str, also=()) -> dict[int, str]:
    """Highlighted snippets for one page of results: HTML where only <mark> is markup."""
    if not article_ids:
        return {}
    from articles.models import Article

    if connection.vendor == "postgresql":
        query = reader_query(q, also)
        rows = (
            Article.objects.filter(pk__any_of=article_ids)
            .annotate(
                snippet=SearchHeadline(
                    Left("body_text", HEADLINE_CHARS),
                    query,
                    config=CONFIG,
                    start_sel=MARK_START,
                    stop_sel=MARK_END,
                    max_words=32,
                    min_words=16,
                    max_fragments=2,
                    fragment_delimiter=" … ",
                )
            )
            .values_list("pk", "snippet")
        )
    else:
        match = _fts5_match(q, also)
        with connection.cursor() as cursor:
            placeholders = ", ".join(["%s"] * len(article_ids))
            cursor.execute(
                f"SELECT rowid, snippet(articles_article_fts, 3, %s, %s, ' … ', 28) FROM articles_article_fts "  # noqa: S608
                f"WHERE articles_article_fts MATCH %s AND rowid IN ({placeholders})",
                [MARK_START, MARK_END, match, *article_ids],
            )
            rows = cursor.fetchall()
    return {pk: highlight(text) for pk, text in rows if text and MARK_START in text}


def highlight(snippet: str) -> str:
    html = escape(snippet).replace(MARK_START, "<mark>").replace(MARK_END, "</mark>")
    return mark_safe(html)  # noqa: S308 (escaped above; only our own <mark> remains)


def facets(outcome) -> dict:
    """How many results fall in each category and carry each tag.

    Counted among FACET_SAMPLE results: exact up to there (then the sample is
    every result), past it scaled to the estimated total and marked `estimated`.
    """
    from articles.models import Article

    # In no particular order: the cheapest FACET_SAMPLE matches to find (all of them when there are no more).
    read = outcome.sample if outcome.sample is not None else outcome.newest
    if read is not None:
        # The matches read while counting: every match when the count is exact, else the newest.
        sample_rows = Article.objects.filter(pk__any_of=read[:FACET_SAMPLE])
        rows = list(sample_rows.values_list("pk", "category__slug", "category__name"))
    else:
        with planned_for_memory():
            rows = list(outcome.matched.order_by().values_list("pk", "category__slug", "category__name")[:FACET_SAMPLE])
    sample = [pk for pk, _, _ in rows]
    scale = outcome.estimated_total() / len(sample) if sample and not outcome.exact else 1.0

    def scaled(n: int) -> int:
        return n if scale == 1.0 else max(1, round(n * scale, -1) if n * scale >= 100 else round(n * scale))

    in_category = Counter((slug, name) for _, slug, name in rows)
    categories = [
        {"category__slug": slug, "category__name": name, "count": n}
        for (slug, name), n in sorted(in_category.items(), key=lambda item: (-item[1], item[0][1]))
    ]
    tags = (
        TaggedItem.objects.filter(content_type=ContentType.objects.get_for_model(Article), object_id__any_of=sample)
        .values("tag__slug", "tag__name")
        .annotate(count=Count("pk"))
        .order_by("-count", "tag__name")[:FACET_TAGS]
    )
    return {
        "estimated": scale != 1.0,
        "categories": [
            {"slug": c["category__slug"], "name": c["category__name"], "count": scaled(c["count"])}
            for c in (categories if sample else [])
        ],
        "tags": [
            {"slug": t["tag__slug"], "name": t["tag__name"], "count": scaled(t["count"])}
            for t in (tags if sample else [])
        ],
    }


# ---------------------------------------------------------------- the whole search

# Below this many hits, a typo correction is worth trying.
FEW_RESULTS = 3


@dataclass
class Outcome:
    results: object  # an ordered queryset of public articles: the best (or newest) first
    total: int  # exact when `exact`, else COUNT_EXACT_UP_TO + 1: see `estimated_total()`
    query: str  # what the results are for: the reader's words, or their correction
    correction: "Correction | None" = None
    relaxed: bool = False  # no article had every word; these have some of them
    original_total: int = 0  # what the reader's own words found, before any correction
    exact: bool = True
    matched: object = None  # every result, unordered (for facets and estimates)
    also: list = field(default_factory=list)  # synonym alternatives searched too ("Also searched for …")
    any_word: bool = False  # the results have any of the words (a question, or nothing had them all)
    limit: int | None = None  # how many results there are to page through, when fewer than the (estimated) total
    newest: list | None = None  # ids of the newest COUNT_EXACT_UP_TO + 1 matches of every word, read while counting
    sample: list | None = None  # ids of matches read while counting, for facets (None: facets sample their own)

    @property
    def corrected(self) -> bool:
        return self.correction is not None and self.query == self.correction.text

    def snippet_query(self) -> tuple[str, list]:
        """(text, alternatives) to highlight in snippets: what the results were matched with."""
        if self.any_word:
            return any_word_query(self.query) or self.query, [any_word_query(text) or text for text in self.also]
        return self.query, list(self.also)

    @property
    def reachable(self) -> int:
        """How many results a reader can page through."""
        return min(self.total, MAX_RESULTS, self.limit if self.limit is not None else MAX_RESULTS)

    def estimated_total(self) -> int:
        if self.exact or self.total > COUNT_EXACT_UP_TO + 1:  # exact, or already the planner's estimate
            return self.total
        if not hasattr(self, "_estimate"):
            self._estimate = estimate(self.matched)
        return self._estimate


# Queries of this many words or more are questions: they match on any word.
QUESTION_WORDS = 3


@contextmanager
def planned_for_memory():
    """The engine's own queries planned with random_page_cost 1.1, in a transaction of their own (kb/planner.py).

    With the default 4.0, for "the newest matches in a category" the planner
    reads every match through a bitmap and sorts them (626 ms at 100,000
    articles) rather than walking the category's date index until it has
    enough (5 ms).
    """
    outermost = not getattr(connection, "_kb_planned_for_memory", False)
    with planner.planned_for_memory():
        try:
            yield
        finally:
            if outermost:
                connection._kb_corpus_stats = None  # read once per search (corpus_stats())


def run(base, q: str, *, sort: str = "relevance", correct: bool = True) -> Outcome:
    with planned_for_memory():
        return _run(base, q, sort=sort, correct=correct)


def _run(base, q: str, *, sort: str = "relevance", correct: bool = True) -> Outcome:
    """Search `base` (public articles, already filtered) for the reader's words.

    The editors' synonyms (search/synonyms.py) are searched too. When little
    is found, try the typo correction (unless `correct` is off: the reader
    asked for their words as typed). A question (QUESTION_WORDS or more plain
    words) matches on any of its words, ranked by BM25 with a boost for
    articles that have them all; a shorter query does when nothing has every word.
    """
    from search import synonyms

    if not q:
        total, exact = count(base)
        return Outcome(results=base.order_by("-published_at", "-id"), total=total, exact=exact, query="", matched=base)
    also = synonyms.expand(q)
    phrase_ids = None
    if connection.vendor == "postgresql" and '"' in q:
        phrase_ids, total, exact = _phrase_matches(base, q)
        outcome = Outcome(results=None, total=total, exact=exact, query=q, matched=base.filter(pk__any_of=phrase_ids))
        outcome.limit = len(phrase_ids)
    else:
        outcome = Outcome(results=None, total=0, query=q, also=also)
        outcome.matched, outcome.total, outcome.exact, outcome.newest = count_newest(base, q, also)
    outcome.original_total = outcome.total
    if outcome.total < FEW_RESULTS and correct:
        outcome.correction = suggest(q, base)
        if outcome.correction and outcome.correction.confident:
            corrected_also = synonyms.expand(outcome.correction.text)
            corrected, total, exact, newest = count_newest(base, outcome.correction.text, corrected_also)
            if total > outcome.total:
                outcome.matched, outcome.total, outcome.exact, outcome.newest = corrected, total, exact, newest
                outcome.query, outcome.also, outcome.limit = outcome.correction.text, corrected_also, None
    # The newest matches of every word, read while counting: ranking's first candidates, relaxed or not.
    every_word_newest = outcome.newest
    loose = any_word_query(outcome.query)
    question = loose and len(loose.split(" or ")) >= QUESTION_WORDS
    if loose and (outcome.total == 0 or question):
        loose_also = [any_word_query(text) or text for text in outcome.also]
        relaxed, total, exact, newest = count_newest(base, loose, loose_also)
        if total > outcome.total or (total == outcome.total and not exact):
            outcome.relaxed = outcome.total == 0
            outcome.matched, outcome.total, outcome.exact = relaxed, total, exact
            outcome.sample, outcome.newest = newest, None
            outcome.any_word = True
    if sort == "newest":
        outcome.results = outcome.matched.order_by("-published_at", "-id")
    elif phrase_ids is not None and outcome.query == q:
        # The phrase's matches are already known (a bounded set): rank them, without matching again.
        from articles.models import Article

        outcome.results = (
            Article.objects.filter(pk__any_of=phrase_ids)
            .annotate(rank=_rank(q))
            .order_by("-rank", "-published_at", "-id")
        )
    else:
        outcome.results, candidates = ranked_candidates(
            base,
            outcome.query,
            outcome.also,
            any_word=outcome.any_word,
            newest_ids=every_word_newest,
            any_word_ids=outcome.sample if outcome.any_word else None,
            # Every word of the query (or of its correction): what was counted, unless only some words matched.
            matched=None if outcome.any_word else outcome.matched,
        )
        if outcome.sample is None and outcome.newest is None and candidates is not None:
            # Nothing was read while counting (the planner's estimate was trusted): the facets count the candidates.
            outcome.sample = candidates
    return outcome


# A quoted phrase is checked on at most this many articles that have all its words.
PHRASE_SAMPLE = 150


def _phrase_matches(base, q: str) -> tuple[list[int], int, bool]:
    """(ids of the matches, how many, exact) for a query with a quoted phrase, bounded (PostgreSQL).

    The GIN index knows which articles have the words, not where: checking the
    phrase reads each candidate's whole document, and the planner, unable to
    guess how many pass, would check every article with the words (thousands
    for common ones). So the words choose the candidates through the index,
    the PHRASE_SAMPLE newest, and the phrase is checked on those only, in the
    same pass; past the sample, the count is the share of the sample that has
    the phrase times the number of articles with the words.
    """
    words = match(base, q.replace('"', " "))
    has_phrase = RawSQL(
        "articles_article.search_vector @@ websearch_to_tsquery(%s::regconfig, %s)",
        [CONFIG, _unhyphened(q)],
        output_field=BooleanField(),
    )
    from articles.models import Article

    # The newest first (the index's order), the phrase checked on those only: in an outer query, since
    # PostgreSQL would compute it for every article with the words before sorting them.
    newest = words.order_by("-published_at", "-id").values("pk")[: PHRASE_SAMPLE + 1]
    rows = sorted(
        Article.objects.filter(pk__in=newest)
        .annotate(has_phrase=has_phrase)
        .values_list("published_at", "pk", "has_phrase"),
        reverse=True,
    )
    ids = [pk for _, pk, found in rows[:PHRASE_SAMPLE] if found]
    if len(rows) <= PHRASE_SAMPLE:
        return ids, len(ids), True
    total, _ = count(words)
    estimated = _round(max(COUNT_EXACT_UP_TO + 1, round(total * len(ids) / PHRASE_SAMPLE)))
    return ids, estimated, False


def any_word_query(q: str) -> str:
    """`a b c` as `a or b or c`; empty when the reader used quotes or `-word`, or typed one word.

    A question's own "or" ("a queue or a direct call") is just a word between others here.
    """
    if re.search(r'"|(^|\s)-', q):
        return ""
    words = [word for word in q.split() if word.lower() != "or"]
    return " or ".join(words) if len(words) > 1 else ""


# ---------------------------------------------------------------- typo correction


@dataclass(frozen=True)
class Correction:
    text: str
    confident: bool


_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*")
MAX_CANDIDATES = 3
MAX_COMBINATIONS = 27


def _max_distance(word: str) -> int:
    if len(word) < 4:
        return 0
    return 1 if len(word) < 7 else 2


def edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance: like Levenshtein, but a swap of two
    neighbouring letters ("laod", "chian") is one typo, not two."""
    previous2, previous = None, list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if previous2 is not None and i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


def suggest(q: str, base) -> Correction | None:
    """Correct each word against the public lexicon (articles/lexicon.py), stored and kept current at save.

    A word may become a candidate within one typo (two for long words), a swap
    of neighbouring letters counting as one: one typo away by primary key
    lookups of every such spelling, two typos away through the trigram index.
    """
    words = [w for w in dict.fromkeys(m.lower() for m in _WORD.findall(q)) if _max_distance(w)]
    if not words:
        return None
    now = timezone.now()
    if connection.vendor == "postgresql":
        candidates = lexicon.candidates(words, [w for w in words if _max_distance(w) > 1], now)
    else:
        candidates = lexicon.sqlite_candidates(words, now, lambda t, w: edit_distance(t, w) <= _max_distance(t))

    known = {term: ndoc for term, word, _, ndoc in candidates if term == word}
    options = {term: [] for term in words}
    for term, word, similarity, ndoc in candidates:
        distance = edit_distance(term, word)
        if word == term or distance > _max_distance(term):
            continue
        if term in known and not (known[term] == 1 and distance == 1 and ndoc >= 5):
            # A word the articles use stays, unless it is a one-off next to a
            # common spelling (an article quoting the typo "conection").
            continue
        options[term].append(((distance, -similarity, -ndoc, word), word))
    choices = {}
    for term in words:
        ranked_options = [(key[0], word) for key, word in sorted(options[term])[:MAX_CANDIDATES]]
        choices[term] = ranked_options or [(0, term)]
    if all(choices[term] == [(0, term)] for term in words):
        return None

    # Words are judged together: of the few likeliest spellings of each word,
    # the combination with the fewest edits that finds articles wins ("event
    # sorcing" -> "event sourcing", not "event sorting"), then the one that
    # finds the most.
    combinations = []
    for combination in islice(product(*(choices[term] for term in words)), MAX_COMBINATIONS):
        replacements = {term: word for term, (_, word) in zip(words, combination, strict=True)}
        text = _WORD.sub(lambda m, r=replacements: r.get(m.group(0).lower(), m.group(0)), q)
        combinations.append((text, sum(distance for distance, _ in combination)))
    found = hits(base, [text for text, _ in combinations])
    scored = [((n > 0, -edits, n), text) for (text, edits), n in zip(combinations, found, strict=True)]
    (_, _, n), text = max(scored, key=lambda item: item[0])  # max() keeps the likeliest among ties
    if text == q:
        return None
    # Confident when the corrected words find articles and every word was
    # either known or corrected.
    confident = n > 0 and all(term in known or options[term] for term in words)
    return Correction(text=text, confident=confident)


# Corrections are compared by how many articles they find up to this many: past it, any is plenty.
HITS_UP_TO = 100


def hits(base, texts: list[str]) -> list[int]:
    """How many articles of `base` each text finds (up to HITS_UP_TO), in one query on PostgreSQL."""
    if connection.vendor != "postgresql":
        return [count(match(base, text))[0] for text in texts]
    parts, params = [], []
    for i, text in enumerate(texts):
        sql, text_params = match(base, text).order_by().values("pk")[:HITS_UP_TO].query.sql_with_params()
        parts.append(f"SELECT {i}, (SELECT count(*) FROM ({sql}) found)")  # noqa: S608 (Django's compiled SQL)
        params.extend(text_params)
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        found = dict(cursor.fetchall())
    return [found[i] for i in range(len(texts))]
