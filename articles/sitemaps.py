"""The sitemap: exactly the public pages worth indexing.

The home page, every public article (with `lastmod`), and the categories and
tags that have at least one public article. Drafts, scheduled articles and
listings that would be empty never appear.
"""

from django.contrib.sitemaps import Sitemap
from django.db.models import OuterRef, Subquery
from django.urls import reverse

from articles.models import Article, Category
from articles.querysets import public_tags


class HomeSitemap(Sitemap):
    changefreq = "daily"
    priority = 1.0

    def items(self):
        return ["articles:home"]

    def location(self, item):
        return reverse(item)


class ArticleSitemap(Sitemap):
    changefreq = "weekly"
    priority = 0.8

    def items(self):
        return Article.objects.published().only("slug", "updated_at").order_by("-published_at", "-id")

    def lastmod(self, article):
        return article.updated_at


class CategorySitemap(Sitemap):
    changefreq = "daily"
    priority = 0.6

    def items(self):
        latest_change = (
            Article.objects.published().filter(category=OuterRef("pk")).order_by("-updated_at").values("updated_at")
        )
        return (
            Category.objects.with_public_counts()
            .filter(article_count__gt=0)
            .annotate(last_changed=Subquery(latest_change[:1]))
            .order_by("position", "name")
        )

    def lastmod(self, category):
        return category.last_changed


class TagSitemap(Sitemap):
    changefreq = "weekly"
    priority = 0.4

    def items(self):
        return public_tags().order_by("name")

    def location(self, tag):
        return reverse("articles:tag", kwargs={"slug": tag.slug})


SITEMAPS = {
    "home": HomeSitemap,
    "articles": ArticleSitemap,
    "categories": CategorySitemap,
    "tags": TagSitemap,
}
