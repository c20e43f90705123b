"""The read-only JSON API, version 1, mounted at /api/v1/ (django-ninja).

Public articles only: every query starts from `Article.objects.published()`.
The OpenAPI document (/api/v1/openapi.json) is generated from this module,
and the reference page (/api/v1/docs) from that document: server-rendered, no
script (articles/api_reference.py replaces django-ninja's Swagger UI).

- Errors are RFC 9457 problem details (`application/problem+json`), 400 for
  unknown query parameters and bad values (django-ninja's 422 is replaced),
  naming each offending parameter.
- Lists of articles use cursor pagination over a total order (rank, then
  publication time, then id), so pages neither skip nor repeat articles.
- Every successful GET has an ETag (If-None-Match gives 304) and Cache-Control.
"""

import base64
import binascii
import functools
import hashlib
import json
import logging
import math
from datetime import datetime
from http import HTTPStatus
from typing import Annotated, Literal

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.urls import reverse
from django.utils.cache import get_conditional_response, patch_cache_control, set_response_etag
from ninja import Field, NinjaAPI, Path, Query, Schema
from ninja.errors import HttpError, ValidationError
from pydantic import field_validator

from articles import search_hook
from articles.api_reference import Reference
from articles.forms import MAX_QUERY_CHARS, MAX_QUERY_WORDS, MAX_TAG_FILTERS
from articles.models import Article, Category
from articles.querysets import public_tags
from kb import errors as kb_errors

logger = logging.getLogger("articles.api")

PROBLEM_JSON = "application/problem+json"
CACHE_SECONDS = 60
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
SLUG_PATTERN = r"^[-a-zA-Z0-9_]+$"
OPTIONAL_SLUG_PATTERN = r"^[-a-zA-Z0-9_]*$"
CURSOR_PATTERN = r"^[-A-Za-z0-9_]*$"


# ---------------------------------------------------------------- problems


class ApiError(Exception):
    """A client error, answered as a problem document."""

    def __init__(self, status: int, detail: str, *, errors: list[dict] | None = None):
        super().__init__(detail)
        self.status, self.detail, self.errors = status, detail, errors or []


def problem(status: int, detail: str, *, errors: list[dict] | None = None) -> HttpResponse:
    body = {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status, "detail": detail}
    if errors:
        body["errors"] = errors
    response = HttpResponse(json.dumps(body, ensure_ascii=False), status=status, content_type=PROBLEM_JSON)
    # Errors depend on data that can change at any moment (a slug published a
    # second later); caches must ask again.
    response["Cache-Control"] = "no-cache"
    return response


class InvalidParameter(Schema):
    parameter: str = Field(description="The query or path parameter at fault.")
    detail: str = Field(description="What is wrong with it.")


class Problem(Schema):
    """RFC 9457 problem details."""

    type: str = Field(description="A URI reference identifying the problem type; `about:blank` for plain HTTP errors.")
    title: str = Field(description="The HTTP status phrase.")
    status: int = Field(description="The HTTP status code.")
    detail: str = Field(description="What went wrong, for a person to read.")
    errors: list[InvalidParameter] = Field(
        default_factory=list, description="For 400: each parameter at fault. Absent otherwise."
    )


# ---------------------------------------------------------------- the API object


class KbNinjaAPI(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        for path_item in schema["paths"].values():
            for operation in path_item.values():
                for status, response in operation.get("responses", {}).items():
                    if int(status) >= 400 and "application/json" in response.get("content", {}):
                        # Errors are problem documents, and say so in their media type.
                        response["content"] = {PROBLEM_JSON: response["content"].pop("application/json")}
                    if int(status) == 200:
                        response["headers"] = {
                            "ETag": {
                                "description": "Send it back in If-None-Match to get a 304 while it is current.",
                                "schema": {"type": "string"},
                            },
                            "Cache-Control": {"schema": {"type": "string"}},
                        }
        return schema


api = KbNinjaAPI(
    title=f"{settings.SITE_NAME} API",
    version="1",
    description=(
        "Read-only access to the knowledge base's published articles, categories and tags. "
        "Errors are RFC 9457 problem details (`application/problem+json`). "
        "Successful responses carry an `ETag`; send it back in `If-None-Match` to get `304 Not Modified`."
    ),
    urls_namespace="api-v1",
    # A page generated from the OpenAPI document, in place of Swagger UI (#15).
    docs=Reference(),
)


@api.exception_handler(ApiError)
def _api_error(request, exc):
    return problem(exc.status, exc.detail, errors=exc.errors)


@api.exception_handler(ValidationError)
def _validation_error(request, exc):
    errors = []
    for error in exc.errors:
        location = [str(part) for part in error.get("loc", ()) if not isinstance(part, int)]
        # ("query", "limit") -> "limit"; the source is implied by the operation.
        name = location[-1] if location else "request"
        if error.get("type") == "string_pattern_mismatch":
            # Every pattern here is a slug's or a cursor's; a regex is no help to a reader.
            message = "Use only letters, digits, hyphens and underscores."
        else:
            message = str(error.get("msg", "Invalid value.")).removeprefix("Value error, ")
        errors.append({"parameter": name, "detail": message})
    detail = " ".join(f"Invalid value for {e['parameter']}: {e['detail'].rstrip('.')}." for e in errors)
    return problem(400, detail, errors=errors)


@api.exception_handler(Http404)
def _not_found(request, exc):
    return problem(404, "There is nothing at this address.")


@api.exception_handler(HttpError)
def _http_error(request, exc):
    return problem(exc.status_code, str(exc))


@api.exception_handler(Exception)
def _server_error(request, exc):
    if kb_errors.is_too_expensive(exc):
        # Cancelled for costing too much (kb/deadline.py): not an outage, and retrying costs the same.
        kb_errors.log_too_expensive(request, exc)
        response = problem(504, "This request needed more work than one answer may take. Narrow it and try again.")
        response["Cache-Control"] = "no-store"
        return response
    if isinstance(exc, OperationalError | InterfaceError):
        # The database is unreachable or restarting: worth retrying shortly.
        logger.warning("API request failed: database unavailable (%s)", exc)
        from kb.dbguard import breaker

        breaker.trip()  # the next requests fail fast until it answers (kb/dbguard.py)
        response = problem(503, "The service is briefly unavailable. Please try again in a few seconds.")
        response["Retry-After"] = "10"
        return response
    logger.exception("API request failed", extra={"path": request.path})
    return problem(500, "Something went wrong on our side. It has been logged.")


# ---------------------------------------------------------------- conditional GET, 404, 405


def finish(request, response):
    """ETag, Cache-Control and 304 for successful GETs; problem documents for 405."""
    if response.status_code == 405 and response.get("Content-Type", "").split(";")[0] != PROBLEM_JSON:
        response = problem(405, "This API is read-only: use GET (or HEAD).")
        response["Allow"] = "GET, HEAD"
        return response
    if request.method in ("GET", "HEAD") and response.status_code == 200 and not response.streaming:
        patch_cache_control(response, public=True, max_age=CACHE_SECONDS)
        set_response_etag(response)
        return get_conditional_response(request, etag=response.get("ETag"), response=response)
    return response


def with_finish(view):
    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        head = request.method == "HEAD"
        if head:
            # As Django's class-based views do: HEAD is a GET whose body the server drops.
            request.method = "GET"
        try:
            response = view(request, *args, **kwargs)
        except Http404:
            # Views outside the operations (django-ninja's own) raise Django's 404.
            response = problem(404, "There is nothing at this address.")
        finally:
            if head:
                request.method = "HEAD"
        return finish(request, response)

    return wrapped


def not_found(request, *args, **kwargs):
    """Any other address under /api/: a problem document, not the HTML 404 page."""
    return problem(404, f"There is nothing at {request.path}. The API's documentation is at {docs_path()}.")


def docs_path() -> str:
    return reverse("api-v1:openapi-view")


def urls():
    """The API's URL patterns for kb/urls.py, every view wrapped by `finish`."""
    patterns, app_name, namespace = api.urls
    for pattern in patterns:
        pattern.callback = with_finish(pattern.callback)
    return patterns, app_name, namespace


# ---------------------------------------------------------------- parameters


def check_query(request, allowed: set[str], repeatable: frozenset[str] = frozenset()) -> None:
    """400 for query parameters the operation does not know, or repeats it does not allow."""
    unknown = sorted(set(request.GET) - allowed)
    if unknown:
        accepted = ", ".join(sorted(allowed)) if allowed else "no query parameters"
        raise ApiError(
            400,
            f"Unknown query parameter{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}. "
            f"This operation accepts {accepted}.",
            errors=[{"parameter": name, "detail": "Not a parameter of this operation."} for name in unknown],
        )
    repeated = sorted(name for name in request.GET if name not in repeatable and len(request.GET.getlist(name)) > 1)
    if repeated:
        raise ApiError(
            400,
            f"Give {', '.join(repeated)} only once.",
            errors=[{"parameter": name, "detail": "Given more than once."} for name in repeated],
        )


TagSlug = Annotated[str, Field(pattern=SLUG_PATTERN, min_length=1, max_length=100)]


class ArticleListParams(Schema):
    q: str = Field(
        "",
        max_length=MAX_QUERY_CHARS,
        description=(
            "Full-text search, with the search page's syntax and ranking: words, "
            '"quoted phrases", `or`, and `-word` to exclude.'
        ),
    )
    category: str = Field("", pattern=OPTIONAL_SLUG_PATTERN, max_length=140, description="A category's slug.")
    tag: list[TagSlug] = Field(
        default_factory=list,
        max_length=MAX_TAG_FILTERS,
        description="A tag's slug; repeat it (`tag=a&tag=b`) for articles with every one of them.",
    )
    verbatim: bool = Field(
        False,
        description="`true`: search for `q` exactly as given. Otherwise, when `q` finds fewer than three "
        "articles and a typo correction finds more, the results are for the correction (see `search`).",
    )
    sort: Literal["relevance", "newest"] = Field(
        "relevance",
        description="`relevance`: best match first (newest first when there is no `q`); `newest`: newest first.",
    )
    cursor: str = Field(
        "", pattern=CURSOR_PATTERN, max_length=500, description="`next` from the previous page; empty for the first."
    )
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Articles per page.")

    @field_validator("q")
    @classmethod
    def _clean_q(cls, value: str) -> str:
        if any(ord(c) < 32 or ord(c) == 127 for c in value if c not in "\t\n\r"):
            raise ValueError("Search text cannot contain control characters.")
        value = " ".join(value.split())
        if len(value.split(" ")) > MAX_QUERY_WORDS:
            raise ValueError(f"Search for at most {MAX_QUERY_WORDS} words.")
        return value

    @field_validator("tag")
    @classmethod
    def _clean_tags(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(slug.lower() for slug in value))


# ---------------------------------------------------------------- responses


class CategoryRef(Schema):
    slug: str
    name: str
    url: str = Field(description="The category's page (absolute URL).")


class TagRef(Schema):
    slug: str
    name: str
    url: str = Field(description="The tag's page (absolute URL).")


class ArticleItem(Schema):
    slug: str
    title: str
    summary: str = Field(description="Plain text.")
    category: CategoryRef
    tags: list[TagRef]
    author: str | None = Field(description="The author's name, when the article has one.")
    published_at: datetime
    updated_at: datetime
    last_reviewed_at: datetime | None = Field(
        description="When the article was last confirmed accurate (a review, or a change to its text); null if never."
    )
    review_due_at: datetime | None = Field(
        description="When its next review is due (in the past: overdue); null when it is not reviewed on a schedule."
    )
    url: str = Field(description="The article's page (absolute URL).")


class ArticleDetail(ArticleItem):
    body: str = Field(description="The Markdown source.")
    body_html: str = Field(description="The rendered, sanitised HTML.")
    toc: str = Field(description="The table of contents as sanitised HTML (a nested list); empty when there is none.")
    reading_time: int = Field(description="Minutes.")
    word_count: int


class SearchInfo(Schema):
    query: str = Field(description="The words the results are for: `q`, or its typo correction.")
    corrected: bool = Field(description="`query` is a typo correction of `q`; pass `verbatim=true` for `q` as given.")
    relaxed: bool = Field(description="No article had every word of `query`; these have some of them.")
    did_you_mean: str | None = Field(
        description="A spelling that may find more, not applied because it is less certain; else null."
    )


class PromotedItem(ArticleItem):
    description: str = Field(description="Why an editor pinned the article to the query; empty if they gave none.")


class ArticlePage(Schema):
    items: list[ArticleItem]
    next: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")
    search: SearchInfo | None = Field(None, description="How `q` was understood; null without `q`.")
    promoted: list[PromotedItem] = Field(
        default_factory=list,
        description="Editors' picks for `q`, in their order: on the first page only (no `cursor`), and never "
        "repeated in `items` on any page. Empty without `q`.",
    )


class CategoryItem(Schema):
    slug: str
    name: str
    description: str
    article_count: int = Field(description="How many public articles it has.")
    url: str = Field(description="The category's page (absolute URL).")


class CategoryList(Schema):
    items: list[CategoryItem]


class TagItem(Schema):
    slug: str
    name: str
    article_count: int = Field(description="How many public articles have it.")
    url: str = Field(description="The tag's page (absolute URL).")


class TagList(Schema):
    items: list[TagItem]


class Index(Schema):
    articles: str
    categories: str
    tags: str
    openapi: str
    docs: str


def _absolute(request, name: str, **kwargs) -> str:
    return request.build_absolute_uri(reverse(name, kwargs=kwargs or None))


def article_item(request, article) -> dict:
    author = article.author
    return {
        "slug": article.slug,
        "title": article.title,
        "summary": article.summary,
        "category": {
            "slug": article.category.slug,
            "name": article.category.name,
            "url": request.build_absolute_uri(article.category.get_absolute_url()),
        },
        "tags": [
            {"slug": tag.slug, "name": tag.name, "url": _absolute(request, "articles:tag", slug=tag.slug)}
            for tag in article.tags.all()
        ],
        "author": (author.get_full_name() or author.get_username()) if author else None,
        "published_at": article.published_at,
        "updated_at": article.updated_at,
        "last_reviewed_at": article.last_reviewed_at,
        "review_due_at": article.review_due_at,
        "url": request.build_absolute_uri(article.get_absolute_url()),
    }


# ---------------------------------------------------------------- cursors

ORDERS = {
    "relevance": ("-rank", "-published_at", "-id"),
    "newest": ("-published_at", "-id"),
}


def _fingerprint(params: ArticleListParams, order: str) -> str:
    what = json.dumps([params.q, params.category, sorted(params.tag), order, params.verbatim])
    return hashlib.sha256(what.encode()).hexdigest()[:16]


def encode_cursor(order: str, key: list, fingerprint: str) -> str:
    raw = json.dumps({"o": order, "f": fingerprint, "k": key}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str, order: str, fingerprint: str) -> list:
    """The sort key a cursor stands for; 400 when it is not one we gave out for this query."""
    bad = ApiError(
        400,
        "Invalid value for cursor: pass the `next` value of the previous page unchanged, with the same q, verbatim, "
        "category, tag and sort.",
        errors=[{"parameter": "cursor", "detail": "Not a cursor for this query."}],
    )
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if not isinstance(data, dict) or data.get("o") != order or data.get("f") != fingerprint:
            raise bad
        key = data["k"]
        if not isinstance(key, list) or len(key) != len(ORDERS[order]):
            raise bad
        *rank, published, pk = key
        published_at = datetime.fromisoformat(published)
        if published_at.tzinfo is None or type(pk) is not int:
            raise bad
        if rank and (type(rank[0]) not in (int, float) or not math.isfinite(rank[0])):
            raise bad
    except (ValueError, TypeError, KeyError, binascii.Error, UnicodeDecodeError):
        raise bad from None
    return [*rank, published_at, pk]


def _after(order: str, key: list) -> Q:
    """Rows strictly after `key` in `order` (all descending)."""
    if order == "newest":
        published_at, pk = key
        return Q(published_at__lt=published_at) | Q(published_at=published_at, id__lt=pk)
    rank, published_at, pk = key
    return (
        Q(rank__lt=rank)
        | Q(rank=rank, published_at__lt=published_at)
        | Q(rank=rank, published_at=published_at, id__lt=pk)
    )


def _key(order: str, article) -> list:
    key = [article.published_at.isoformat(), article.pk]
    return [article.rank, *key] if order == "relevance" else key


def find_articles(params: ArticleListParams):
    """(ordered queryset of public articles, order name, search outcome or None, editors' picks) for the filters.

    The picks are public articles of the filtered set pinned to `q` (#13), as (article, description), on the
    first page; the results never include them.
    """
    base = Article.objects.published()
    if params.category:
        category_id = Category.objects.filter(slug=params.category).values_list("pk", flat=True).first()
        if category_id is None:
            raise ApiError(
                400,
                f"Invalid value for category: there is no category “{params.category}”.",
                errors=[{"parameter": "category", "detail": "No such category."}],
            )
        # By id, as the search page does: joined through the slug, the planner guesses the category's size.
        base = base.filter(category_id=category_id)
    if params.tag:
        # Same answer for a tag that does not exist and one only drafts use.
        known = set(public_tags().filter(slug__in=params.tag).values_list("slug", flat=True))
        unknown = [slug for slug in params.tag if slug not in known]
        if unknown:
            raise ApiError(
                400,
                f"Invalid value for tag: no published article is tagged {', '.join(unknown)}.",
                errors=[
                    {"parameter": "tag", "detail": f"No published article is tagged “{slug}”."} for slug in unknown
                ],
            )
        base = base.with_every_tag(params.tag)
    if params.q:
        # The search page's matching, ranking, typo correction and relaxation.
        outcome = search_hook.run(base, params.q, sort=params.sort, correct=not params.verbatim)
        order = "relevance" if params.sort == "relevance" else "newest"
        pinned, results = search_hook.promote(
            params.q, base, outcome.results, outcome.matched, first_page=not params.cursor
        )
        found = base.for_listing().in_bulk([pk for pk, _ in pinned]) if pinned else {}
        picks = [(found[pk], description) for pk, description in pinned if pk in found]
        return results.order_by(*ORDERS[order]), order, outcome, picks
    return base.order_by(*ORDERS["newest"]), "newest", None, []


def search_info(outcome) -> dict | None:
    if outcome is None:
        return None
    correction = outcome.correction
    return {
        "query": outcome.query,
        "corrected": outcome.corrected,
        "relaxed": outcome.relaxed,
        "did_you_mean": correction.text if correction and not outcome.corrected else None,
    }


# ---------------------------------------------------------------- operations

ARTICLE_LIST_PARAMS = set(ArticleListParams.model_fields)


@api.get("/", response={200: Index, 400: Problem}, operation_id="index", summary="Where everything is", tags=["index"])
def index(request):
    check_query(request, set())
    return {
        "articles": _absolute(request, "api-v1:list_articles"),
        "categories": _absolute(request, "api-v1:list_categories"),
        "tags": _absolute(request, "api-v1:list_tags"),
        "openapi": _absolute(request, "api-v1:openapi-json"),
        "docs": _absolute(request, "api-v1:openapi-view"),
    }


@api.get(
    "/articles",
    response={200: ArticlePage, 400: Problem},
    operation_id="listArticles",
    url_name="list_articles",
    summary="Published articles, filtered, searched and paginated",
    tags=["articles"],
)
def list_articles(request, params: Query[ArticleListParams]):
    check_query(request, ARTICLE_LIST_PARAMS, repeatable=frozenset({"tag"}))
    results, order, outcome, picks = find_articles(params)
    fingerprint = _fingerprint(params, order)
    if params.cursor:
        results = results.filter(_after(order, decode_cursor(params.cursor, order, fingerprint)))
    page = list(results.for_listing()[: params.limit + 1])
    more = len(page) > params.limit
    page = page[: params.limit]
    return {
        "items": [article_item(request, article) for article in page],
        "next": encode_cursor(order, _key(order, page[-1]), fingerprint) if more else None,
        "search": search_info(outcome),
        "promoted": [{**article_item(request, article), "description": description} for article, description in picks],
    }


@api.get(
    "/articles/{slug}",
    response={200: ArticleDetail, 400: Problem, 404: Problem},
    operation_id="getArticle",
    url_name="get_article",
    summary="One published article, with its body",
    tags=["articles"],
)
def get_article(request, slug: str = Path(..., pattern=SLUG_PATTERN, max_length=200)):
    check_query(request, set())
    article = Article.objects.published().for_listing().filter(slug=slug).first()
    if article is None:
        raise ApiError(404, f"No published article has the slug “{slug}”.")
    return {
        **article_item(request, article),
        "body": article.body,
        "body_html": article.body_html,
        "toc": article.toc_html,
        "reading_time": article.reading_time,
        "word_count": article.word_count,
    }


@api.get(
    "/categories",
    response={200: CategoryList, 400: Problem},
    operation_id="listCategories",
    url_name="list_categories",
    summary="Every category, with how many published articles it has",
    tags=["categories"],
)
def list_categories(request):
    check_query(request, set())
    return {
        "items": [
            {
                "slug": category.slug,
                "name": category.name,
                "description": category.description,
                "article_count": category.article_count,
                "url": request.build_absolute_uri(category.get_absolute_url()),
            }
            for category in Category.objects.with_public_counts()
        ]
    }


@api.get(
    "/tags",
    response={200: TagList, 400: Problem},
    operation_id="listTags",
    url_name="list_tags",
    summary="Tags of published articles, most used first",
    tags=["tags"],
)
def list_tags(request):
    check_query(request, set())
    return {
        "items": [
            {
                "slug": tag.slug,
                "name": tag.name,
                "article_count": tag.article_count,
                "url": _absolute(request, "articles:tag", slug=tag.slug),
            }
            for tag in public_tags()
        ]
    }
