"""RSS 2.0 and Atom feeds: site-wide, per category and per tag.

Each feed has the newest public articles with their full (already sanitised)
HTML, author, dates, category and tags. Everything starts from
`Article.objects.published()`, so drafts and scheduled articles never appear.
"""

import re
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed
from django.utils.html import escape
from taggit.models import Tag

from articles.listing import Listing, prepare_cards
from articles.models import Article, Category

FEED_SIZE = 20

# Root-relative links and images in bodies (uploads under /media/, other
# articles) would resolve against the feed reader's own address, and so would
# in-page links (`#h-…` permalinks, footnotes): both are made absolute. The
# HTML comes from our sanitiser, so attributes are always double-quoted.
_ROOT_RELATIVE = re.compile(r'(\s(?:href|src)=")/(?!/)')
_FRAGMENT = re.compile(r'(\shref=")#')
# Highlighted code, as the pipeline writes it: Pygments' token spans inside
# <div class="highlight"><pre><span></span><code>. Feed readers have none of
# our styles, so the spans are only weight (about half of a feed's bytes).
_HIGHLIGHTED = re.compile(
    r'<div class="highlight"><pre><span></span><code>([^<]*+(?:<(?!/code>)[^<]*+)*+)</code></pre></div>'
)
_TOKEN_SPAN = re.compile(r"</?span(?: [^>]*)?>")
# The permalink beside each heading: a "#" that means nothing in a feed.
_PERMALINK = re.compile(r'<a href="#[^"]*+" class="headerlink"(?:[^>"]|"[^"]*+")*+>#</a>')


def absolutize(html: str, origin: str, page: str = "") -> str:
    """Make root-relative `href`/`src` URLs in `html` absolute on `origin` (e.g. `https://kb.example.com`).

    In-page links (`href="#…"`) point into `page` (the article's path) instead.
    """
    html = _ROOT_RELATIVE.sub(lambda m: f"{m.group(1)}{origin}/", html)
    return _FRAGMENT.sub(lambda m: f"{m.group(1)}{origin}{page}#", html)


def plain_code(html: str) -> str:
    """Highlighted code blocks as plain `<pre><code>`: the same text without Pygments' spans."""
    return _HIGHLIGHTED.sub(lambda m: f"<pre><code>{_TOKEN_SPAN.sub('', m.group(1))}</code></pre>", html)


def feed_html(article, origin: str) -> str:
    """An article's body as feed readers should get it: absolute links, plain code, no permalinks."""
    html = _PERMALINK.sub("", article.body_html)
    return absolutize(plain_code(html), origin, article.get_absolute_url())


class RssWithContent(Rss201rev2Feed):
    """RSS 2.0 with the full body in `content:encoded`; `description` keeps the summary."""

    def rss_attributes(self):
        return {**super().rss_attributes(), "xmlns:content": "http://purl.org/rss/1.0/modules/content/"}

    def add_item_elements(self, handler, item):
        super().add_item_elements(handler, item)
        handler.addQuickElement("content:encoded", item["content_html"])


class AtomWithContent(Atom1Feed):
    """Atom with the full body in `<content type="html">` next to the summary."""

    def add_item_elements(self, handler, item):
        super().add_item_elements(handler, item)
        handler.addQuickElement("content", item["content_html"], {"type": "html"})


@dataclass
class Subject:
    """What a feed is about (the whole site, a category or a tag) and the request's origin."""

    origin: str
    category: Category | None = None
    tag: Tag | None = None


class ArticlesFeed(Feed):
    """The whole site's newest public articles, as RSS 2.0."""

    feed_type = RssWithContent
    url_name = "articles:feed"
    language = "en"
    item_guid_is_permalink = False

    def get_object(self, request, *args, **kwargs):
        return Subject(origin=request.build_absolute_uri("/").rstrip("/"))

    def articles(self, subject):
        return Article.objects.published()

    def items(self, subject):
        # Each entry's HTML, but neither its Markdown source, its plain text nor its search document; the
        # tags in one query (prepare_cards), not a queryset through the tag manager per entry.
        articles = list(
            self.articles(subject)
            .select_related("category", "author")
            .defer("body", "body_text", "search_vector")
            .order_by("-published_at", "-id")[:FEED_SIZE]
        )
        prepare_cards(articles)
        for article in articles:
            article.feed_content = feed_html(article, subject.origin)
        return articles

    def title(self, subject):
        return f"{settings.SITE_NAME}: latest articles"

    def description(self, subject):
        return "The newest articles in the knowledge base."

    def link(self, subject):
        return reverse("articles:home")

    def subtitle(self, subject):
        # Atom's name for RSS's description.
        return self.description(subject)

    def feed_url(self, subject):
        return reverse(self.url_name, kwargs=self.url_kwargs(subject))

    def url_kwargs(self, subject):
        return {}

    def author_name(self, subject):
        # Atom requires an author for every entry; the site stands in for
        # articles that have none.
        return settings.SITE_NAME

    def item_title(self, item):
        # Plain text, escaped once, by the feed generator. (Escaping it here as
        # well made an apostrophe show as "&#x27;" in feedparser and rss-parser.)
        return item.title

    def item_description(self, item):
        # The summary is plain text; RSS `description` and Atom `summary type="html"` are HTML.
        return escape(item.summary)

    def item_extra_kwargs(self, item):
        return {"content_html": item.feed_content}

    def item_author_name(self, item):
        if item.author is None:
            return None
        return item.author.get_full_name() or item.author.get_username()

    def item_pubdate(self, item):
        return item.published_at

    def item_updateddate(self, item):
        return item.updated_at

    def item_categories(self, item):
        return [item.category.name, *(name for name, _url in item.card_tags)]

    def item_guid(self, item):
        # Stable when an article's slug (and so its link) changes, so feed
        # readers do not show a renamed article as new.
        return uuid.uuid5(uuid.NAMESPACE_URL, f"{settings.SITE_NAME}:article:{item.pk}").urn


class ArticlesAtomFeed(ArticlesFeed):
    feed_type = AtomWithContent
    url_name = "articles:feed-atom"


class CategoryFeed(ArticlesFeed):
    """One category's newest public articles."""

    url_name = "articles:category-feed"

    def get_object(self, request, slug):
        return Subject(
            origin=request.build_absolute_uri("/").rstrip("/"), category=get_object_or_404(Category, slug=slug)
        )

    def articles(self, subject):
        return Article.objects.published().filter(category=subject.category)

    def title(self, subject):
        return f"{subject.category.name} · {settings.SITE_NAME}"

    def description(self, subject):
        return subject.category.description or f"The newest articles in {subject.category.name}."

    def link(self, subject):
        return subject.category.get_absolute_url()

    def url_kwargs(self, subject):
        return {"slug": subject.category.slug}


class CategoryAtomFeed(CategoryFeed):
    feed_type = AtomWithContent
    url_name = "articles:category-feed-atom"


class TagFeed(ArticlesFeed):
    """The newest public articles with one tag."""

    url_name = "articles:tag-feed"

    def get_object(self, request, slug):
        tag = get_object_or_404(Tag, slug=slug)
        if not Listing(tag=tag).count():
            # Like the tag page: a tag only drafts use must not reveal that they exist.
            raise Http404("No published article has this tag.")
        return Subject(origin=request.build_absolute_uri("/").rstrip("/"), tag=tag)

    def articles(self, subject):
        return Listing(tag=subject.tag).articles()

    def title(self, subject):
        return f"Tagged “{subject.tag.name}” · {settings.SITE_NAME}"

    def description(self, subject):
        return f"The newest articles tagged “{subject.tag.name}”."

    def link(self, subject):
        return reverse("articles:tag", kwargs={"slug": subject.tag.slug})

    def url_kwargs(self, subject):
        return {"slug": subject.tag.slug}


class TagAtomFeed(TagFeed):
    feed_type = AtomWithContent
    url_name = "articles:tag-feed-atom"
