from django.apps import AppConfig


class SearchConfig(AppConfig):
    """The search engine: its own data (synonyms, promotions, the query log) and pages.

    Dependencies point one way: search reads articles (Article.objects.published()
    stays the only definition of public); articles never imports search.
    """

    default_auto_field = "django.db.models.BigAutoField"
    name = "search"
