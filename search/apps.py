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
        from search import engine

        # The JSON API (articles/api.py) searches through this door (articles never imports search).
        search_hook.register(engine.run)
