from django.db import models
from django.utils import timezone


class ArticleQuerySet(models.QuerySet):
    def published(self):
        """The one definition of "public": published, and its time has come.

        A future `published_at` is scheduled publishing: the row becomes public
        by itself once the clock passes it, with no background job.
        """
        return self.filter(status=self.model.Status.PUBLISHED, published_at__lte=timezone.now())

    def scheduled(self):
        """Published articles whose time has not come yet: the complement of `published()` among them.

        Counts per category and tag (articles/counts.py) include these and subtract
        them live, so they are right the moment the clock passes a date.
        """
        return self.filter(status=self.model.Status.PUBLISHED, published_at__gt=timezone.now())

    def for_listing(self):
        """What a listing card shows, fetched in a fixed number of queries."""
        return self.select_related("category", "author").prefetch_related("tags")

    def for_page(self):
        """An article's own page: what it shows, without the Markdown source, the plain text and the search
        document (a few KB each, decompressed on every read for nothing)."""
        return self.for_listing().defer("body", "body_text", "search_vector")

    def for_cards(self):
        """Only what a listing card shows; `articles.listing.prepare_cards()` adds the tags in one query.

        No bodies (most of a row's size), and no `prefetch_related("tags")`, which
        builds a queryset through the tag manager for every article.
        """
        # updated_at: cached pages' Last-Modified is the newest of what they list (articles/caching.py).
        return self.only("id", "title", "slug", "summary", "status", "published_at", "updated_at", "reading_time")

    def with_every_tag(self, tag_slugs):
        """Narrowed to articles with every one of the tags, each a semi-join on the tag's id (none if one is unknown).

        Joined through the tag's slug (`tags__slug=`), the planner guesses a
        tag's size from the average (777 articles) even for the most used
        (39,000 at 100,000 articles), and a search walked every tagged article
        checking its match on each (2 s); by id it knows, and picks the cheap end.
        """
        from taggit.models import Tag, TaggedItem

        from articles.counts import _article_content_type_id

        ids = dict(Tag.objects.filter(slug__in=tag_slugs).values_list("slug", "pk"))
        narrowed = self
        for slug in tag_slugs:
            if slug not in ids:
                return self.none()
            taggings = TaggedItem.objects.filter(tag_id=ids[slug], content_type_id=_article_content_type_id())
            narrowed = narrowed.filter(pk__in=taggings.values("object_id"))
        # What a walk of the date index passes through: the tags are tested on each article it reaches
        # (search/engine.py newest_first()).
        narrowed._kb_before_tags = self
        return narrowed

    def visible_to(self, user):
        """Staff may open drafts and scheduled articles; everyone else sees public ones."""
        if user.is_authenticated and user.is_staff:
            return self
        return self.published()


class CategoryQuerySet(models.QuerySet):
    def with_public_counts(self):
        """Annotate `article_count`: how many public articles each category has (kept, see articles/counts.py)."""
        from articles import counts

        return self.annotate(article_count=counts.public_count_expression(counts.CATEGORY))


def public_tags():
    """Tags used by at least one public article, with `article_count`, most used first.

    The counts are kept (articles/counts.py): no tagging is counted per request.
    """
    from taggit.models import Tag

    from articles import counts

    return (
        Tag.objects.annotate(article_count=counts.public_count_expression(counts.TAG))
        .filter(article_count__gt=0)
        .order_by("-article_count", "name")
    )
