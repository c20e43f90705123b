from django.apps import AppConfig


class SearchConfig(AppConfig):
    """The search engine: its own data (synonyms, promotions, the query log) and pages.

    Dependencies point one way: search reads articles (Article.objects.published()
    stays the only definition of public); articles never imports search.
    """

    default_auto_field = "django.db.models.BigAutoField"
    name = "search"

    def ready(self):
        from articles import search_hook
        from search import admin_synonyms, engine, synonyms  # noqa: F401 (synonyms' admin and cache receivers)

        # The JSON API (articles/api.py) searches through this door (articles never imports search).
        search_hook.register(engine.run)

        # Promoted results and search analytics (#13): the pins' cache receivers, and the editors'
        # dashboard's "Searches with no results" (articles/freshness.py asks; search answers).
        from articles import freshness
        from search import analytics, promotions  # noqa: F401 (connects the receivers)

        freshness.provide_zero_result_searches(analytics.zero_result_searches)
        # The JSON API's editors' picks, through the same door as its searches.
        search_hook.register_promotions(promotions.promote_for_api)
