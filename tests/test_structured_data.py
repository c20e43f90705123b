"""JSON-LD on article pages: a TechArticle with its card, the author as a Person, a BreadcrumbList like the page's."""

import json
import re
from html.parser import HTMLParser

import pytest

from articles.models import Article
from tests.factories import CategoryFactory, UserFactory

pytestmark = pytest.mark.django_db

ORIGIN = "http://testserver"
ABSOLUTE = re.compile(r"^https?://[^\s/]+/\S*$")


class Page(HTMLParser):
    """The JSON-LD elements, head meta tags, and the visible breadcrumb's links of a page."""

    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.scripts, self.meta, self.crumbs, self.h1 = [], {}, [], ""
        self._script = self._crumb = self._in_nav = self._in_h1 = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and attrs.get("type") == "application/ld+json":
            self._script, self._text = True, ""
        elif tag == "meta" and "property" in attrs:
            self.meta.setdefault(attrs["property"], attrs["content"])
        elif tag == "nav" and attrs.get("aria-label") == "Breadcrumb":
            self._in_nav = True
        elif tag == "a" and self._in_nav:
            self._crumb, self._href, self._text = True, attrs["href"], ""
        elif tag == "h1":
            self._in_h1 = True

    def handle_data(self, data):
        if self._script or self._crumb:
            self._text += data
        if self._in_h1:
            self.h1 += data

    def handle_endtag(self, tag):
        if tag == "script" and self._script:
            self.scripts.append(self._text)
            self._script = False
        elif tag == "a" and self._crumb:
            self.crumbs.append((self._text, self._href))
            self._crumb = False
        elif tag == "nav":
            self._in_nav = False
        elif tag == "h1":
            self._in_h1 = False

    def items(self):
        return {item["@type"]: item for item in map(json.loads, self.scripts)}


def page(client, article) -> Page:
    response = client.get(article.get_absolute_url())
    assert response.status_code == 200
    return Page(response.content.decode())


def check_person_or_organization(value):
    assert value["@type"] in {"Person", "Organization"}
    assert isinstance(value["name"], str) and value["name"]
    if value["@type"] == "Organization":
        assert ABSOLUTE.match(value["url"])


def check_tech_article(data, article):
    """The shape schema.org and Google's Article rich result expect."""
    assert data["@context"] == "https://schema.org"
    assert data["@type"] == "TechArticle"
    assert data["headline"] == article.title
    assert isinstance(data["description"], str)
    for key in ("url",):
        assert ABSOLUTE.match(data[key]), key
    assert data["mainEntityOfPage"] == {"@type": "WebPage", "@id": data["url"]}
    check_person_or_organization(data["author"])
    check_person_or_organization(data["publisher"])
    assert isinstance(data["wordCount"], int)
    assert re.fullmatch(r"PT\d+M", data["timeRequired"])
    image = data["image"]
    assert image["@type"] == "ImageObject"
    assert ABSOLUTE.match(image["url"]) and image["url"].endswith(".png")
    assert (image["width"], image["height"]) == (1200, 630)
    assert isinstance(image["caption"], str)


def check_breadcrumbs(data):
    assert data["@context"] == "https://schema.org"
    assert data["@type"] == "BreadcrumbList"
    items = data["itemListElement"]
    assert len(items) >= 2
    for position, item in enumerate(items, start=1):
        assert item["@type"] == "ListItem"
        assert item["position"] == position
        assert isinstance(item["name"], str) and item["name"]
        assert ABSOLUTE.match(item["item"])
    return items


def test_every_seed_article_has_valid_article_and_breadcrumb_data(client, seeded):
    articles = list(Article.objects.published().select_related("category"))
    assert len(articles) == 52
    for article in articles:
        shown = page(client, article)
        items = shown.items()
        assert set(items) == {"TechArticle", "BreadcrumbList"}, article.slug
        check_tech_article(items["TechArticle"], article)
        check_breadcrumbs(items["BreadcrumbList"])
        assert items["TechArticle"]["image"]["url"] == shown.meta["og:image"]


def test_the_breadcrumb_data_is_the_visible_breadcrumb_then_the_page_itself(client, article_factory):
    category = CategoryFactory(name="Reliability & Ops", slug="reliability")
    article = article_factory(slug="retries", title="Retries with back-off", category=category)

    shown = page(client, article)
    items = check_breadcrumbs(shown.items()["BreadcrumbList"])

    assert shown.crumbs == [("Home", "/"), ("Reliability & Ops", "/categories/reliability/")]
    assert [(item["name"], item["item"]) for item in items[:-1]] == [
        (name, ORIGIN + href) for name, href in shown.crumbs
    ]
    assert items[-1] == {
        "@type": "ListItem",
        "position": 3,
        "name": "Retries with back-off",
        "item": f"{ORIGIN}/articles/retries/",
    }
    assert shown.h1 == items[-1]["name"]
    for _, href in shown.crumbs:
        assert client.get(href).status_code == 200


def test_the_author_is_a_person_when_the_article_has_one(client, article_factory):
    named = article_factory(author=UserFactory(username="ada", first_name="Ada", last_name="Lovelace"))
    username_only = article_factory(author=UserFactory(username="grace"))
    nobody = article_factory(author=None)

    assert page(client, named).items()["TechArticle"]["author"] == {"@type": "Person", "name": "Ada Lovelace"}
    assert page(client, username_only).items()["TechArticle"]["author"] == {"@type": "Person", "name": "grace"}
    assert page(client, nobody).items()["TechArticle"]["author"] == {
        "@type": "Organization",
        "name": "kb",
        "url": f"{ORIGIN}/",
    }


def test_the_image_is_the_card_and_it_is_served(client, article_factory, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    article = article_factory()

    image = page(client, article).items()["TechArticle"]["image"]

    assert client.get(image["url"].removeprefix(ORIGIN)).status_code == 200
    assert image["caption"] == f"“{article.title}” — {article.category.name}, kb"


HOSTILE_TITLES = [
    "</script><script>alert(1)</script>",
    "<!-- <script> --> & &amp; \" '",
    "Line\u2028separator\u2029 and \\ backslash",
    "مرحبا بالعالم: right-to-left \u202e override",
    "Emoji 🚀🔥 and ZWJ 👩\u200d💻 sequences",
    "W" * 200,
]


@pytest.mark.parametrize("title", HOSTILE_TITLES)
def test_hostile_titles_stay_inside_their_json_ld_and_round_trip(client, article_factory, title):
    category = CategoryFactory(name=f"</script>{title[:20]}", slug="hostile")
    article = article_factory(slug="hostile", title=title, summary=f"About {title}", category=category)

    html = client.get(article.get_absolute_url()).content.decode()
    shown = Page(html)
    items = shown.items()

    assert len(shown.scripts) == 2  # nothing in a title opened or closed a script element
    for text in shown.scripts:
        assert "</script" not in text.lower() and "<!--" not in text
    assert items["TechArticle"]["headline"] == title
    assert items["TechArticle"]["description"] == f"About {title}"
    assert items["TechArticle"]["articleSection"] == category.name
    names = [item["name"] for item in check_breadcrumbs(items["BreadcrumbList"])]
    assert names == ["Home", category.name, title]
    assert shown.crumbs[1] == (category.name, "/categories/hostile/")
    assert "<script>alert(1)</script>" not in html
