"""The content app's one door to the search engine, which registers itself here.

The JSON API (articles/api.py) searches like the search page, but articles
never imports the search app (dependencies point one way: search reads
articles). The search app plugs its engine in at start-up (search/apps.py
`ready()`); without it, searching is a configuration error, not a silent
empty answer.
"""

from django.core.exceptions import ImproperlyConfigured

_engine = None
_promoter = None


def register(engine) -> None:
    """`engine(base, q, *, sort, correct)` returns an outcome like search.engine.run's."""
    global _engine  # noqa: PLW0603 (one registration at start-up)
    _engine = engine


def run(base, q: str, **options):
    if _engine is None:
        raise ImproperlyConfigured("No search engine registered: is 'search' in INSTALLED_APPS?")
    return _engine(base, q, **options)


def register_promotions(promoter) -> None:
    """`promoter(q, base, results, matched, *, first_page)` returns ([(article id, description)], results).

    The editors' picks for `q` (search/promotions.py, #13), and the results without them.
    """
    global _promoter  # noqa: PLW0603 (one registration at start-up)
    _promoter = promoter


def promote(q: str, base, results, matched, *, first_page: bool):
    """([(article id, description)] pinned to `q`, `results` without them); nothing pinned without a promoter."""
    if _promoter is None or not q:
        return [], results
    return _promoter(q, base, results, matched, first_page=first_page)
