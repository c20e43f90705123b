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
import re
from collections import Counter
from dataclasses import dataclass
from itertools import islice, product

from django.contrib.contenttypes.models import ContentType
from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank, SearchVector
from django.db import connection
from django.db.models import Count, F, FloatField, Value
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe
from taggit.models import TaggedItem

from articles import lexicon
from articles.search import CONFIG

# Private-use characters mark highlights inside the database's snippet; the
# snippet is escaped whole and only these become <mark>, so nothing else an
# author wrote can turn into markup. rendering.plain_text strips them from bodies.
MARK_START, MARK_END = "\ue000", "\ue001"
TITLE_BOOST = 2.0

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

COUNT_EXACT_UP_TO = 500
TRUST_ESTIMATE_ABOVE = 10_000
RANK_NEWEST = 300
RANK_TITLE = 100
MAX_RESULTS = 300
FACET_SAMPLE = 500

assert MAX_RESULTS <= RANK_NEWEST <= COUNT_EXACT_UP_TO <= FACET_SAMPLE  # noqa: S101 (what the paging relies on)


def reader_query(q: str) -> SearchQuery:
    # "dead-letter" must find "dead letter" too: PostgreSQL would otherwise
    # demand the hyphenated compound. A leading "-word" still excludes.
    return SearchQuery(re.sub(r"(?<=\w)-(?=\w)", " ", q), search_type="websearch", config=CONFIG)


def match(base, q: str):
    """`base` narrowed to the articles matching `q` (through the full-text index), unordered and unranked."""
    if connection.vendor == "postgresql":
        return base.filter(search_vector=reader_query(q))
    match = _fts5_query(q)
    if not match:
        return base.none()
    return base.filter(
        pk__in=RawSQL("SELECT rowid FROM articles_article_fts WHERE articles_article_fts MATCH %s", [match])
    )


def _rank(q: str):
    from articles.freshness import search_rank_factor

    # Overdue articles rank a little lower (#16): the text's rank times a factor just under 1 for them.
    return _text_rank(q) * search_rank_factor()


def _text_rank(q: str):
    if connection.vendor == "postgresql":
        query = reader_query(q)
        title_rank = SearchRank(SearchVector("title", config=CONFIG), query)
        return SearchRank(F("search_vector"), query) + Value(TITLE_BOOST) * title_rank
    return RawSQL(
        "(SELECT -bm25(articles_article_fts, 10.0, 4.0, 4.0, 1.0) FROM articles_article_fts "
        "WHERE articles_article_fts MATCH %s AND rowid = articles_article.id)",
        [_fts5_query(q)],
        output_field=FloatField(),
    )


def matches(base, q: str):
    """`base` narrowed to articles matching `q`, annotated with `rank` (higher is better).

    Unbounded: ranking all of it reads every match's document. `ranked()` is
    what the search uses.
    """
    if connection.vendor != "postgresql" and not _fts5_query(q):
        return base.none().annotate(rank=Value(0.0, output_field=FloatField()))
    return match(base, q).annotate(rank=_rank(q))


def ranked(base, q: str):
    """The best matches of `q` first, ranked among a bounded set of candidates; annotated with `rank`.

    Candidates are the RANK_NEWEST newest matches and the RANK_TITLE newest
    matches with the words in their title. With fewer matches than
    RANK_NEWEST, that is every match, ranked exactly.
    """
    from articles.models import Article

    newest = match(base, q).order_by("-published_at", "-id").values("pk")[:RANK_NEWEST]
    if connection.vendor != "postgresql":
        return Article.objects.filter(pk__in=newest).annotate(rank=_rank(q)).order_by("-rank", "-published_at", "-id")
    # Title matches, tested on the title alone (the planner walks the date
    # index for a common title word, uses the title's GIN index for a rare
    # one); the full match is checked on the few candidates only.
    by_title = (
        base.annotate(title_document=SearchVector("title", config=CONFIG))
        .filter(title_document=reader_query(q))
        .order_by("-published_at", "-id")
        .values("pk")[:RANK_TITLE]
    )
    candidates = newest.union(by_title)
    return (
        match(Article.objects.all(), q)
        .filter(pk__in=candidates)
        .annotate(rank=_rank(q))
        .order_by("-rank", "-published_at", "-id")
    )


def count(queryset) -> tuple[int, bool]:
    """(how many, exact): exact up to COUNT_EXACT_UP_TO, else more than that and False.

    When the planner expects more than TRUST_ESTIMATE_ABOVE, its estimate is
    the answer and nothing is counted.
    """
    if connection.vendor == "postgresql" and (planned := _planned_rows(queryset)) > TRUST_ESTIMATE_ABOVE:
        return _round(planned), False
    n = queryset.order_by().values("pk")[: COUNT_EXACT_UP_TO + 1].count()
    return n, n <= COUNT_EXACT_UP_TO


def _planned_rows(queryset) -> int:
    plan = json.loads(queryset.order_by().values("pk").explain(format="json"))
    return int(plan[0]["Plan"]["Plan Rows"])


def _round(rows: int) -> int:
    digits = len(str(rows)) - 3  # three significant figures: "about 12,400"
    return round(rows, -digits) if digits > 0 else rows


def estimate(queryset) -> int:
    """The planner's estimate of how many rows `queryset` has (never below COUNT_EXACT_UP_TO + 1), rounded."""
    if connection.vendor != "postgresql":
        return queryset.order_by().count()  # SQLite (`make run`) counts: it need not be fast at scale.
    return _round(max(_planned_rows(queryset), COUNT_EXACT_UP_TO + 1))


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


def snippets(article_ids: list[int], q: str) -> dict[int, str]:
    """Highlighted snippets for one page of results: HTML where only <mark> is markup."""
    if not article_ids:
        return {}
    from articles.models import Article

    if connection.vendor == "postgresql":
        query = reader_query(q)
        rows = (
            Article.objects.filter(pk__in=article_ids)
            .annotate(
                snippet=SearchHeadline(
                    "body_text",
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
        match = _fts5_query(q)
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
        TaggedItem.objects.filter(content_type=ContentType.objects.get_for_model(Article), object_id__in=sample)
        .values("tag__slug", "tag__name")
        .annotate(count=Count("pk"))
        .order_by("-count", "tag__name")
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

    @property
    def corrected(self) -> bool:
        return self.correction is not None and self.query == self.correction.text

    @property
    def reachable(self) -> int:
        """How many results a reader can page through."""
        return min(self.total, MAX_RESULTS)

    def estimated_total(self) -> int:
        if self.exact or self.total > COUNT_EXACT_UP_TO + 1:  # exact, or already the planner's estimate
            return self.total
        if not hasattr(self, "_estimate"):
            self._estimate = estimate(self.matched)
        return self._estimate


def run(base, q: str, *, sort: str = "relevance", correct: bool = True) -> Outcome:
    """Search `base` (public articles, already filtered) for the reader's words.

    When little is found, try the typo correction (unless `correct` is off: the
    reader asked for their words as typed); when nothing is found and the query
    has no operators, accept articles that have any of its words.
    """
    if not q:
        total, exact = count(base)
        return Outcome(results=base.order_by("-published_at", "-id"), total=total, exact=exact, query="", matched=base)
    outcome = Outcome(results=None, total=0, query=q, matched=match(base, q))
    outcome.total, outcome.exact = count(outcome.matched)
    outcome.original_total = outcome.total
    ranked_text = q
    if outcome.total < FEW_RESULTS and correct:
        outcome.correction = suggest(q, base)
        if outcome.correction and outcome.correction.confident:
            corrected = match(base, outcome.correction.text)
            total, exact = count(corrected)
            if total > outcome.total:
                outcome.matched, outcome.total, outcome.exact = corrected, total, exact
                outcome.query = ranked_text = outcome.correction.text
    if outcome.total == 0 and (loose := any_word_query(q)):
        relaxed = match(base, loose)
        total, exact = count(relaxed)
        if total:
            outcome.matched, outcome.total, outcome.exact, outcome.relaxed = relaxed, total, exact, True
            ranked_text = loose
    if sort == "newest":
        outcome.results = outcome.matched.order_by("-published_at", "-id")
    else:
        outcome.results = ranked(base, ranked_text)
    return outcome


def any_word_query(q: str) -> str:
    """`a b c` as `a or b or c`; empty when the reader already used search syntax."""
    if re.search(r'"|(^|\s)-|\bor\b', q, re.IGNORECASE):
        return ""
    words = q.split()
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


def hits(base, texts: list[str]) -> list[int]:
    """How many articles of `base` each text finds (up to COUNT_EXACT_UP_TO), in one query on PostgreSQL."""
    if connection.vendor != "postgresql":
        return [count(match(base, text))[0] for text in texts]
    parts, params = [], []
    for i, text in enumerate(texts):
        sql, text_params = match(base, text).order_by().values("pk")[:COUNT_EXACT_UP_TO].query.sql_with_params()
        parts.append(f"SELECT {i}, (SELECT count(*) FROM ({sql}) found)")  # noqa: S608 (Django's compiled SQL)
        params.extend(text_params)
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        found = dict(cursor.fetchall())
    return [found[i] for i in range(len(texts))]
