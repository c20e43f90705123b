"""Synonyms editors manage (#13): "otel = opentelemetry", "hpa = horizontal pod autoscaler".

A reader's plain query (no quotes, `-word` or `or`) is searched as typed and,
for every term of the list it contains, also with the term replaced by what it
means ("hpa scaling" also as "horizontal pod autoscaler scaling"); a two-way
entry works backwards too. The search page shows the alternatives under
"Also searched for …". The same alternatives go to PostgreSQL and to SQLite
(search/engine.py's `match()`), so both find the same articles.

The list is read once and kept in the cache, keyed by a version that any
change to a synonym bumps (the receivers below), so a process never serves
a stale list after an editor's change.
"""

import re
import time

from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from articles import caching
from search.models import Synonym

# At most this many alternatives are searched besides the reader's own words.
MAX_ALTERNATIVES = 3
# Longest term, in words, looked for in a query.
MAX_TERM_WORDS = 4

VERSION_KEY = "search:synonyms:version"
TABLE_KEY = "search:synonyms:{version}"
_WORD = re.compile(r"[a-z0-9]+(?:[+#]+)?")
_SYNTAX = re.compile(r'"|(^|\s)-|\bor\b', re.IGNORECASE)


def words(text: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(text.lower()))


def table() -> dict[tuple[str, ...], list[str]]:
    """{term as words: [what it may be replaced by]}, from the cache or the database."""
    version = cache.get(VERSION_KEY)
    if version is None:
        cache.add(VERSION_KEY, time.time_ns(), None)
        version = cache.get(VERSION_KEY)
    key = TABLE_KEY.format(version=version)
    mapping = cache.get(key)
    if mapping is None:
        mapping = build(Synonym.objects.order_by("term").values_list("term", "means", "two_way"))
        cache.set(key, mapping, None)
    return mapping


def build(rows) -> dict[tuple[str, ...], list[str]]:
    mapping: dict[tuple[str, ...], list[str]] = {}

    def add(source: tuple[str, ...], target: str):
        if source and target and words(target) != source:
            targets = mapping.setdefault(source, [])
            if target not in targets:
                targets.append(target)

    for term, means, two_way in rows:
        meanings = [" ".join(words(m)) for m in means.split(",") if words(m)]
        term_words = words(term)
        for meaning in meanings:
            add(term_words, meaning)
            if two_way:
                add(words(meaning), " ".join(term_words))
                for other in meanings:
                    add(words(meaning), other)
    return {source: targets for source, targets in mapping.items() if len(source) <= MAX_TERM_WORDS}


def expand(q: str) -> list[str]:
    """The alternatives to search besides `q`: each with the query's terms replaced by their meanings."""
    if not q or _SYNTAX.search(q):
        return []
    mapping = table()
    if not mapping:
        return []
    tokens = list(words(q))
    # Terms found in the query, longest first, not overlapping: (start, end, replacements).
    found, i = [], 0
    while i < len(tokens):
        for size in range(min(MAX_TERM_WORDS, len(tokens) - i), 0, -1):
            replacements = mapping.get(tuple(tokens[i : i + size]))
            if replacements:
                found.append((i, i + size, replacements))
                i += size
                break
        else:
            i += 1
    alternatives = []
    for choice in range(MAX_ALTERNATIVES):
        if all(choice >= len(replacements) for _, _, replacements in found):
            break
        out, last = [], 0
        for start, end, replacements in found:
            out += tokens[last:start] + [replacements[min(choice, len(replacements) - 1)]]
            last = end
        text = " ".join(out + tokens[last:])
        if text not in alternatives:
            alternatives.append(text)
    return alternatives[:MAX_ALTERNATIVES]


@receiver([post_save, post_delete], sender=Synonym, dispatch_uid="search-synonyms-changed")
def synonyms_changed(**kwargs):
    # A new version, never an old one again (a counter could restart after an eviction and meet a stale table).
    cache.set(VERSION_KEY, time.time_ns(), None)
    # Cached search pages were made with the old list.
    caching.content_changed()
