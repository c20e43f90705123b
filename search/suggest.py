"""Suggestions as you type: up to six titles of public articles for the header's search box.

`suggestions(q)` is the whole rule; `suggest_view` answers it as a small JSON
document, `GET /search/suggest/?q=…` (name `search:suggest`), which
static/search/suggest.js reads to fill the combobox under the search box.

Cost is bounded whatever is typed and however many articles there are:

- `SuggestForm` reads `q` (at most MAX_CHARS characters, no NUL: 400 otherwise);
  only its first MAX_WORDS words of 2 or more letters or digits are used.
- PostgreSQL: every word is a prefix (`jwt auth` finds "JWT Authentication…"),
  matched through the GIN index on the title's English `tsvector`
  (article_title_vector_idx on the stored `title_vector`, migration 0016), both stemmed and as typed, so a
  half-typed word whose stem is not a prefix of the full word's ("retryi")
  still matches. Stop words are left out rather than required. At most MATCHES
  matches are read, in no order, and the newest CANDIDATES of them ranked here
  (titles that begin with what was typed first).
- Fuzzy: when no title matches, each word of 4 or more letters
  that the public lexicon does not know is replaced by known words one typo
  away (primary-key lookups of every such spelling, articles/lexicon.py) or,
  for words of 6 or more, two typos away through the lexicon's trigram index;
  one more title query with those alternatives. At most three queries.
- SQLite (`make run`): a case-insensitive LIKE on the start of the title or of
  a word in it; no typo tolerance.

Every query starts from `Article.objects.published()`: drafts, scheduled and
archived articles are never suggested. Answers are cached like the reader
pages (never stale on the server, keyed by URL) and for SUGGEST_MAX_AGE seconds
in browsers, as the API is.
"""

import re
import unicodedata

from django import forms
from django.db import connection
from django.db.models import BooleanField, Q
from django.db.models.expressions import RawSQL
from django.http import JsonResponse
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_safe

from articles.lexicon import neighbours
from articles.models import Article, SearchWord
from articles.search import TITLE_VECTOR

LIMIT = 6
MAX_CHARS = 200  # as the search box's maxlength
MAX_WORDS = 6
MAX_WORD_CHARS = 40
MIN_CHARS = 2
CANDIDATES = 50
MATCHES = 1_000
SUGGEST_MAX_AGE = 60
# Fuzzy matching: only words this long are corrected (shorter ones are too ambiguous).
FUZZY_MIN_CHARS = 4
FUZZY_TWO_TYPOS_CHARS = 6
FUZZY_ALTERNATIVES = 3

_WORD = re.compile(r"[^\W_]+")
# One word as a prefix: stemmed ('retrying' -> 'retri':*) or as typed; a stop word matches anything.
# to_tsquery(regconfig, text) is immutable, so PostgreSQL folds this to a constant when planning
# and estimates the match against the title index as for a literal.
_PREFIX = (
    "CASE WHEN numnode(to_tsquery('english'::regconfig, %s)) = 0 THEN to_tsquery('english'::regconfig, %s) "
    "ELSE to_tsquery('english'::regconfig, %s) || to_tsquery('simple'::regconfig, %s) END"
)


class SuggestForm(forms.Form):
    # CharField rejects NUL bytes itself (ProhibitNullCharactersValidator).
    q = forms.CharField(max_length=MAX_CHARS, required=False, strip=True)


def words_of(q: str) -> list[str]:
    """The words of `q` that take part: letters and digits, lower case, 2 or more, at most MAX_WORDS."""
    text = unicodedata.normalize("NFKC", q).lower()
    words = [w[:MAX_WORD_CHARS] for w in _WORD.findall(text) if len(w) >= MIN_CHARS]
    return list(dict.fromkeys(words))[:MAX_WORDS]


def suggestions(q: str) -> list[dict]:
    """Up to LIMIT public articles whose titles match what was typed: [{"title", "url"}], best first."""
    words = words_of(q)
    if not words:
        return []
    base = Article.objects.published()
    if connection.vendor != "postgresql":
        rows = _candidates(base.filter(_like_all(words)))
        return _present(_ranked(rows, q))

    rows = _candidates(base.filter(_prefix_all([[w] for w in words])))
    if not rows:
        # Only when nothing begins so: a half-typed word is never in the lexicon, and its
        # neighbours ("idem" -> "item") would crowd out the titles the reader is typing.
        alternatives = _corrections(words)
        if alternatives:
            rows = _candidates(base.filter(_prefix_all([[w, *alternatives.get(w, [])] for w in words])))
    return _present(_ranked(rows, q))


def _prefix_all(alternatives_per_word: list[list[str]]) -> RawSQL:
    """Every word (any of its alternatives) begins a word of the title, as a condition the title index answers."""
    parts, params = [], []
    for alternatives in alternatives_per_word:
        options = []
        for word in alternatives:
            options.append(f"({_PREFIX})")
            params.extend([f"{word}:*"] * 4)
        parts.append("(" + " || ".join(options) + ")")
    sql = f"{TITLE_VECTOR} @@ ({' && '.join(parts)})"
    return RawSQL(sql, params, output_field=BooleanField())  # noqa: S611 (constant SQL; every word is a parameter)


def _like_all(words: list[str]) -> Q:
    condition = Q()
    for word in words:
        condition &= Q(title__istartswith=word) | Q(title__icontains=f" {word}") | Q(title__icontains=f"-{word}")
    return condition


def _candidates(queryset) -> list[tuple]:
    """The newest CANDIDATES of at most MATCHES matching articles, in one query.

    Not simply `ORDER BY published_at DESC LIMIT 50`: for a prefix that matches
    nothing (or less than its estimate), PostgreSQL reads the date index
    backwards hoping to meet 50 matches soon and computes the title's vector for
    every one of 100,000 rows (1.6 s measured). Any MATCHES matches, found
    without an order (through the title index, or a scan that stops early when
    matches are dense), then the newest of those: bounded either way.
    """
    matches = queryset.order_by().values_list("id", "title", "slug", "published_at")[:MATCHES]
    if connection.vendor != "postgresql":
        return [row[:3] for row in sorted(matches, key=lambda row: (row[3], row[0]), reverse=True)[:CANDIDATES]]
    sql, params = matches.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT m.id, m.title, m.slug FROM ({sql}) AS m(id, title, slug, published_at) "  # noqa: S608 (Django's SQL)
            "ORDER BY m.published_at DESC, m.id DESC LIMIT %s",
            [*params, CANDIDATES],
        )
        return cursor.fetchall()


def _ranked(rows: list[tuple], q: str) -> list[tuple]:
    typed = " ".join(unicodedata.normalize("NFKC", q).lower().split())

    def key(item):
        position, (_id, title, _slug) = item
        title = title.lower()
        # What was typed begins the title, then appears in it at a word's start, then the rest; newest first within.
        return (not title.startswith(typed), f" {typed}" not in f" {title}", position)

    return [row for _, row in sorted(enumerate(rows), key=key)][:LIMIT]


def _present(rows: list[tuple]) -> list[dict]:
    return [{"title": title, "url": reverse("articles:article", kwargs={"slug": slug})} for _id, title, slug in rows]


def _corrections(words: list[str]) -> dict[str, list[str]]:
    """Known words near each unknown word of FUZZY_MIN_CHARS or more, from the public lexicon, in one query."""
    terms = [w for w in words if len(w) >= FUZZY_MIN_CHARS and w.isascii() and w.isalnum()]
    if not terms:
        return {}
    pairs = [(term, spelling) for term in terms for spelling in sorted(neighbours(term))]
    long_terms = [t for t in terms if len(t) >= FUZZY_TWO_TYPOS_CHARS]
    sql = f"""
        SELECT n.term, v.word, v.ndoc, 1 AS distance
        FROM unnest(%s::text[], %s::text[]) AS n(term, word)
        JOIN {SearchWord._meta.db_table} v ON v.word = n.word
        UNION ALL
        SELECT t.term, v.word, v.ndoc, levenshtein_less_equal(v.word, t.term, 2)
        FROM unnest(%s::text[]) AS t(term)
        JOIN {SearchWord._meta.db_table} v ON v.word %% t.term AND levenshtein_less_equal(v.word, t.term, 2) <= 2
    """  # noqa: S608 (constant SQL; every value is a parameter)
    with connection.cursor() as cursor:
        cursor.execute(sql, [[t for t, _ in pairs], [s for _, s in pairs], long_terms])
        rows = cursor.fetchall()
    known = {term for term, word, _, _ in rows if term == word}
    options: dict[str, list[tuple]] = {}
    for term, word, ndoc, distance in rows:
        if term in known or word == term:
            continue
        options.setdefault(term, []).append((distance, -ndoc, word))
    return {term: [word for *_, word in sorted(set(found))[:FUZZY_ALTERNATIVES]] for term, found in options.items()}


def _answer(body: dict, status: int) -> JsonResponse:
    response = JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})
    if status == 200:
        # Titles of public articles: browsers may keep an answer briefly, as they keep the API's.
        patch_cache_control(response, public=True, max_age=SUGGEST_MAX_AGE)
    else:
        patch_cache_control(response, no_cache=True)
    return response


@require_safe
def suggest_view(request):
    form = SuggestForm(request.GET)
    if not form.is_valid():
        errors = {field: [e["message"] for e in messages] for field, messages in form.errors.get_json_data().items()}
        return _answer({"errors": errors}, 400)
    q = form.cleaned_data["q"]
    return _answer({"query": q, "suggestions": suggestions(q)}, 200)
