"""The search page: the reader's query through search.engine, one page of results, facets and snippets."""

import time

from django.core.paginator import Paginator
from django.shortcuts import render
from django.urls import reverse

from articles.forms import MAX_QUERY_CHARS, SearchForm
from articles.listing import prepare_cards
from articles.models import Article, Category
from articles.querysets import public_tags
from articles.views import NotFound
from kb import metrics
from search import analytics, promotions
from search import engine as search

SEARCH_PAGE_SIZE = 20


def search_view(request):
    started = time.perf_counter()
    form = SearchForm(request.GET)
    context = {"form": form, "search_query": request.GET.get("q", "")[:MAX_QUERY_CHARS]}
    if not form.is_valid():
        return render(request, "search/search.html", context, status=400)

    params = form.cleaned_data
    q, category_slug, tag_slugs = params["q"], params["category"], params["tag"]
    context.update(search_query=q, query=q, truncated=form.truncated)
    if not (q or category_slug or tag_slugs):
        return render(request, "search/search.html", {**context, "popular_tags": public_tags()[:24]})

    base, notices = Article.objects.published(), []
    if category_slug:
        category_id = Category.objects.filter(slug=category_slug).values_list("pk", flat=True).first()
        # By id, not through a join on the slug: the planner then knows how big the category is.
        base = base.filter(category_id=category_id) if category_id else base.none()
        if category_id is None:
            notices.append(f"There is no category “{category_slug}”.")
    if tag_slugs:
        base = base.with_every_tag(tag_slugs)
    outcome = search.run(base, q, sort=params["sort"], correct=not params["verbatim"])
    # What every link that refines these results carries along.
    keep = {"sort": params["sort"], "verbatim": 1 if params["verbatim"] else None}

    number = params["page"] or 1
    # Editors' picks (#13, search/promotions.py) first on the first page, and never again below.
    promoted = promotions.promote(q, base, outcome.results, outcome.matched, first_page=number == 1)
    # Cards need neither bodies nor search documents; prepare_cards() adds the page's tags in one query.
    paginator = Paginator(promoted.results.for_cards(), SEARCH_PAGE_SIZE)
    # Pages reach the first search.MAX_RESULTS results: no deeper page is computed.
    paginator.count = max(0, outcome.reachable - promoted.hidden)
    if number > paginator.num_pages:
        if outcome.total > outcome.reachable:
            raise NotFound(
                f"Search results go {paginator.num_pages} pages deep (the first {outcome.reachable:,} results), "
                f"so there is no page {number}. Add words, or choose a category or a tag, to narrow the search."
            )
        raise NotFound(f"There is no page {number} of these results; the last page is {paginator.num_pages}.")
    page = paginator.page(number)
    articles = prepare_cards(list(page.object_list))
    snippets = search.snippets([a.pk for a in articles], *outcome.snippet_query()) if q else {}
    correction = outcome.correction
    context.update(
        total=outcome.estimated_total(),
        total_exact=outcome.exact,
        # Past the exact count, when the planner guesses fewer than were counted, all that is known.
        counted_up_to=search.COUNT_EXACT_UP_TO,
        shown_query=outcome.query,
        correction=correction,
        showing_corrected=outcome.corrected,
        relaxed=outcome.relaxed,
        also_searched=outcome.also,
        notices=notices,
        page_obj=page,
        paginator=paginator,
        is_paginated=page.has_other_pages(),
        results=[(article, snippets.get(article.pk)) for article in articles],
        facets=_facet_links(search.facets(outcome) if outcome.total else None, q, category_slug, tag_slugs, keep),
        filters={"category": category_slug, "tags": tag_slugs, "sort": params["sort"] or "relevance"},
        original_total=outcome.original_total,
        query_string=_query_string(q=outcome.query, category=category_slug, tag=tag_slugs, **keep),
        query_string_corrected=_query_string(
            q=correction.text if correction else "", category=category_slug, tag=tag_slugs, sort=params["sort"]
        ),
        query_string_verbatim=_query_string(
            q=q, category=category_slug, tag=tag_slugs, sort=params["sort"], verbatim=1
        ),
        categories=Category.objects.all(),
        picks=promoted.picks,
        picks_hidden=promoted.hidden,
        # Search analytics (#13, search/analytics.py): what the page's beacon records; the page writes nothing.
        search_log=analytics.page_token(
            q=q,
            results=outcome.estimated_total(),
            corrected=outcome.corrected,
            relaxed=outcome.relaxed,
            duration_ms=(time.perf_counter() - started) * 1000,
            page=number,
            offset=(number - 1) * SEARCH_PAGE_SIZE,
            shown=[pick.article.pk for pick in promoted.picks] + [article.pk for article in articles],
            picks=len(promoted.picks),
        ),
    )
    # Search latency and searches that found nothing, for /metrics (kb/metrics.py).
    metrics.observe_search(time.perf_counter() - started, outcome.estimated_total())
    return render(request, "search/search.html", context)


def _facet_links(facets, q, category, tags, keep):
    """Each facet with the URL that narrows the search to it (or widens it again)."""
    url = reverse("search:search")
    categories, tag_facets = (facets["categories"], facets["tags"]) if facets else ([], [])
    for item in categories:
        active = item["slug"] == category
        item.update(
            active=active,
            url=f"{url}?{_query_string(q=q, category=None if active else item['slug'], tag=tags, **keep)}",
        )
    for item in tag_facets:
        active = item["slug"] in tags
        narrowed = [t for t in tags if t != item["slug"]] if active else [*tags, item["slug"]]
        item.update(active=active, url=f"{url}?{_query_string(q=q, category=category, tag=narrowed, **keep)}")
    return {"categories": categories, "tags": tag_facets, "estimated": bool(facets and facets["estimated"])}


def _query_string(**params):
    from django.utils.http import urlencode

    return urlencode({key: value for key, value in params.items() if value}, doseq=True)
