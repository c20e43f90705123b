from django.core.paginator import EmptyPage
from django.db.models import Count, OuterRef, Q, Subquery
from django.http import Http404, HttpResponse, HttpResponsePermanentRedirect
from django.shortcuts import get_object_or_404, render
from django.template.response import TemplateResponse
from django.views.generic import DetailView, ListView
from taggit.models import Tag, TaggedItem

from articles import counts, freshness, links, previews, seo
from articles.forms import PageForm
from articles.listing import Listing, ListingPaginator, prepare_cards, prepare_tags
from articles.models import Article, Category, ListingCount, SlugRedirect
from articles.querysets import public_tags

LISTING_PAGE_SIZE = 60


class NotFound(Http404):
    """A 404 whose message is written for readers and shown on the page."""


def page_not_found(request, exception):
    message = str(exception) if isinstance(exception, NotFound) else ""
    return render(request, "404.html", {"message": message}, status=404)


class PublicListingMixin:
    """Listings of public articles, 60 a page, with `?page=N` read through a form."""

    paginate_by = LISTING_PAGE_SIZE
    template_name = "articles/article_list.html"
    context_object_name = "articles"

    def public_articles(self):
        return self.listing().articles()

    def listing(self) -> Listing:
        raise NotImplementedError

    def paginate_queryset(self, queryset, page_size):
        # The listing's kept count and a keyset read of the page (articles/listing.py), not
        # COUNT(*) and OFFSET over the queryset.
        form = PageForm(self.request.GET)
        if not form.is_valid():
            raise NotFound("Page numbers are whole numbers, starting at 1.")
        number = form.cleaned_data["page"] or 1
        paginator = ListingPaginator(self.listing(), page_size)
        try:
            page = paginator.page(number)
        except EmptyPage:
            raise NotFound(f"There is no page {number} here; the last page is {paginator.num_pages}.") from None
        prepare_cards(page.object_list)
        # The view (in the context as `view`) holds the page, not the listing's whole queryset, which
        # anything walking the context (caching's Last-Modified) would otherwise read in full.
        self.object_list = page.object_list
        return paginator, page, page.object_list, page.has_other_pages()


def home(request):
    # A TemplateResponse, like the other cached pages: articles.caching reads its context for Last-Modified.
    return TemplateResponse(
        request,
        "articles/home.html",
        {
            "categories": Category.objects.with_public_counts(),
            "latest": prepare_cards(list(Article.objects.published().for_cards()[:8])),
            "tags": prepare_tags(public_tags()[:20]),
        },
    )


class CategoryView(PublicListingMixin, ListView):
    def get_queryset(self):
        self.category = get_object_or_404(Category, slug=self.kwargs["slug"])
        return self.public_articles()

    def listing(self):
        return Listing(category=self.category)

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            heading=self.category.name,
            intro=self.category.description,
            category=self.category,
            page_description=self.category.description or f"Articles in {self.category.name}, newest first.",
            **kwargs,
        )


class TagView(PublicListingMixin, ListView):
    def get_queryset(self):
        self.tag = get_object_or_404(Tag, slug=self.kwargs["slug"])
        return self.public_articles()

    def listing(self):
        return Listing(tag=self.tag)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(
            heading=f"Tagged “{self.tag.name}”",
            tag=self.tag,
            page_description=f"Articles tagged “{self.tag.name}”, newest first.",
            **kwargs,
        )
        if not context["paginator"].count:
            # A tag that only drafts use must not reveal that they exist.
            raise NotFound("No published article has this tag.")
        return context


class ArticleView(DetailView):
    context_object_name = "article"

    def get_queryset(self):
        return Article.objects.visible_to(self.request.user).for_page()

    def get(self, request, *args, **kwargs):
        try:
            return super().get(request, *args, **kwargs)
        except Http404:
            # A renamed article keeps its old address working.
            moved = SlugRedirect.objects.filter(old_slug=kwargs["slug"]).values_list("article_id", flat=True).first()
            article = self.get_queryset().filter(pk=moved).first() if moved else None
            if article is None:
                raise
            return HttpResponsePermanentRedirect(article.get_absolute_url())

    def get_context_data(self, **kwargs):
        return super().get_context_data(**article_context(self.object), **kwargs)


def article_context(article):
    return {
        "related": related_articles(article),
        **neighbours(article),
        # Knowledge that stays true (#16): the review date and notice (no query), backlinks (one).
        "review": freshness.reader_review(article),
        "referenced_by": links.backlinks(article),
    }


def preview_view(request, token):
    """An unpublished article through a preview link, for reviewers without an account."""
    link = previews.open_preview_link(token)
    if link is None:
        raise NotFound(
            "This preview link is no longer valid: it has expired or was revoked. Ask an editor for a new one."
        )
    article = Article.objects.for_page().get(pk=link.article_id)
    context = {
        "article": article,
        "preview_link": link,
        **article_context(article),
    }
    response = render(request, "articles/article_detail.html", context)
    # The page shows unpublished words: no shared cache may keep it, no search engine index it.
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


RELATED_FROM_TAGS = 3  # candidates come from the article's rarest tags…
RELATED_CANDIDATES = 100  # …the newest this many public articles of each


def related_articles(article, limit=4):
    """Public articles sharing the most tags with this one, among the latest of its rarest tags.

    Bounded at any size: the candidates are the RELATED_CANDIDATES articles
    most recently added (highest id) to each of the article's RELATED_FROM_TAGS
    rarest tags, read backwards from the end of an index on (tag, article) in one
    query; only they are ranked by the tags they share.
    """
    tag_ids = [tag.pk for tag in article.tags.all()]
    if not tag_ids:
        return []
    rarest = (
        ListingCount.objects.filter(kind=counts.TAG, object_id__in=tag_ids)
        .order_by("published", "object_id")
        .values_list("object_id", flat=True)[:RELATED_FROM_TAGS]
    )
    candidates = latest_tagged(list(rarest), RELATED_CANDIDATES) - {article.pk}
    if not candidates:
        return []
    shared = (
        TaggedItem.objects.filter(
            content_type_id=counts._article_content_type_id(), object_id=OuterRef("pk"), tag_id__in=tag_ids
        )
        .order_by()
        .values("object_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return list(
        Article.objects.published()
        .filter(pk__in=candidates)
        .annotate(shared_tags=Subquery(shared))
        .order_by("-shared_tags", "-published_at", "-id")
        .for_cards()[:limit]
    )


def latest_tagged(tag_ids, limit) -> set:
    """Ids of the `limit` articles most recently tagged with each tag: one UNION ALL of index-only reads."""
    from django.db import connection

    if not tag_ids:
        return set()
    # Each branch is a subquery of its own, so that each has its own ORDER BY and LIMIT (SQLite too).
    branch = (
        "SELECT object_id FROM (SELECT object_id FROM taggit_taggeditem WHERE content_type_id = %s AND tag_id = %s "
        "ORDER BY object_id DESC LIMIT %s) AS t{n}"
    )
    sql = " UNION ALL ".join(branch.format(n=n) for n in range(len(tag_ids)))
    params = [value for tag_id in tag_ids for value in (counts._article_content_type_id(), tag_id, limit)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {row[0] for row in cursor.fetchall()}


def neighbours(article):
    """The previous (older) and next (newer) public article in the same category."""
    if article.published_at is None:
        return {"previous": None, "next": None}
    siblings = Article.objects.published().filter(category_id=article.category_id).exclude(pk=article.pk).for_cards()
    at = article.published_at
    # The plain bound on published_at lets each be one short step down the category's index.
    older = Q(published_at__lt=at) | Q(published_at=at, id__lt=article.pk)
    newer = Q(published_at__gt=at) | Q(published_at=at, id__gt=article.pk)
    return {
        "previous": siblings.filter(older, published_at__lte=at).order_by("-published_at", "-id").first(),
        "next": siblings.filter(newer, published_at__gte=at).order_by("published_at", "id").first(),
    }


def robots_txt(request):
    return HttpResponse("\n".join(seo.robots_lines(request)) + "\n", content_type="text/plain; charset=utf-8")
