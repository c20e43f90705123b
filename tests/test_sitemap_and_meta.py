import io
import json
import re
from html import unescape
from html.parser import HTMLParser
from xml.etree import ElementTree

import pytest
from django.urls import reverse
from taggit.models import Tag

from articles import previews
from articles.models import Article, Category
from tests.factories import CategoryFactory, UserFactory

pytestmark = pytest.mark.django_db

SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
ORIGIN = "http://testserver"


PROTOCOL_MAX_URLS = 50_000
CHANGEFREQS = {"always", "hourly", "daily", "weekly", "monthly", "yearly", "never"}
W3C_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$")


def xml(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    assert response["Content-Type"] == "application/xml", url
    return ElementTree.fromstring(response.content)


def check_children(element, allowed, required):
    """The sitemaps.org schema's rules for one <url> or <sitemap>: known children, each at most once."""
    names = [child.tag.removeprefix(SITEMAP_NS) for child in element]
    assert all(child.tag.startswith(SITEMAP_NS) for child in element)
    assert set(names) <= allowed, names
    assert len(names) == len(set(names)), names
    assert required <= set(names), names
    loc = element.find(f"{SITEMAP_NS}loc").text
    assert loc.startswith(ORIGIN + "/") and len(loc) <= 2048, loc
    lastmod = element.find(f"{SITEMAP_NS}lastmod")
    assert lastmod is None or W3C_DATE.match(lastmod.text), lastmod.text
    return loc


def sitemap_files(client):
    """The files `/sitemap.xml` (a sitemap index) lists, checked against the protocol."""
    index = xml(client, "/sitemap.xml")
    assert index.tag == f"{SITEMAP_NS}sitemapindex"
    files = [check_children(entry, {"loc", "lastmod"}, {"loc"}) for entry in index]
    assert all(entry.tag == f"{SITEMAP_NS}sitemap" for entry in index)
    assert files and len(files) == len(set(files))
    return files


def sitemap(client):
    """{URL: lastmod} of every URL in every sitemap file; each URL appears once, in files of at most 50,000."""
    listed = {}
    for file_url in sitemap_files(client):
        root = xml(client, file_url.removeprefix(ORIGIN))
        assert root.tag == f"{SITEMAP_NS}urlset"
        assert 1 <= len(root) <= PROTOCOL_MAX_URLS, file_url
        for url in root:
            assert url.tag == f"{SITEMAP_NS}url"
            loc = check_children(url, {"loc", "lastmod", "changefreq", "priority"}, {"loc"})
            changefreq, priority = url.find(f"{SITEMAP_NS}changefreq"), url.find(f"{SITEMAP_NS}priority")
            assert changefreq is None or changefreq.text in CHANGEFREQS
            assert priority is None or 0 <= float(priority.text) <= 1
            assert loc not in listed, f"{loc} is listed twice"
            listed[loc] = getattr(url.find(f"{SITEMAP_NS}lastmod"), "text", None)
    return listed


@pytest.fixture
def hidden(article_factory, category):
    """Drafts and scheduled articles, with a category and a tag that only they use."""
    secret = CategoryFactory(slug="secret-plans", name="Secret plans")
    return [
        article_factory(slug="a-draft", category=secret, draft=True, tags=["unannounced", "security"]),
        article_factory(slug="a-scheduled-one", category=category, scheduled=True, tags=["unannounced"]),
    ]


def test_the_sitemap_lists_exactly_the_public_urls(client, seeded, hidden):
    public = Article.objects.published()
    expected = (
        {reverse("articles:home")}
        | {article.get_absolute_url() for article in public}
        | {c.get_absolute_url() for c in Category.objects.filter(articles__in=public).distinct()}
        | {reverse("articles:tag", args=[t.slug]) for t in Tag.objects.filter(article__in=public).distinct()}
    )

    listed = sitemap(client)

    assert set(listed) == {ORIGIN + path for path in expected}
    assert len(listed) == len(expected)
    assert len([url for url in listed if "/articles/" in url]) == 52
    for gone in ["/articles/a-draft/", "/articles/a-scheduled-one/", "/categories/secret-plans/", "/tags/unannounced/"]:
        assert ORIGIN + gone not in listed


def test_the_sitemap_is_an_index_of_files_and_articles_fill_as_many_files_as_they_need(
    client, seeded, hidden, monkeypatch
):
    from articles.sitemaps import ArticleSitemap

    monkeypatch.setattr(ArticleSitemap, "limit", 20)  # 52 public articles: files of 20, 20 and 12

    files = sitemap_files(client)
    listed = sitemap(client)

    base = f"{ORIGIN}/sitemap-articles.xml"
    assert [f for f in files if f.startswith(base)] == [base, f"{base}?p=2", f"{base}?p=3"]
    sizes = [len(xml(client, f.removeprefix(ORIGIN))) for f in [base, f"{base}?p=2", f"{base}?p=3"]]
    assert sizes == [20, 20, 12]
    newest_first = [ORIGIN + a.get_absolute_url() for a in Article.objects.published().order_by("-published_at", "-id")]
    in_files = [
        url.find(f"{SITEMAP_NS}loc").text
        for f in [base, f"{base}?p=2", f"{base}?p=3"]
        for url in xml(client, f.removeprefix(ORIGIN))
    ]
    assert in_files == newest_first
    assert set(newest_first) <= set(listed)
    for page in ["4", "0", "-1", "x"]:
        assert client.get("/sitemap-articles.xml", {"p": page}).status_code == 404, page
    assert client.get("/sitemap-nothing.xml").status_code == 404


def test_an_empty_section_is_left_out_of_the_index(client, article_factory, category):
    article_factory(category=category)  # no tags: no tag is public

    files = sitemap_files(client)

    assert f"{ORIGIN}/sitemap-tags.xml" not in files
    assert client.get("/sitemap-tags.xml").status_code == 404
    assert f"{ORIGIN}/sitemap-articles.xml" in files


def test_a_scheduled_article_enters_the_sitemap_when_its_time_comes(client, article_factory, category):
    from datetime import timedelta

    from django.utils import timezone

    article_factory(category=category, tags=["api"])
    later = article_factory(slug="later", category=category, scheduled=True, tags=["api", "soon"])
    assert f"{ORIGIN}/articles/later/" not in sitemap(client)
    assert f"{ORIGIN}/tags/soon/" not in sitemap(client)

    # The clock passes its date; nothing is saved.
    Article.objects.filter(pk=later.pk).update(published_at=timezone.now() - timedelta(seconds=1))

    listed = sitemap(client)
    assert f"{ORIGIN}/articles/later/" in listed
    assert f"{ORIGIN}/tags/soon/" in listed


def test_articles_in_the_sitemap_carry_their_last_modification(client, article_factory, category):
    article = article_factory(slug="fresh", category=category)

    listed = sitemap(client)

    assert listed[f"{ORIGIN}/articles/fresh/"] == article.updated_at.date().isoformat()
    assert listed[f"{ORIGIN}/categories/product-engineering/"] == article.updated_at.date().isoformat()


def test_an_empty_category_is_not_in_the_sitemap(client, article_factory, category):
    CategoryFactory(slug="empty", name="Empty")
    article_factory(category=category)

    assert f"{ORIGIN}/categories/empty/" not in sitemap(client)


def test_robots_txt_points_to_the_sitemap_and_keeps_crawlers_out_of_admin_and_previews(client, db):
    response = client.get("/robots.txt")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    lines = response.content.decode().splitlines()
    assert lines[0] == "User-agent: *"
    assert "Disallow: /admin/" in lines
    assert "Disallow: /preview/" in lines
    assert f"Sitemap: {ORIGIN}/sitemap.xml" in lines
    assert not any(line in {"Disallow: /", "Disallow:"} for line in lines)


def test_robots_txt_covers_real_preview_links_and_admin_pages(client, article_factory, editor):
    preview = previews.create_preview_link(article=article_factory(draft=True), by=editor).get_absolute_url()
    lines = client.get("/robots.txt").content.decode().splitlines()
    disallowed = [line.removeprefix("Disallow: ") for line in lines if line.startswith("Disallow: ")]

    assert any(preview.startswith(prefix) for prefix in disallowed)
    assert any(reverse("admin:articles_article_changelist").startswith(prefix) for prefix in disallowed)
    assert not any(reverse("articles:article", args=["x"]).startswith(prefix) for prefix in disallowed)


# ---------------------------------------------------------------- head metadata


class Head(HTMLParser):
    """The <head>'s title, meta tags, links and JSON-LD."""

    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.titles, self.meta, self.links, self.json_ld = [], [], [], []
        self._in, self._text = None, ""
        self.feed(html.split("</head>")[0])

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "meta":
            self.meta.append(attrs)
        elif tag == "link":
            self.links.append(attrs)
        elif tag == "title" or (tag == "script" and attrs.get("type") == "application/ld+json"):
            self._in, self._text = tag, ""

    def handle_data(self, data):
        if self._in:
            self._text += data

    def handle_endtag(self, tag):
        if tag == self._in:
            (self.titles if tag == "title" else self.json_ld).append(self._text)
            self._in = None

    def named(self, name):
        return [m["content"] for m in self.meta if m.get("name") == name or m.get("property") == name]

    def one(self, name):
        (value,) = self.named(name)
        return value

    @property
    def canonicals(self):
        return [link["href"] for link in self.links if link.get("rel") == "canonical"]

    @property
    def all_data(self):
        return [json.loads(text) for text in self.json_ld]

    @property
    def data(self):
        """The page's main item: everything but its BreadcrumbList."""
        (main,) = [item for item in self.all_data if item["@type"] != "BreadcrumbList"]
        return main

    def alternates(self):
        return [link["href"] for link in self.links if link.get("rel") == "alternate"]


def head(client, url, **kwargs):
    response = client.get(url, **kwargs)
    assert response.status_code == 200, url
    return Head(response.content.decode())


def test_an_article_page_has_title_description_canonical_sharing_tags_and_tech_article_data(client, article_factory):
    author = UserFactory(username="grace", first_name="Grace", last_name="Hopper")
    article = article_factory(
        slug="idempotency-keys",
        title="Idempotency keys",
        summary="Make retries safe.",
        author=author,
        tags=["api", "reliability"],
        category=CategoryFactory(name="Product Engineering", slug="product-engineering"),
    )

    page = head(client, "/articles/idempotency-keys/?utm_source=newsletter&utm_medium=email&page=3")

    assert page.titles == ["Idempotency keys · kb"]
    assert page.one("description") == "Make retries safe."
    assert page.canonicals == [f"{ORIGIN}/articles/idempotency-keys/"]
    assert page.one("og:url") == f"{ORIGIN}/articles/idempotency-keys/"
    assert page.one("og:type") == "article"
    assert page.one("og:title") == "Idempotency keys"
    assert page.one("og:description") == "Make retries safe."
    assert page.one("twitter:card") == "summary_large_image"
    assert page.one("og:image").startswith(f"{ORIGIN}/articles/idempotency-keys/card-")
    assert page.one("og:image:width") == "1200"
    assert page.one("og:image:height") == "630"
    assert page.one("og:image:alt") == "“Idempotency keys” — Product Engineering, kb"
    assert page.one("twitter:title") == "Idempotency keys"
    assert page.one("twitter:description") == "Make retries safe."
    assert sorted(page.named("article:tag")) == ["api", "reliability"]
    assert page.named("robots") == []
    data = page.data
    assert data["@context"] == "https://schema.org"
    assert data["@type"] == "TechArticle"
    assert data["headline"] == "Idempotency keys"
    assert data["description"] == "Make retries safe."
    assert data["datePublished"].startswith(article.published_at.isoformat()[:19])
    assert data["dateModified"].startswith(article.updated_at.isoformat()[:19])
    assert data["author"] == {"@type": "Person", "name": "Grace Hopper"}
    assert sorted(data["keywords"]) == ["api", "reliability"]
    assert data["url"] == f"{ORIGIN}/articles/idempotency-keys/"


def test_an_article_without_author_names_the_site_as_author(client, article_factory):
    article_factory(slug="anonymous")

    assert head(client, "/articles/anonymous/").data["author"] == {
        "@type": "Organization",
        "name": "kb",
        "url": f"{ORIGIN}/",
    }


@pytest.mark.parametrize(
    "title",
    [
        "</script><script>alert(1)</script>",
        "Quotes \" and ' and back\\slashes",
        "<!-- comment --> & ampersands &amp; entities",
        "Line\u2028separators and émojis 🚀",
    ],
)
def test_json_ld_stays_valid_json_whatever_the_title_holds(client, article_factory, title):
    article_factory(slug="tricky", title=title, summary=f"About {title}")

    response = client.get("/articles/tricky/")
    html = response.content.decode()
    page = Head(html)

    assert page.data["headline"] == title
    assert page.data["description"] == f"About {title}"
    assert "<script>alert(1)</script>" not in html
    # The TechArticle and the BreadcrumbList, whose last step is the title too.
    scripts = re.findall(r"<script\b[^>]*>", html.split("</head>")[0])
    assert [tag for tag in scripts if 'type="application/ld+json"' in tag] == [
        '<script type="application/ld+json">'
    ] * 2
    assert all(" src=" in tag for tag in scripts if "ld+json" not in tag)  # the rest are static files
    assert page.all_data[1]["itemListElement"][-1]["name"] == title
    assert page.titles == [f"{title} · kb"]


def test_listing_pages_keep_only_a_later_page_number_in_their_canonical_url(client, seeded, article_factory, category):
    for _ in range(10):
        article_factory(category=category)  # 62 articles: two pages of 60
    base = f"{ORIGIN}/categories/product-engineering/"

    first = head(client, "/categories/product-engineering/?utm_campaign=x&ref=y")
    explicit_first = head(client, "/categories/product-engineering/?page=1")
    second = head(client, "/categories/product-engineering/?page=2&utm_source=z&sort=old")

    assert first.canonicals == [base]
    assert explicit_first.canonicals == [base]
    assert second.canonicals == [f"{base}?page=2"]
    assert second.one("og:url") == f"{base}?page=2"
    assert second.titles == ["Product Engineering — page 2 · kb"]
    assert second.data["@type"] == "CollectionPage"
    assert second.data["url"] == f"{base}?page=2"


def test_a_category_page_describes_itself(client, seeded):
    category = Category.objects.get(slug="product-engineering")

    page = head(client, "/categories/product-engineering/")

    assert page.titles == ["Product Engineering · kb"]
    assert page.one("description") == category.description
    assert page.one("og:title") == "Product Engineering"
    assert page.one("og:type") == "website"
    assert page.data["name"] == "Product Engineering"


def test_a_tag_page_describes_itself(client, seeded):
    page = head(client, "/tags/security/")

    assert page.titles == ["Tagged “security” · kb"]
    assert page.one("description") == "Articles tagged “security”, newest first."
    assert page.canonicals == [f"{ORIGIN}/tags/security/"]


def test_the_home_page_has_its_own_title_and_website_data(client, seeded):
    page = head(client, "/?utm_source=x")

    assert page.titles == ["Engineering knowledge base · kb"]
    assert page.canonicals == [f"{ORIGIN}/"]
    assert page.one("description")
    assert page.one("og:title") == "Engineering knowledge base"
    assert page.data["@type"] == "WebSite"
    assert page.data["potentialAction"]["target"]["urlTemplate"] == f"{ORIGIN}/search/?q={{search_term_string}}"


def test_search_pages_are_not_indexed_and_name_no_canonical(client, seeded):
    page = head(client, "/search/?q=jwt")

    assert page.named("robots") == ["noindex"]
    assert page.canonicals == []
    assert page.one("description")


def test_error_pages_are_not_indexed_and_name_no_canonical(client, db):
    response = client.get("/articles/no-such-article/")
    page = Head(response.content.decode())

    assert response.status_code == 404
    assert page.named("robots") == ["noindex"]
    assert page.canonicals == []


def test_drafts_shown_to_staff_and_previews_are_not_indexed(client, article_factory, staff_user, editor):
    draft = article_factory(slug="work-in-progress", draft=True)
    published = article_factory(slug="out-there")
    client.force_login(staff_user)

    previews_of = [previews.create_preview_link(article=a, by=editor).get_absolute_url() for a in (draft, published)]
    for url in ["/articles/work-in-progress/", *previews_of]:
        page = head(client, url)
        assert page.named("robots") == ["noindex"], url
        assert page.canonicals == [], url


def test_every_reader_page_has_exactly_one_title_description_and_canonical(client, seeded):
    for url in ["/", "/categories/product-engineering/", "/tags/api/", "/articles/rest-api-versioning-strategies/"]:
        page = head(client, url)
        assert len(page.titles) == 1, url
        assert len(page.named("description")) == 1, url
        assert len(page.canonicals) == 1, url
        assert page.canonicals[0] == ORIGIN + url, url
        assert unescape(page.one("og:url")) == page.canonicals[0], url


def test_only_published_articles_have_a_social_card(client, article_factory, staff_user, editor):
    draft = article_factory(slug="not-yet", draft=True)
    client.force_login(staff_user)

    for url in ["/articles/not-yet/", previews.create_preview_link(article=draft, by=editor).get_absolute_url()]:
        page = head(client, url)
        assert page.named("og:image") == [], url
        assert page.one("twitter:card") == "summary", url
        assert "image" not in page.data, url


def test_pages_other_than_articles_keep_the_small_summary_card(client, seeded):
    for url in ["/", "/categories/product-engineering/", "/tags/api/"]:
        page = head(client, url)
        assert page.one("twitter:card") == "summary", url
        assert page.named("og:image") == [], url


def test_category_and_tag_pages_list_their_own_feeds_before_the_sites(client, seeded):
    category = head(client, "/categories/product-engineering/")
    tag = head(client, "/tags/api/")
    home = head(client, "/")

    assert category.alternates() == [
        "/categories/product-engineering/feed/",
        "/categories/product-engineering/feed/atom/",
        "/feed/",
        "/feed/atom/",
    ]
    assert tag.alternates() == ["/tags/api/feed/", "/tags/api/feed/atom/", "/feed/", "/feed/atom/"]
    assert home.alternates() == ["/feed/", "/feed/atom/"]
    links = [link for link in category.links if link.get("rel") == "alternate"]
    assert links[0]["type"] == "application/rss+xml" and links[0]["title"] == "Product Engineering · kb (RSS)"


class Links(HTMLParser):
    """Every <a>'s href and text in the body."""

    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.links, self._href = [], None
        self.feed(html.split("<body")[1])

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self._href, self._text = dict(attrs).get("href"), ""

    def handle_data(self, data):
        if self._href is not None:
            self._text += data

    def handle_endtag(self, tag):
        if tag == "a" and self._href is not None:
            self.links.append((self._href, " ".join(self._text.split())))
            self._href = None


def test_every_reader_page_shows_a_feed_link_and_listings_show_their_own(client, seeded):
    for url in ["/", "/articles/rest-api-versioning-strategies/", "/search/?q=api"]:
        links = Links(client.get(url).content.decode()).links
        assert ("/feed/", "RSS feed") in links, url
        assert ("/feed/atom/", "Atom feed") in links, url

    category = Links(client.get("/categories/product-engineering/").content.decode()).links
    tag = Links(client.get("/tags/api/").content.decode()).links
    assert ("/categories/product-engineering/feed/", "RSS feed") in category
    assert ("/tags/api/feed/atom/", "Atom feed") in tag
    for feed in ["/categories/product-engineering/feed/", "/tags/api/feed/atom/", "/feed/"]:
        assert client.get(feed).status_code == 200, feed


def test_favicon_ico_is_served_where_browsers_ask_and_named_in_the_head(client, db):
    from PIL import Image

    response = client.get("/favicon.ico")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/vnd.microsoft.icon"
    assert "max-age=86400" in response["Cache-Control"]
    icon = Image.open(io.BytesIO(response.content))
    assert icon.format == "ICO"
    assert {(16, 16), (32, 32), (48, 48)} <= icon.info["sizes"]
    page = head(client, "/")
    icons = [link["href"] for link in page.links if link.get("rel") == "icon"]
    assert icons == ["/favicon.ico", "/static/favicon.svg"]
    touch = [link["href"] for link in page.links if link.get("rel") == "apple-touch-icon"]
    assert touch == ["/static/apple-touch-icon.png"]
    from django.contrib.staticfiles import finders

    assert Image.open(finders.find("apple-touch-icon.png")).size == (180, 180)
    assert client.head("/favicon.ico").status_code == 200
    assert client.post("/favicon.ico").status_code == 405


def stylesheets(page):
    return [link["href"] for link in page.links if link.get("rel") == "stylesheet"]


def test_the_code_stylesheet_is_linked_only_on_articles_with_code_blocks(client, article_factory):
    article_factory(slug="with-code", body="Intro.\n\n```python\nprint('hi')\n```\n")
    article_factory(slug="unknown-language", body="```brainfuck\n+++.\n```\n")
    article_factory(slug="indented-code", body="Intro.\n\n    plain indented code\n")
    article_factory(slug="prose-only", body="Just words, and `inline code`.\n\n> A quote.")

    for slug in ["with-code", "unknown-language", "indented-code"]:
        assert "/static/css/pygments.css" in stylesheets(head(client, f"/articles/{slug}/")), slug
    assert stylesheets(head(client, "/articles/prose-only/")) == ["/static/css/site.css"]
    for url in ["/", "/search/?q=code"]:
        assert "/static/css/pygments.css" not in stylesheets(head(client, url)), url
