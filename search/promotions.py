"""Promoted results (#13): editors pin articles to a query, as Wagtail's search promotions do.

A reader's query is matched on its normalised form (`normalise_query`, which
the query log uses too, so the report's queries are the ones editors pin to).
Pinned articles come first on the search's first page, marked "Editor's pick",
and are left out of the results below them so nothing shows twice.

Cost: the pins live in one cache entry (query -> article ids and descriptions),
rebuilt from the table in one query when missing and dropped whenever a
promotion changes. A search whose query has no pin costs a dictionary lookup;
one with pins, one query for the pinned articles, through
`Article.objects.published()`, so an unpublished or scheduled article is never
shown however long its pin lives.
"""

import re
import unicodedata
from dataclasses import dataclass

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from redis.exceptions import RedisError

CACHE_KEY = "search:promotions"
CACHE_SECONDS = 24 * 3600
# As long as the search box accepts (articles/forms.py MAX_QUERY_CHARS).
MAX_QUERY_CHARS = 200
# Pins shown for one query, however many an editor makes.
MAX_PINS = 5

_CACHE_ERRORS = (RedisError, OSError)
# Letters, digits and the marks that make engineering words ("c++", "c#", ".net", "k8s").
_NOT_WORD = re.compile(r"[^\w+#.]+")


def normalise_query(q: str) -> str:
    """The query as pins and the query log know it: "  How do I use a VPN?" -> "how do i use a vpn".

    Case-folded, compatibility-normalised (full-width letters, ligatures),
    punctuation and search syntax (quotes, a leading "-") as spaces, dots
    kept only inside a word, one space between words, at most MAX_QUERY_CHARS.
    """
    text = unicodedata.normalize("NFKC", q or "").casefold()
    words = (word.strip(".") for word in _NOT_WORD.sub(" ", text).split())
    return " ".join(word for word in words if word)[:MAX_QUERY_CHARS].strip()


@dataclass(frozen=True)
class Pick:
    article: object  # a public Article, ready for a card
    description: str


def _load() -> dict[str, tuple[tuple[int, str], ...]]:
    from search.models import Promotion

    pins: dict[str, list[tuple[int, str]]] = {}
    for query, article_id, description in Promotion.objects.order_by("query", "sort_order", "id").values_list(
        "query", "article_id", "description"
    ):
        pins.setdefault(query, []).append((article_id, description))
    return {query: tuple(items) for query, items in pins.items()}


def pins() -> dict[str, tuple[tuple[int, str], ...]]:
    """Every promotion: normalised query -> ((article id, description), ...) in the editors' order."""
    try:
        found = cache.get(CACHE_KEY)
    except _CACHE_ERRORS:
        return _load()
    if found is None:
        found = _load()
        try:
            cache.set(CACHE_KEY, found, CACHE_SECONDS)
        except _CACHE_ERRORS:
            pass
    return found


def picks(q: str, base) -> list[Pick]:
    """The public articles of `base` pinned to `q`, in the editors' order (at most MAX_PINS).

    `base` is the search's own starting point (public articles, narrowed by
    the reader's category and tags), so a pin never escapes a filter.
    """
    pinned = pins().get(normalise_query(q), ())[:MAX_PINS]
    if not pinned:
        return []
    articles = {article.pk: article for article in base.filter(pk__in=[pk for pk, _ in pinned]).for_cards()}
    return [Pick(articles[pk], description) for pk, description in pinned if pk in articles]


@dataclass(frozen=True)
class Promoted:
    picks: list  # [Pick], shown above the results on the first page
    results: object  # the search's ordered results without the pinned articles, on every page
    hidden: int  # how many of the search's matches are pinned (the pages' count drops by this)


def promote(q: str, base, results, matched, *, first_page: bool) -> Promoted:
    """The editor's picks for `q` and the results left below them: each pinned article shown once.

    Costs nothing for a query without pins; with pins, a query for the picks
    (first page) and one counting how many of them the words matched.
    """
    pinned = [pk for pk, _ in pins().get(normalise_query(q), ())[:MAX_PINS]] if q else []
    if not pinned:
        return Promoted(picks=[], results=results, hidden=0)
    return Promoted(
        picks=picks(q, base) if first_page else [],
        results=results.exclude(pk__in=pinned),
        hidden=matched.filter(pk__in=pinned).count(),
    )


def promote_for_api(q: str, base, results, matched, *, first_page: bool):
    """What articles/search_hook.py asks for the JSON API: ([(article id, description)], results without them)."""
    promoted = promote(q, base, results, matched, first_page=first_page)
    return [(pick.article.pk, pick.description) for pick in promoted.picks], promoted.results


def invalidate() -> None:
    """Forget the cached pins and the cached pages that show them, now and when the transaction commits."""
    from articles import caching

    def forget():
        try:
            cache.delete(CACHE_KEY)
        except _CACHE_ERRORS:
            pass  # the entry's timeout bounds how long an old pin can last

    forget()
    transaction.on_commit(forget)
    caching.content_changed()


@receiver(post_save, sender="search.Promotion", dispatch_uid="search-promotion-saved")
@receiver(post_delete, sender="search.Promotion", dispatch_uid="search-promotion-deleted")
def _promotion_changed(sender, **kwargs):
    invalidate()
