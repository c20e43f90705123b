"""The sitemap: exactly the public pages worth indexing, as an index of files.

`/sitemap.xml` is a sitemap index (robots.txt names it) listing one file per
section, `/sitemap-<section>.xml`, and for articles as many pages (`?p=N`) as
it takes to hold every public article at ARTICLES_PER_FILE each, well under
the protocol's 50,000 URLs a file, so that each file is built in well under a
second at 100,000 articles. Article files are keyset pages of the public
listing (articles/listing.py): the count is kept, each file reads one stretch
of an index. Files are cached like reader pages (articles/caching.py).

The home page, every public article (with `lastmod`), and the categories and
tags that have at least one public article. Drafts, scheduled articles and
listings that would be empty never appear.
"""

from urllib.parse import quote

from django.contrib import sitemaps
from django.contrib.sitemaps.views import SitemapIndexItem, x_robots_tag
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.db.models import OuterRef, Subquery
from django.http import Http404, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import escape
from django.utils.http import http_date

from articles.listing import Listing, ListingPaginator, url_prefix
from articles.models import Article, Category
from articles.querysets import public_tags

# The protocol allows 50,000; this keeps each file fast to build and to fetch.
ARTICLES_PER_FILE = 5_000


class Sitemap(sitemaps.Sitemap):
    @property
    def paginator(self):
        # The protocol's schema requires at least one <url> a file: an empty section is a 404, and not in the index.
        return Paginator(self._items(), self.limit, allow_empty_first_page=False)


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
    limit = ARTICLES_PER_FILE

    def items(self):
        return Article.objects.published().only("slug", "updated_at").order_by("-published_at", "-id")

    @property
    def paginator(self):
        paginator = ListingPaginator(Listing(), self.limit, rows=lambda articles: articles.only("slug", "updated_at"))
        paginator.allow_empty_first_page = False
        return paginator

    @cached_property
    def _prefix(self):
        return url_prefix("articles:article")

    def location(self, article):
        return f"{self._prefix}{quote(article.slug)}/"

    def lastmod(self, article):
        return article.updated_at

    def get_latest_lastmod(self):
        # Django would compute it for the index by reading every article; the files carry lastmod.
        return None


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

    def get_latest_lastmod(self):
        return None


class TagSitemap(Sitemap):
    changefreq = "weekly"
    priority = 0.4

    def items(self):
        return public_tags().order_by("name")

    @cached_property
    def _prefix(self):
        return url_prefix("articles:tag")

    def location(self, tag):
        return f"{self._prefix}{quote(tag.slug)}/"


SITEMAPS = {
    "home": HomeSitemap,
    "articles": ArticleSitemap,
    "categories": CategorySitemap,
    "tags": TagSitemap,
}


@x_robots_tag
def index(request, sitemaps=SITEMAPS, sitemap_url_name="articles:sitemap-section"):
    """The sitemap index: every non-empty section's files, `?p=N` for the pages after the first."""
    files = []
    for section, site in sitemaps.items():
        paginator = site().paginator
        pages = paginator.num_pages if paginator.count else 0
        url = request.build_absolute_uri(reverse(sitemap_url_name, kwargs={"section": section}))
        files += [SitemapIndexItem(url if page == 1 else f"{url}?p={page}") for page in range(1, pages + 1)]
    return TemplateResponse(request, "sitemap_index.xml", {"sitemaps": files}, content_type="application/xml")


@x_robots_tag
def section(request, section, sitemaps=SITEMAPS):
    """One sitemap file (`?p=N` for later pages), written directly rather than through a template.

    Django's `sitemap.xml` template and per-item dictionaries took most of a
    second for 10,000 URLs; this writes the same elements in a small fraction of it.
    """
    if section not in sitemaps:
        raise Http404(f"No sitemap section {section!r}")
    site = sitemaps[section]()
    try:
        page = site.paginator.page(request.GET.get("p", 1))
    except (EmptyPage, PageNotAnInteger):
        raise Http404("No such sitemap page") from None
    origin = f"{request.scheme}://{request.get_host()}"
    has_lastmod = hasattr(site, "lastmod")
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n']
    latest = None
    for item in page.object_list:
        lastmod = site.lastmod(item) if has_lastmod else None
        parts.append(f"<url><loc>{escape(origin + site.location(item))}</loc>")
        if lastmod is not None:
            latest = lastmod if latest is None else max(latest, lastmod)
            day = timezone.localtime(lastmod).date() if timezone.is_aware(lastmod) else lastmod.date()
            parts.append(f"<lastmod>{day.isoformat()}</lastmod>")
        parts.append(f"<changefreq>{site.changefreq}</changefreq><priority>{site.priority}</priority></url>\n")
    parts.append("</urlset>\n")
    response = HttpResponse("".join(parts), content_type="application/xml")
    if latest is not None:
        response["Last-Modified"] = http_date(latest.timestamp())
    return response
