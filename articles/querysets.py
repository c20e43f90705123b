from django.db import models
from django.db.models.functions import Coalesce
from django.utils import timezone


class ArticleQuerySet(models.QuerySet):
    def published(self):
        """The one definition of "public": published, and its time has come.

        A future `published_at` is scheduled publishing: the row becomes public
        by itself once the clock passes it, with no background job.
        """
        return self.filter(status=self.model.Status.PUBLISHED, published_at__lte=timezone.now())

    def for_listing(self):
        """What a listing card shows, fetched in a fixed number of queries."""
        return self.select_related("category", "author").prefetch_related("tags")

    def visible_to(self, user):
        """Staff may open drafts and scheduled articles; everyone else sees public ones."""
        if user.is_authenticated and user.is_staff:
            return self
        return self.published()


class CategoryQuerySet(models.QuerySet):
    def with_public_counts(self):
        """Annotate `article_count`: how many public articles each category has."""
        from articles.models import Article

        public = (
            Article.objects.published()
            .filter(category=models.OuterRef("pk"))
            .order_by()
            .values("category")
            .annotate(n=models.Count("pk"))
            .values("n")
        )
        return self.annotate(article_count=Coalesce(models.Subquery(public), 0))


def public_tags():
    """Tags used by at least one public article, with `article_count`, most used first."""
    from django.contrib.contenttypes.models import ContentType
    from taggit.models import Tag

    from articles.models import Article

    items = models.Q(
        taggit_taggeditem_items__content_type=ContentType.objects.get_for_model(Article),
        taggit_taggeditem_items__object_id__in=Article.objects.published().values("pk"),
    )
    return (
        Tag.objects.annotate(article_count=models.Count("taggit_taggeditem_items", filter=items))
        .filter(article_count__gt=0)
        .order_by("-article_count", "name")
    )
