from django.urls import path, register_converter

from articles import cards, feedback, feeds, sitemaps, views
from articles.caching import cache_public_page


class PreviewTokenConverter:
    """A preview link's token: URL-safe base64 (articles.previews), nothing else."""

    regex = r"[A-Za-z0-9_\-]{20,100}"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(PreviewTokenConverter, "token")

app_name = "articles"

urlpatterns = [
    # Reader pages: cached for anonymous readers, never stale (articles/caching.py).
    path("", cache_public_page(views.home), name="home"),
    path("categories/<slug:slug>/", cache_public_page(views.CategoryView.as_view()), name="category"),
    path("tags/<slug:slug>/", cache_public_page(views.TagView.as_view()), name="tag"),
    path("articles/<slug:slug>/", cache_public_page(views.ArticleView.as_view()), name="article"),
    # "Was this helpful?" (articles/feedback.py): never cached.
    path("articles/<slug:slug>/feedback/", feedback.feedback_view, name="feedback"),
    # The article's social card (og:image), made on first request and stored (articles/cards.py).
    path("articles/<slug:slug>/card-<slug:key>.png", cards.card_view, name="card"),
    path("preview/<token:token>/", views.preview_view, name="preview"),
    # Feeds, sitemap and robots.txt (articles/feeds.py, articles/sitemaps.py, articles/seo.py).
    path("feed/", feeds.ArticlesFeed(), name="feed"),
    path("feed/atom/", feeds.ArticlesAtomFeed(), name="feed-atom"),
    path("categories/<slug:slug>/feed/", feeds.CategoryFeed(), name="category-feed"),
    path("categories/<slug:slug>/feed/atom/", feeds.CategoryAtomFeed(), name="category-feed-atom"),
    path("tags/<slug:slug>/feed/", feeds.TagFeed(), name="tag-feed"),
    path("tags/<slug:slug>/feed/atom/", feeds.TagAtomFeed(), name="tag-feed-atom"),
    # An index of sitemap files (articles/sitemaps.py), each cached like the reader pages.
    path(
        "sitemap.xml",
        cache_public_page(sitemaps.index),
        name="sitemap",
    ),
    path(
        "sitemap-<slug:section>.xml",
        cache_public_page(sitemaps.section),
        name="sitemap-section",
    ),
    path("robots.txt", views.robots_txt, name="robots"),
]
