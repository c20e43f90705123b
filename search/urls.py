from django.urls import path

from articles.caching import cache_public_page
from search import suggest, views
from search.analytics_views import beacon, pixel

app_name = "search"

urlpatterns = [
    # Cached for anonymous readers like the reader pages (articles/caching.py); a unique query misses.
    path("search/", cache_public_page(views.search_view), name="search"),
    # Suggestions as you type (#13, search/suggest.py): titles as JSON, cached like the pages.
    path("search/suggest/", cache_public_page(suggest.suggest_view), name="suggest"),
    # Search analytics (#13, search/analytics_views.py): the page's beacon and its no-script image; never cached.
    path("search/log/", beacon, name="log"),
    path("search/log.gif", pixel, name="log-pixel"),
]
