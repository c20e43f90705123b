from django.urls import path

from articles.caching import cache_public_page
from search import views

app_name = "search"

urlpatterns = [
    # Cached for anonymous readers like the reader pages (articles/caching.py); a unique query misses.
    path("search/", cache_public_page(views.search_view), name="search"),
]
