"""Links between articles (#16, "links that don't rot").

At every save of a body (services.save_article, restore_revision) the links
it makes to other articles' addresses are recorded as `ArticleLink` rows:
only the slug as written. What a slug points at is resolved when read, so a
later rename, deletion, publication or unpublication is always reflected:

- an article with that slug (public or not);
- else a `SlugRedirect`: the old address of a renamed article, which still
  answers with a 301, so the link works but should be updated;
- else nothing: the link is broken.

Readers see "Referenced by" (`backlinks`, public sources only). Editors see a
warning on saving an article whose links lead nowhere public
(`problems_for`), and a report of every public article with such links
(`report`).
"""

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urlsplit

from django.conf import settings
from django.db.models import Q

ARTICLE_PATH = re.compile(r"^/articles/(?P<slug>[-a-zA-Z0-9_]+)/?$")
REPORT_LIMIT = 500
BACKLINKS_SHOWN = 10


class _Hrefs(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.hrefs += [value for name, value in attrs if name == "href" and value]


def _own_hosts() -> set[str]:
    return {host.lower() for host in settings.ALLOWED_HOSTS if host and host[0] not in ".*"}


def link_slugs(html: str) -> list[str]:
    """The slugs of article addresses the rendered body links to, each once, in order of appearance.

    Relative links (`/articles/<slug>/`) and absolute ones to this site's own
    hosts count; a query string or fragment does not matter.
    """
    parser = _Hrefs()
    parser.feed(html or "")
    hosts = _own_hosts()
    slugs = []
    for href in parser.hrefs:
        try:
            parts = urlsplit(href.strip())
        except ValueError:
            continue
        if parts.netloc and (parts.scheme not in ("http", "https") or (parts.hostname or "") not in hosts):
            continue
        if not parts.netloc and parts.scheme:
            continue
        match = ARTICLE_PATH.match(parts.path)
        if match and match["slug"] not in slugs:
            slugs.append(match["slug"])
    return slugs


def record_links(article) -> None:
    """Replace the article's recorded links with those in its current body."""
    from articles.models import ArticleLink

    slugs = [slug for slug in link_slugs(article.body_html) if slug != article.slug]
    existing = set(ArticleLink.objects.filter(source=article).values_list("target_slug", flat=True))
    if existing - set(slugs):
        ArticleLink.objects.filter(source=article).exclude(target_slug__in=slugs).delete()
    ArticleLink.objects.bulk_create(
        [ArticleLink(source=article, target_slug=slug) for slug in slugs if slug not in existing],
        ignore_conflicts=True,
    )


def backlinks(article, limit: int = BACKLINKS_SHOWN) -> list:
    """Public articles linking to this one, at its slug or at one of its old slugs; newest first. One query."""
    from articles.models import Article, ArticleLink, SlugRedirect

    old_slugs = SlugRedirect.objects.filter(article_id=article.pk).values("old_slug")
    sources = ArticleLink.objects.filter(Q(target_slug=article.slug) | Q(target_slug__in=old_slugs)).values("source_id")
    return list(
        Article.objects.published()
        .filter(pk__in=sources)
        .exclude(pk=article.pk)
        .only("id", "slug", "title", "summary", "published_at")
        .order_by("-published_at", "-id")[:limit]
    )


@dataclass
class Problem:
    """A link that does not reach a public article directly."""

    slug: str
    kind: str  # "missing", "not public", "redirect"
    target: object = None  # the article it reaches, if any

    @property
    def path(self) -> str:
        return f"/articles/{self.slug}/"

    @property
    def broken(self) -> bool:
        """Readers following it reach no public article (a redirect to a draft counts)."""
        return self.kind != "redirect"

    def describe(self) -> str:
        if self.kind == "missing":
            return f"{self.path} (no such article)"
        if self.kind == "redirect":
            return f"{self.path} (renamed: now {self.target.get_absolute_url()})"
        if self.target is not None and self.target.slug != self.slug:
            return f"{self.path} (renamed to {self.target.get_absolute_url()}, and not public: {self.target.state})"
        return f"{self.path} (not public: {self.target.state if self.target else 'draft'})"


def resolve(slugs) -> dict[str, Problem | None]:
    """For each slug, None when it is a public article's current address, else the Problem. Two queries."""
    from articles.models import Article, SlugRedirect

    slugs = set(slugs)
    if not slugs:
        return {}
    public = set(Article.objects.published().filter(slug__in=slugs).values_list("pk", flat=True))
    by_slug = {a.slug: a for a in Article.objects.filter(slug__in=slugs).only("id", "slug", "status", "published_at")}
    redirects = {
        r.old_slug: r.article
        for r in SlugRedirect.objects.filter(old_slug__in=slugs - set(by_slug)).select_related("article")
    }
    answer: dict[str, Problem | None] = {}
    for slug in slugs:
        article = by_slug.get(slug)
        if article is not None:
            answer[slug] = None if article.pk in public else Problem(slug, "not public", article)
            continue
        target = redirects.get(slug)
        if target is None:
            answer[slug] = Problem(slug, "missing")
        elif target.state == "Published":
            answer[slug] = Problem(slug, "redirect", target)
        else:
            answer[slug] = Problem(slug, "not public", target)
    return answer


def problems_for(article) -> list[Problem]:
    """The article's links that lead nowhere public, or through a redirect, in the order they appear."""
    slugs = [slug for slug in link_slugs(article.body_html) if slug != article.slug]
    resolved = resolve(slugs)
    return [resolved[slug] for slug in slugs if resolved.get(slug) is not None]


@dataclass
class ReportRow:
    source: object
    problem: Problem


def report(limit: int = REPORT_LIMIT) -> tuple[list[ReportRow], bool]:
    """Links from public articles that do not reach a public article at its current address.

    (rows ordered by source title, whether there were more than `limit`). A
    fixed number of queries: the links not pointing at a public article's
    slug, then their targets in bulk.
    """
    from articles.models import Article, ArticleLink

    public = Article.objects.published()
    links = list(
        ArticleLink.objects.filter(source__in=public.values("pk"))
        .exclude(target_slug__in=public.values("slug"))
        .select_related("source")
        .only("target_slug", "source__id", "source__title", "source__slug", "source__owner_id")
        .order_by("source__title", "source_id", "target_slug")[: limit + 1]
    )
    more = len(links) > limit
    links = links[:limit]
    resolved = resolve(link.target_slug for link in links)
    rows = [ReportRow(link.source, resolved[link.target_slug]) for link in links if resolved[link.target_slug]]
    return rows, more
