"""The article list in the admin, bounded at any number of articles (#14).

- **Search** goes through the stored `search_vector` and its GIN index on
  PostgreSQL, the last word as a prefix ("circuit brea" finds "circuit
  breakers"); a slug (or its beginning, or a pasted address) or an id finds
  that article. SQLite, for `make run`, keeps Django's plain search over the
  admin's `search_fields`.
- **Counts** are exact up to `EXACT_COUNT_LIMIT` and estimated by the
  planner beyond, shown as "about N": counting 100,000 rows, or every
  match of a common word, would cost more than the page.
- **Tags** are filtered by name or slug typed in a small form, with the most
  used few as links, never a list of every tag.
"""

import json
import re

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.contrib.contenttypes.models import ContentType
from django.contrib.postgres.search import SearchQuery
from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.db import connections
from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils.functional import cached_property
from taggit.models import Tag, TaggedItem

from articles.models import Article
from kb.planner import planned_for_memory

# Counted exactly up to here; above, the planner's estimate is shown as "about N".
EXACT_COUNT_LIMIT = 5000
# Words of an editor's search that are used; the rest are ignored.
SEARCH_WORDS = 8
# Articles whose slug begins with the term, found beside the words' matches.
SLUG_MATCHES = 100
# The tags offered as links beside the tag box, and how long that list is kept.
TOP_TAGS = 10
TOP_TAGS_SECONDS = 600


# ---------------------------------------------------------------- counts


class ApproximateCount(int):
    """A count from the planner's estimate: compares as a number, prints as "about 98,000"."""

    def __str__(self) -> str:
        return f"about {int(self):,}"


class EstimatedCountPaginator(Paginator):
    """Counts at most EXACT_COUNT_LIMIT rows; beyond that, asks PostgreSQL's planner for an estimate.

    A page past the end of an overestimated count is an empty page, not an error.
    """

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if connections[queryset.db].vendor != "postgresql":
            return queryset.count()
        # The planner's estimate first (a millisecond): a list it expects to be
        # much larger than the limit is not counted at all.
        estimate = _planner_rows(queryset)
        if estimate > 2 * EXACT_COUNT_LIMIT:
            return ApproximateCount(estimate)
        # Planned for memory: with the default costs, the 5,001 of 8,400 articles matching "circuit:*" were
        # counted by a table scan testing 60,000 search documents (447 ms; 30 through the index).
        with planned_for_memory(queryset.db):
            capped = queryset.order_by()[: EXACT_COUNT_LIMIT + 1].count()
        if capped <= EXACT_COUNT_LIMIT:
            return capped
        return ApproximateCount(max(estimate, EXACT_COUNT_LIMIT + 1))

    def validate_number(self, number):
        if not isinstance(self.count, ApproximateCount):
            return super().validate_number(number)
        try:
            number = int(number)
        except (TypeError, ValueError):
            raise PageNotAnInteger("That page number is not an integer.") from None
        if number < 1:
            raise EmptyPage("That page number is less than 1.")
        return number

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        if bottom >= self.count:  # only reachable through an estimate
            return self._get_page(self.object_list.none(), number, self)
        return super().page(number)


def _planner_rows(queryset) -> int:
    try:
        sql, params = queryset.order_by().values("pk").query.sql_with_params()
    except EmptyResultSet:  # a filter that can match nothing (e.g. a tag no article has) compiles to no SQL
        return 0
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):  # psycopg returns the JSON parsed, other drivers may not
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


# ---------------------------------------------------------------- the list's rows

# Large columns no list shows: loading them for 100 rows means 400 TOAST lookups.
LIST_DEFERRED = ("body", "body_html", "toc_html", "body_text", "search_vector")


class ArticleChangeList(ChangeList):
    """The article list without the columns it never shows, nor the tags it doesn't list."""

    def get_queryset(self, request, exclude_parameters=None):
        queryset = super().get_queryset(request, exclude_parameters)
        return queryset.defer(*LIST_DEFERRED).prefetch_related(None)


# ---------------------------------------------------------------- search


def prefix_query(term: str) -> str | None:
    """`to_tsquery` text for an editor's term: every word, the last one (still being typed) as a prefix.

    "circuit break" -> "circuit & break:*". A last word under 3 characters is
    taken whole: as a prefix it would match most of the vocabulary.
    """
    words = [word.strip("_") for word in re.findall(r"\w+", term.lower())]
    words = [word for word in words if word][:SEARCH_WORDS]
    if not words:
        return None
    if len(words[-1]) >= 3:
        words[-1] += ":*"
    return " & ".join(words)


# A slug as typed, or an article's address pasted from the site.
_SLUG_OR_URL = re.compile(r"(?:.*/articles/)?([a-z0-9]+(?:-[a-z0-9]+)+)/?", re.IGNORECASE)


def search_articles(queryset, term: str):
    """`queryset` narrowed to articles an editor's search term finds (PostgreSQL), through indexes only.

    An article's id, its slug (or a slug's beginning, or its address pasted
    from the site) finds that article; anything else is words, matched in
    the full-text index (title, tags, summary and body), the last word as a
    prefix. Never both in one condition: an OR would make PostgreSQL check
    every match against its (TOASTed) search vector.
    """
    term = term.strip()
    if not term:
        return queryset
    if term.isdigit() and len(term) < 18:
        return queryset.filter(pk=int(term))
    slug = _SLUG_OR_URL.fullmatch(term)
    if slug:
        found = list(
            Article.objects.filter(slug__startswith=slug[1].lower())
            .order_by()
            .values_list("pk", flat=True)[:SLUG_MATCHES]
        )
        if found:
            return queryset.filter(pk__in=found)
    tsquery = prefix_query(term)
    if tsquery is None:
        return queryset.none()
    return queryset.filter(search_vector=SearchQuery(tsquery, search_type="raw", config="english"))


# ---------------------------------------------------------------- the tag filter


def article_tag_ids(tag_pks):
    content_type = ContentType.objects.get_for_model(Article)
    return TaggedItem.objects.filter(content_type=content_type, tag__in=tag_pks).values("object_id")


def most_used_tags() -> list[tuple[str, str]]:
    """(slug, name) of the TOP_TAGS most used tags, counted at most every TOP_TAGS_SECONDS."""

    def count():
        content_type = ContentType.objects.get_for_model(Article)
        top = (
            TaggedItem.objects.filter(content_type=content_type)
            .values("tag")
            .annotate(n=Count("pk"))
            .order_by("-n")
            .values_list("tag", flat=True)[:TOP_TAGS]
        )
        tags = {tag.pk: (tag.slug, tag.name) for tag in Tag.objects.filter(pk__in=list(top))}
        return sorted(tags.values(), key=lambda pair: pair[1].lower())

    return cache.get_or_set("admin:most-used-tags", count, TOP_TAGS_SECONDS)


class TagFilter(admin.SimpleListFilter):
    """Filter by one tag, typed (name or slug), or chosen from the most used few: never a list of every tag."""

    title = "tag"
    parameter_name = "tag"
    template = "admin/articles/article/tag_filter.html"

    def lookups(self, request, model_admin):
        choices = most_used_tags()
        value = self.value()
        if value and value not in {slug for slug, _ in choices}:
            tag = self._tag(value)
            choices = [*choices, (value, tag.name if tag else value)]
        return choices

    def _tag(self, value):
        return Tag.objects.filter(Q(slug=value) | Q(name__iexact=value)).order_by("pk").first()

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        # The tag's id first, as a value: with it PostgreSQL knows from its statistics how common the tag is
        # (a subquery left it guessing ~900 articles, and for a tag on 40,000 it chose a 2-second plan).
        tags = list(Tag.objects.filter(Q(slug=value) | Q(name__iexact=value)).values_list("pk", flat=True)[:10])
        return queryset.filter(pk__in=article_tag_ids(tags)) if tags else queryset.none()

    def choices(self, changelist):
        # The box keeps every other filter and the search; a new tag starts again from page 1.
        self.kept_params = [
            (name, value)
            for name, values in changelist.params.items()
            if name not in {self.parameter_name, "p", "e"}
            for value in (values if isinstance(values, list) else [values])
        ]
        yield from super().choices(changelist)


# ---------------------------------------------------------------- categories


def with_article_counts(queryset):
    """Annotate `article_count` (public articles) and `total`, each counted per category from an index alone.

    COUNT(*), not COUNT(id): the category indexes hold no id, and counting
    one would read every article's row instead of the index.
    """
    public = (
        Article.objects.published()
        .filter(category=OuterRef("pk"))
        .order_by()
        .values("category")
        .annotate(n=Count("*"))
        .values("n")
    )
    every = Article.objects.filter(category=OuterRef("pk")).order_by().values("category").annotate(n=Count("*"))
    return queryset.annotate(
        article_count=Coalesce(Subquery(public), 0),
        total=Coalesce(Subquery(every.values("n")), 0),
    )
