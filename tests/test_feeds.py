import re
from datetime import UTC, datetime, timedelta
from html import unescape
from xml.etree import ElementTree

import feedparser
import pytest
from django.urls import reverse
from django.utils import timezone

from articles.feeds import feed_html
from articles.models import Article
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SITE_FEEDS = ["articles:feed", "articles:feed-atom"]


def parse(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    feed = feedparser.parse(response.content)
    assert not feed.bozo, f"{url}: {feed.get('bozo_exception')!r}"
    return response, feed


def displayed(value, detail):
    """What a feed reader shows for a text construct: HTML is rendered, text is shown as is."""
    return unescape(value) if detail.type == "text/html" else value


def raw_contents(response):
    """The full-content element of each entry, as sent (feedparser rewrites HTML)."""
    root = ElementTree.fromstring(response.content)
    found = root.iter("{http://purl.org/rss/1.0/modules/content/}encoded")
    found = list(found) or [e for e in root.iter("{http://www.w3.org/2005/Atom}content") if e.get("type") == "html"]
    return [element.text for element in found]


def entry_paths(feed):
    return [entry.link.removeprefix("http://testserver") for entry in feed.entries]


def newest_public(queryset, count=20):
    return [a.get_absolute_url() for a in queryset.published().order_by("-published_at", "-id")[:count]]


@pytest.fixture
def hidden(article_factory, category):
    """A draft and a scheduled article that must never appear, tagged like public ones."""
    return [
        article_factory(slug="secret-draft", category=category, draft=True, tags=["security"]),
        article_factory(
            slug="future-article",
            category=category,
            scheduled=True,
            tags=["security"],
            published_at=timezone.now() + timedelta(hours=1),
        ),
    ]


@pytest.mark.parametrize("url_name", SITE_FEEDS)
def test_site_feeds_parse_clean_and_hold_the_newest_20_public_articles(client, seeded, hidden, url_name):
    response, feed = parse(client, reverse(url_name))

    assert entry_paths(feed) == newest_public(Article.objects)
    assert not {"/articles/secret-draft/", "/articles/future-article/"} & set(entry_paths(feed))
    assert feed.feed.title == "kb: latest articles"
    assert feed.feed.link == "http://testserver/"


def test_rss_and_atom_feeds_have_their_own_content_types(client, seeded):
    assert client.get(reverse("articles:feed"))["Content-Type"].startswith("application/rss+xml")
    assert client.get(reverse("articles:feed-atom"))["Content-Type"].startswith("application/atom+xml")


@pytest.mark.parametrize("url_name", ["articles:category-feed", "articles:category-feed-atom"])
def test_category_feeds_hold_only_that_categorys_public_articles(
    client, seeded, hidden, article_factory, category, url_name
):
    other = article_factory(slug="elsewhere", category__slug="elsewhere", category__name="Elsewhere")

    _, feed = parse(client, reverse(url_name, args=["product-engineering"]))

    assert entry_paths(feed) == newest_public(Article.objects.filter(category=category))
    assert other.get_absolute_url() not in entry_paths(feed)
    assert feed.feed.title == "Product Engineering · kb"
    _, elsewhere = parse(client, reverse(url_name, args=["elsewhere"]))
    assert entry_paths(elsewhere) == ["/articles/elsewhere/"]


@pytest.mark.parametrize("url_name", ["articles:tag-feed", "articles:tag-feed-atom"])
def test_tag_feeds_hold_only_public_articles_with_that_tag(client, seeded, hidden, url_name):
    _, feed = parse(client, reverse(url_name, args=["security"]))

    expected = newest_public(Article.objects.filter(tags__slug="security"))
    assert 0 < len(expected) < 20
    assert entry_paths(feed) == expected


@pytest.mark.parametrize(
    "url_name", ["articles:category-feed", "articles:category-feed-atom", "articles:tag-feed", "articles:tag-feed-atom"]
)
def test_feeds_of_unknown_categories_and_tags_are_404(client, db, url_name):
    assert client.get(reverse(url_name, args=["no-such-thing"])).status_code == 404


@pytest.mark.parametrize("url_name", ["articles:tag-feed", "articles:tag-feed-atom"])
def test_a_tag_only_drafts_use_has_no_feed(client, article_factory, url_name):
    article_factory(draft=True, tags=["unreleased-product"])
    article_factory(scheduled=True, tags=["unreleased-product"])

    assert client.get(reverse(url_name, args=["unreleased-product"])).status_code == 404


@pytest.mark.parametrize("url_name", SITE_FEEDS)
def test_an_entry_has_the_full_html_author_dates_category_and_tags(client, article_factory, category, url_name):
    author = UserFactory(username="ada", first_name="Ada", last_name="Lovelace")
    published = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    article = article_factory(
        title="Retries & <idempotency>",
        summary="When to retry & when not to.",
        body="## Keys\n\nUse an **idempotency key**.\n\n```python\nretry()\n```\n",
        category=category,
        author=author,
        published_at=published,
        tags=["api", "reliability"],
    )

    response, feed = parse(client, reverse(url_name))
    (entry,) = feed.entries

    assert displayed(entry.title, entry.title_detail) == "Retries & <idempotency>"
    assert displayed(entry.summary, entry.summary_detail) == "When to retry & when not to."
    # The whole sanitised body, as the article page has it, made for feed
    # readers: absolute links, code without Pygments' spans, no permalinks.
    assert raw_contents(response) == [feed_html(article, "http://testserver")]
    assert "<strong>idempotency key</strong>" in entry.content[0].value
    assert "<pre><code>retry()\n</code></pre>" in raw_contents(response)[0]
    assert entry.author == "Ada Lovelace"
    assert datetime(*entry.published_parsed[:6], tzinfo=UTC) == published
    assert {tag.term for tag in entry.tags} == {"Product Engineering", "api", "reliability"}


def test_atom_entries_say_when_an_article_was_last_updated(client, article_factory):
    # RSS 2.0 has no element for it; Atom does.
    article = article_factory(published_at=datetime(2026, 3, 1, 9, 30, tzinfo=UTC))

    _, feed = parse(client, reverse("articles:feed-atom"))

    updated = datetime(*feed.entries[0].updated_parsed[:6], tzinfo=UTC)
    assert updated == article.updated_at.replace(microsecond=0)
    assert updated > datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def test_entry_ids_survive_a_change_of_slug(client, article_factory):
    article = article_factory(slug="old-name")
    _, before = parse(client, reverse("articles:feed-atom"))
    article.slug = "new-name"
    article.save()
    _, after = parse(client, reverse("articles:feed-atom"))

    assert before.entries[0].id == after.entries[0].id
    assert before.entries[0].link != after.entries[0].link


def test_root_relative_links_and_images_in_bodies_become_absolute(client, article_factory):
    article_factory(body="See [the other one](/articles/other/) and ![diagram](/media/images/d.png).\n")

    _, feed = parse(client, reverse("articles:feed"))
    content = feed.entries[0].content[0].value

    assert 'href="http://testserver/articles/other/"' in content
    assert 'src="http://testserver/media/images/d.png"' in content


def test_an_empty_site_still_has_valid_feeds(client, db):
    for url_name in SITE_FEEDS:
        _, feed = parse(client, reverse(url_name))
        assert feed.entries == []


def links(html):
    return re.findall(r'<link rel="alternate" type="([^"]+)" title="[^"]*" href="([^"]+)">', html)


def test_every_page_announces_the_site_feeds(client, seeded):
    for url in [reverse("articles:home"), reverse("search:search"), "/articles/rest-api-versioning-strategies/"]:
        html = client.get(url).content.decode()
        head = html.split("</head>")[0]
        assert ("application/rss+xml", "/feed/") in links(head), url
        assert ("application/atom+xml", "/feed/atom/") in links(head), url


def test_category_and_tag_pages_also_announce_their_own_feeds(client, seeded):
    category_head = client.get(reverse("articles:category", args=["product-engineering"])).content.decode()
    tag_head = client.get(reverse("articles:tag", args=["security"])).content.decode()

    assert ("application/rss+xml", "/categories/product-engineering/feed/") in links(category_head)
    assert ("application/atom+xml", "/categories/product-engineering/feed/atom/") in links(category_head)
    assert ("application/rss+xml", "/tags/security/feed/") in links(tag_head)
    assert ("application/atom+xml", "/tags/security/feed/atom/") in links(tag_head)
    assert not any("/tags/" in href for _, href in links(category_head))


def test_every_announced_feed_parses_clean(client, seeded):
    html = client.get(reverse("articles:tag", args=["security"])).content.decode()
    announced = [href for _, href in links(html)]

    assert len(announced) == 4
    for href in announced:
        _, feed = parse(client, href)
        assert feed.entries


@pytest.mark.parametrize("url_name", SITE_FEEDS)
def test_titles_are_escaped_once(client, article_factory, url_name):
    article_factory(title='Don\'t retry "blindly" & often')

    response, feed = parse(client, reverse(url_name))

    assert displayed(feed.entries[0].title, feed.entries[0].title_detail) == 'Don\'t retry "blindly" & often'
    assert b"&amp;#x27;" not in response.content and b"&#x27;" not in response.content


def test_seed_feed_has_no_links_into_the_feed_itself_and_no_token_spans(client, seeded):
    response = client.get(reverse("articles:feed"))
    contents = raw_contents(response)

    assert len(contents) == 20
    for content in contents:
        assert 'href="#' not in content
        assert "<span class=" not in content
        assert 'class="headerlink"' not in content
    # Code is still there, as plain text.
    assert sum(content.count("<pre><code>") for content in contents) > 20


def test_in_page_links_in_a_feed_point_into_the_article(client, article_factory):
    article = article_factory(body="## Setup\n\nSee [above](#h-setup) and a note.[^1]\n\n[^1]: Source.")

    _, feed = parse(client, reverse("articles:feed"))
    content = feed.entries[0].content[0].value
    page = f"http://testserver{article.get_absolute_url()}"

    assert f'href="{page}#h-setup"' in content
    assert f'href="{page}#h-fn-1"' in content
    assert f'href="{page}#h-fnref-1"' in content
