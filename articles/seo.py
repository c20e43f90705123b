"""What search engines and link previews read: canonical URLs, structured data, robots.txt.

Plain functions of the request and the objects on the page; templates reach
them through the `seo` template tags (articles/templatetags/seo.py).
"""

import json

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

# What Django's json_script escapes, for the same reason: inside <script>,
# "</script>" or "<!--" in a title must not end or change the element.
_SCRIPT_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}


def canonical_url(request, page_number: int | None = None) -> str:
    """The page's absolute URL without tracking or other query noise.

    Only the page number of a listing's later pages survives (`?page=N`,
    N > 1), because those are pages of their own; `utm_*`, `page=1` and
    anything else are dropped.
    """
    url = request.build_absolute_uri(request.path)
    if page_number is not None and page_number > 1:
        url += f"?page={page_number}"
    return url


def json_ld(data: dict) -> SafeString:
    """A `<script type="application/ld+json">` element that stays valid JSON whatever the data holds."""
    text = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False).translate(_SCRIPT_ESCAPES)
    return format_html('<script type="application/ld+json">{}</script>', SafeString(text))


def _organization(request) -> dict:
    return {
        "@type": "Organization",
        "name": settings.SITE_NAME,
        "url": request.build_absolute_uri(reverse("articles:home")),
    }


def website_data(request) -> dict:
    home = request.build_absolute_uri(reverse("articles:home"))
    search = request.build_absolute_uri(reverse("search:search"))
    return {
        "@context": "https://schema.org",
        "@type": "WebSite",
        "name": settings.SITE_NAME,
        "url": home,
        "potentialAction": {
            "@type": "SearchAction",
            "target": {"@type": "EntryPoint", "urlTemplate": f"{search}?q={{search_term_string}}"},
            "query-input": "required name=search_term_string",
        },
    }


def collection_data(request, *, name: str, description: str, url: str) -> dict:
    return {
        "@context": "https://schema.org",
        "@type": "CollectionPage",
        "name": name,
        "description": description,
        "url": url,
        "isPartOf": {"@type": "WebSite", "name": settings.SITE_NAME, "url": request.build_absolute_uri("/")},
    }


def article_card(request, article) -> dict | None:
    """The article's social card (articles/cards.py) for `og:image` and JSON-LD; None until it is public.

    Unpublished articles have no card: their pages are not indexed, and the
    card's URL answers only for published articles.
    """
    if article.state != "Published":
        return None
    from articles import cards

    return {
        "url": request.build_absolute_uri(cards.card_path(article)),
        "width": cards.WIDTH,
        "height": cards.HEIGHT,
        "type": "image/png",
        "alt": cards.card_alt(article),
    }


def breadcrumb_trail(request, article) -> list[dict]:
    """Home, the category, the article: the page shows all but the last (its own title is the heading)."""
    steps = [
        ("Home", reverse("articles:home")),
        (article.category.name, article.category.get_absolute_url()),
        (article.title, article.get_absolute_url()),
    ]
    return [{"name": name, "path": path, "url": request.build_absolute_uri(path)} for name, path in steps]


def breadcrumb_data(trail: list[dict]) -> dict:
    """schema.org BreadcrumbList of a trail from `breadcrumb_trail()`."""
    return {
        "@context": "https://schema.org",
        "@type": "BreadcrumbList",
        "itemListElement": [
            {"@type": "ListItem", "position": position, "name": crumb["name"], "item": crumb["url"]}
            for position, crumb in enumerate(trail, start=1)
        ],
    }


def article_data(request, article) -> dict:
    """schema.org TechArticle for an article page."""
    url = request.build_absolute_uri(article.get_absolute_url())
    if article.author is not None:
        author = {"@type": "Person", "name": article.author.get_full_name() or article.author.get_username()}
    else:
        author = _organization(request)
    data = {
        "@context": "https://schema.org",
        "@type": "TechArticle",
        "headline": article.title,
        "description": article.summary,
        "url": url,
        "mainEntityOfPage": {"@type": "WebPage", "@id": url},
        "author": author,
        "publisher": _organization(request),
        "dateModified": article.updated_at,
        "articleSection": article.category.name,
        "keywords": [tag.name for tag in article.tags.all()],
        "wordCount": article.word_count,
        "timeRequired": f"PT{article.reading_time}M",
        "inLanguage": "en",
    }
    if article.published_at is not None:
        data["datePublished"] = article.published_at
    card = article_card(request, article)
    if card is not None:
        data["image"] = {
            "@type": "ImageObject",
            "url": card["url"],
            "width": card["width"],
            "height": card["height"],
            "caption": card["alt"],
        }
    return data


# Every fenced code block, highlighted or not, is wrapped in this (articles/rendering.py); nothing else is.
CODE_BLOCK_MARKER = '<div class="highlight">'


def has_code_blocks(article) -> bool:
    """Whether the page needs pygments.css: only then is the render-blocking stylesheet linked.

    Read from body_html, the derived HTML itself, rather than kept in a column
    of its own: every writer of body_html (saves, bulk corpus inserts, re-render
    migrations) would have to keep such a column right, and finding the marker
    in the HTML already in memory costs microseconds on an uncached render only.
    """
    return CODE_BLOCK_MARKER in article.body_html


def robots_lines(request) -> list[str]:
    """robots.txt: everything may be crawled but the admin and preview links; where the sitemap is."""
    placeholder = "x" * 20
    preview_prefix = reverse("articles:preview", kwargs={"token": placeholder}).removesuffix(f"{placeholder}/")
    return [
        "User-agent: *",
        f"Disallow: {reverse('admin:index')}",
        f"Disallow: {preview_prefix}",
        "",
        f"Sitemap: {request.build_absolute_uri(reverse('articles:sitemap'))}",
    ]
