import re
from datetime import timedelta
from html import unescape

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.test_seed import seed_listing

pytestmark = pytest.mark.django_db


def cards(html):
    """(slug, title, summary) for each result card, in page order."""
    found = re.findall(
        r'data-article="([^"]+)">\s*<h\d class="card-title"><a href="[^"]+">(.*?)</a>'
        r'.*?<p class="card-summary">(.*?)</p>',
        html,
        re.S,
    )
    return [(slug, unescape(title), unescape(summary)) for slug, title, summary in found]


def test_category_page_reproduces_the_seed_listing(client, seeded):
    response = client.get(reverse("articles:category", args=["product-engineering"]))
    html = response.content.decode()
    assert response.status_code == 200
    assert re.findall(r"<h1[^>]*>(.*?)</h1>", html, re.S) == ["Product Engineering"]
    assert 'data-result-count="52"' in html
    assert "52 results" in html
    assert [(title, summary) for _, title, summary in cards(html)] == seed_listing()


def test_every_seed_article_page_has_its_title_highlighted_code_and_toc(client, seeded):
    from articles.models import Article

    for article in Article.objects.published():
        html = client.get(article.get_absolute_url()).content.decode()
        assert [unescape(h1) for h1 in re.findall(r"<h1[^>]*>(.*?)</h1>", html, re.S)] == [article.title]
        assert 'class="toc"' in html, article.slug
        assert '<div class="highlight">' in html, article.slug


def test_article_page_shows_meta_tags_related_and_neighbours(client, seeded):
    html = client.get(reverse("articles:article", args=["rest-api-versioning-strategies"])).content.decode()
    assert "min read" in html
    assert 'href="/categories/product-engineering/"' in html
    assert 'class="tag"' in html
    assert "Related articles" in html
    # Newest first: the JWT article is newer, the progressive delivery one older.
    assert 'rel="next" href="/articles/jwt-authentication-implementation-and-security-patterns/"' in html
    assert 'rel="prev" href="/articles/progressive-delivery-feature-flags-canary-and-dark-launching/"' in html


def test_tag_page_lists_public_articles_with_that_tag(client, seeded):
    from articles.models import Article

    html = client.get(reverse("articles:tag", args=["security"])).content.decode()
    expected = Article.objects.published().filter(tags__slug="security").count()
    assert expected > 0
    assert f'data-result-count="{expected}"' in html
    assert len(cards(html)) == expected


def test_home_lists_categories_with_counts_and_latest_articles(client, seeded):
    html = client.get(reverse("articles:home")).content.decode()
    assert "Product Engineering" in html
    assert "52 articles" in html
    assert 'data-article="jwt-authentication-implementation-and-security-patterns"' in html


def test_listing_paginates_at_60(client, article_factory, category):
    article_factory.create_batch(61, category=category)
    url = category.get_absolute_url()
    first = client.get(url).content.decode()
    assert len(cards(first)) == 60
    second = client.get(url, {"page": 2}).content.decode()
    assert len(cards(second)) == 1
    assert 'data-result-count="61"' in second


@pytest.mark.parametrize("page", ["0", "-1", "abc", "1.5", "2", "99999999999999999999", "\x00", "last", ""])
def test_a_bad_or_missing_page_is_a_404_with_a_helpful_message(client, article_factory, category, page):
    article_factory(category=category)
    response = client.get(category.get_absolute_url(), {"page": page})
    if page == "":
        assert response.status_code == 200
        return
    assert response.status_code == 404
    assert "couldn’t find that page" in response.content.decode()


def test_out_of_range_page_says_which_pages_exist(client, article_factory, category):
    article_factory(category=category)
    response = client.get(category.get_absolute_url(), {"page": 3})
    assert response.status_code == 404
    assert "the last page is 1" in response.content.decode()


@pytest.mark.parametrize(
    "path",
    [
        "/articles/does-not-exist/",
        "/categories/nope/",
        "/tags/nope/",
        "/articles/a%00b/",
        "/categories/%00/",
        "/articles/%C0%AF/",
        "/articles/" + "a" * 5000 + "/",
        "/no-such-page/",
    ],
)
def test_unknown_or_odd_paths_are_404_in_the_site_design(client, seeded, path):
    response = client.get(path)
    assert response.status_code == 404
    html = response.content.decode()
    assert "couldn’t find that page" in html
    assert 'role="search"' in html


def test_nul_bytes_in_query_parameters_do_not_cause_errors(client, seeded):
    for url in ["/", "/categories/product-engineering/", "/tags/api/", "/search/"]:
        response = client.get(url, {"q": "a\x00b", "page": "1\x00"})
        assert response.status_code in (200, 400, 404), url


def test_pages_are_accessible_landmarks_and_labels(client, seeded):
    html = client.get(reverse("articles:category", args=["product-engineering"])).content.decode()
    assert '<html lang="en">' in html
    assert "<main" in html and "<header" in html and "<footer" in html and "<nav" in html
    assert '<label for="site-search"' in html
    assert 'class="skip-link"' in html


def test_a_tag_with_accents_gets_an_ascii_slug_and_working_pages(client, article_factory):
    article = article_factory(tags=["café", "Ünïcode"])
    assert sorted(tag.slug for tag in article.tags.all()) == ["cafe", "unicode"]
    assert client.get(article.get_absolute_url()).status_code == 200
    assert client.get(reverse("articles:tag", args=["cafe"])).status_code == 200


def meta_line(html):
    return re.search(r'<p class="article-meta">(.*?)</p>', html, re.S).group(1)


def test_an_article_changed_days_after_publishing_shows_when(client, article_factory):
    article = article_factory(published_at=timezone.now() - timedelta(days=10))
    article.title = "Corrected"
    article.save()
    meta = meta_line(client.get(article.get_absolute_url()).content.decode())
    assert f'Updated <time datetime="{timezone.localtime(article.updated_at):%Y-%m-%dT%H:%M:%S%z}"' in meta


def test_an_article_untouched_since_publishing_shows_no_updated_date(client, article_factory):
    article = article_factory(published_at=timezone.now() - timedelta(minutes=5))
    meta = meta_line(client.get(article.get_absolute_url()).content.decode())
    assert "Published" in meta
    assert "Updated" not in meta


@pytest.mark.parametrize("page", ["home", "category", "tag", "search"])
def test_cards_escape_titles_summaries_and_tag_names(client, category, article_factory, page):
    article = article_factory(
        category=category,
        title='Quoting <script>alert("t")</script> & friends',
        summary="<img src=x onerror=alert(1)> summary",
        tags=["<b>bold</b>"],
    )
    url = {
        "home": reverse("articles:home"),
        "category": reverse("articles:category", args=[category.slug]),
        "tag": reverse("articles:tag", args=[article.tags.get().slug]),
        "search": reverse("search:search") + "?q=quoting",
    }[page]
    html = client.get(url).content.decode()
    assert "<script>alert" not in html and "<img src=x" not in html and "<b>bold</b>" not in html
    assert "Quoting &lt;script&gt;alert(&quot;t&quot;)&lt;/script&gt; &amp; friends" in html
    assert "&lt;img src=x onerror=alert(1)&gt; summary" in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html
    assert [(title, summary) for _, title, summary in cards(html)] == [(article.title, article.summary)]
