"""Listings of public articles, newest first, at any size: no COUNT(*), no deep OFFSET over rows.

A `Listing` is all public articles, a category's or a tag's. Its size comes
from the kept counts (articles/counts.py). A page is fetched by keyset: the
rows with `(published_at, id)` at or below the key of the page's first
article, newest first, `LIMIT` the page size, straight down an index. That key
is found by an index-only scan of the covering indexes of migration 0010,
counted from whichever end of the listing is nearer: page 1 needs no key at
all, the last page reads at most a page of index entries from the oldest end,
and no page reads more than half the listing's index entries (and never its
rows).

`ListingPaginator` puts this under the page numbers readers see (`?page=N`),
with Django's Paginator interface for the templates.
"""

from html import escape  # the standard library's: Django's, for lazy strings, costs 4 calls more each
from urllib.parse import quote

from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.dates import MONTHS_3
from django.utils.functional import cached_property
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

from articles import counts

NEWEST_FIRST = ("-published_at", "-id")
OLDEST_FIRST = ("published_at", "id")


class Listing:
    """The public articles of a category, of a tag, or all of them."""

    def __init__(self, *, category=None, tag=None):
        self.category, self.tag = category, tag

    def articles(self):
        """The listing's public articles, as a queryset (unordered, unsliced)."""
        from articles.models import Article

        articles = Article.objects.published()
        if self.category is not None:
            articles = articles.filter(category=self.category)
        if self.tag is not None:
            articles = articles.filter(tagged_with(self.tag.pk))
        return articles

    def count(self) -> int:
        if self.category is not None:
            return counts.public_count(counts.CATEGORY, self.category.pk)
        if self.tag is not None:
            return counts.public_count(counts.TAG, self.tag.pk)
        return counts.public_total()

    def slice(self, bottom: int, top: int, count: int, rows=None) -> list:
        """Articles `bottom` to `top` (newest first) of a listing of `count`, fetched by keyset.

        `rows` narrows what is fetched for each article (default: what a card shows).
        """
        if top <= bottom:
            return []
        rows = (rows or (lambda qs: qs.for_cards()))(self.articles()).order_by(*NEWEST_FIRST)
        if bottom > 0:
            key = self.key_at(bottom, count)
            if key is None:  # the listing shrank since it was counted
                return []
            at, pk = key
            rows = rows.filter(Q(published_at__lt=at) | Q(published_at=at, id__lte=pk), published_at__lte=at)
        return list(rows[: top - bottom])

    def key_at(self, position: int, count: int):
        """`(published_at, id)` of the article at `position` (0 is the newest), from the nearer end."""
        keys = self.articles().values_list("published_at", "id")
        from_oldest = count - 1 - position
        if position <= from_oldest:
            found = keys.order_by(*NEWEST_FIRST)[position : position + 1]
        else:
            found = keys.order_by(*OLDEST_FIRST)[from_oldest : from_oldest + 1]
        return next(iter(found), None)


def tagged_with(tag_id):
    """A filter for articles carrying the tag, as a semi-join the planner may drive from either side."""
    from taggit.models import TaggedItem

    return Exists(
        TaggedItem.objects.filter(
            content_type_id=counts._article_content_type_id(), object_id=OuterRef("pk"), tag_id=tag_id
        )
    )


class ListingPaginator(Paginator):
    """Django's Paginator over a `Listing`: its count is kept, its pages are keyset reads."""

    def __init__(self, listing: Listing, per_page: int, rows=None):
        super().__init__((), per_page)
        self.listing, self.rows = listing, rows

    @cached_property
    def count(self) -> int:
        return self.listing.count()

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = min(bottom + self.per_page, self.count)
        return self._get_page(self.listing.slice(bottom, top, self.count, self.rows), number, self)


# --- Cards -------------------------------------------------------------------


def url_prefix(name: str) -> str:
    """What `reverse(name, slug=…)` puts before the slug, found with one reverse() per page, not per link."""
    return reverse(name, kwargs={"slug": "-"}).removesuffix("-/")


def prepare_cards(articles) -> list:
    """Give each article its URL and its tags' names and URLs: one query for the page's tags, one reverse() each.

    A card otherwise builds a queryset through the tag manager and reverses a
    URL for every tag, which was most of a listing page's time.
    """
    from taggit.models import TaggedItem

    article_prefix, tag_prefix = url_prefix("articles:article"), url_prefix("articles:tag")
    tags = {}
    taggings = (
        TaggedItem.objects.filter(
            content_type_id=counts._article_content_type_id(), object_id__in=[article.pk for article in articles]
        )
        .order_by("pk")
        .values_list("object_id", "tag__name", "tag__slug")
    )
    for article_id, name, slug in taggings if articles else ():
        tags.setdefault(article_id, []).append((name, f"{tag_prefix}{quote(slug)}/"))
    months = card_months()
    for article in articles:
        article.card_url = f"{article_prefix}{quote(article.slug)}/"
        article.card_tags = tags.get(article.pk, [])
        article.card_datetime, article.card_date = card_dates(article.published_at, months)
    return articles


def card_months() -> list[str]:
    """The month abbreviations of the active language, as the `date` filter's "M" writes them."""
    return ["", *(str(MONTHS_3[month]).title() for month in range(1, 13))]


def card_dates(moment, months=None) -> tuple[str, str]:
    """`moment|date:'Y-m-d\\TH:i:sO'` and `moment|date:"j M Y"` in the current time zone, as plain formatting.

    The `date` filter costs about half of a card's rendering (40 µs each, twice
    a card); these are the same strings (tests/test_listing_scale.py).
    """
    if moment is None:
        return "", ""
    local = timezone.localtime(moment)
    months = months or card_months()
    offset = local.utcoffset()
    seconds = offset.days * 86400 + offset.seconds
    sign, seconds = ("-" if seconds < 0 else "+"), abs(seconds)
    iso = (
        f"{local.year:04d}-{local.month:02d}-{local.day:02d}T{local.hour:02d}:{local.minute:02d}:{local.second:02d}"
        f"{sign}{seconds // 3600:02d}{(seconds // 60) % 60:02d}"
    )
    return iso, f"{local.day} {months[local.month]} {local.year:04d}"


def card_html(article, *, level: int = 2, snippet: str = "") -> SafeString:
    """An article's card in a listing, home, search results: titles, summaries, tags and snippets escaped here.

    Built in Python rather than by a template include: 60 cards through the
    template engine were about two thirds of an uncached listing page's CPU
    (a template variable costs microseconds to resolve, a card has twenty).
    Uses what `prepare_cards()` added to the page's articles (prepared here, one query, if it was not).
    """
    if not hasattr(article, "card_tags"):
        prepare_cards([article])
    parts = [
        f'<article class="card" data-article="{escape(article.slug)}">\n'
        f'  <h{level} class="card-title"><a href="{escape(article.card_url)}">{escape(article.title)}</a></h{level}>\n'
    ]
    if snippet:
        parts.append(f'  <p class="card-snippet">{conditional_escape(snippet)}</p>\n')
    parts.append(f'  <p class="card-summary">{escape(article.summary)}</p>\n  <p class="card-meta">\n    ')
    if article.card_date:
        parts.append(f'<time datetime="{article.card_datetime}">{article.card_date}</time>')
    parts.append(f'\n    <span aria-hidden="true">·</span> <span>{int(article.reading_time)} min read</span>\n  </p>\n')
    if article.card_tags:
        items = "".join(
            f'<li><a class="tag" href="{escape(url)}">{escape(name)}</a></li>' for name, url in article.card_tags
        )
        parts.append(f'  <ul class="tag-list" aria-label="Tags">{items}</ul>\n')
    parts.append("</article>")
    return mark_safe("".join(parts))  # noqa: S308 (every value above is escaped or our own)


def prepare_tags(tags) -> list:
    """Each tag's URL, for tag clouds."""
    tags = list(tags)
    prefix = url_prefix("articles:tag")
    for tag in tags:
        tag.url = f"{prefix}{quote(tag.slug)}/"
    return tags
