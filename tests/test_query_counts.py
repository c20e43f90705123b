import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def make_articles(article_factory, category, count):
    for _ in range(count):
        article_factory(category=category, tags=["api", "security", "testing"])


@pytest.mark.parametrize("count", [52, 300])
@pytest.mark.parametrize(
    "url_name, args",
    [("articles:home", []), ("articles:category", ["product-engineering"]), ("articles:tag", ["api"])],
)
def test_list_views_run_a_fixed_number_of_queries(
    client, article_factory, category, django_assert_max_num_queries, count, url_name, args
):
    make_articles(article_factory, category, count)
    url = reverse(url_name, args=args)
    client.get(url)  # warm the content-type cache
    with django_assert_max_num_queries(6):
        response = client.get(url)
    assert response.status_code == 200


def test_listing_query_count_does_not_grow_with_articles(client, article_factory, category, django_assert_num_queries):
    make_articles(article_factory, category, 5)
    url = reverse("articles:category", args=["product-engineering"])
    client.get(url)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(url)
    make_articles(article_factory, category, 55)
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(many) == len(few)


def test_article_page_runs_a_fixed_number_of_queries(client, article_factory, category, django_assert_max_num_queries):
    make_articles(article_factory, category, 60)
    article = article_factory(category=category, tags=["api"])
    client.get(article.get_absolute_url())
    with django_assert_max_num_queries(9):  # 8, and "Referenced by" (#16)
        assert client.get(article.get_absolute_url()).status_code == 200


# ---------------------------------------------------------------- at 52 and at 5,000 articles


def bulk_articles(category, count):
    """`count` public articles in `category`, tagged api/security/testing (+ one rarer tag), written in bulk.

    Rendered once and copied: the pages read stored HTML, so this is what 5,000
    saved articles look like to them, in seconds rather than minutes.
    """
    from datetime import timedelta

    from django.contrib.contenttypes.models import ContentType
    from django.utils import timezone
    from taggit.models import Tag, TaggedItem

    from articles.models import Article

    template = Article(body="## Introduction\n\nSome words.\n\n```python\nprint('hello')\n```\n")
    template.render()
    derived = {field: getattr(template, field) for field in Article.DERIVED_FIELDS}
    now = timezone.now()
    articles = Article.objects.bulk_create(
        Article(
            title=f"Bulk article {n}",
            slug=f"bulk-article-{n}",
            summary="A short plain-text summary.",
            body=template.body,
            category=category,
            status=Article.Status.PUBLISHED,
            published_at=now - timedelta(days=1, minutes=n),
            **derived,
        )
        for n in range(count)
    )
    tags = [Tag.objects.get_or_create(name=name, slug=name)[0] for name in ["api", "security", "testing"]]
    rare = [Tag.objects.get_or_create(name=f"rare-{n}", slug=f"rare-{n}")[0] for n in range(10)]
    content_type = ContentType.objects.get_for_model(Article)
    TaggedItem.objects.bulk_create(
        TaggedItem(tag=tag, content_type=content_type, object_id=article.pk)
        for n, article in enumerate(articles)
        for tag in [*tags, rare[n % 10]]
    )
    return articles


# Every reader page, feed and sitemap file, with the number of queries it runs at any size.
# Every HTML page also reads the categories for the site's navigation.
PAGES = {
    "/": 6,  # categories with counts, latest 8, their tags, scheduled ids, popular tags
    "/categories/product-engineering/": 5,  # category, count, page, its tags
    "/categories/product-engineering/?page=last": 6,  # + the key of the page's first article
    "/tags/api/": 6,  # tag, scheduled ids, count, page, its tags
    "/tags/api/?page=last": 7,
    "/articles/{slug}/": 9,  # article, tags, rarest tags, their latest articles, related, previous, next, referenced by
    "/feed/": 2,  # articles, their tags
    "/feed/atom/": 2,
    "/categories/product-engineering/feed/": 3,
    "/tags/api/feed/": 5,  # tag, scheduled ids, count, articles, their tags
    "/tags/rare-3/feed/": 5,
    "/sitemap.xml": 5,  # the articles' count (2), categories', scheduled ids, tags'
    "/sitemap-home.xml": 0,
    "/sitemap-articles.xml": 3,  # count (2), the articles
    "/sitemap-articles.xml?p=last": 4,  # + the key
    "/sitemap-categories.xml": 2,
    "/sitemap-tags.xml": 3,
}


@pytest.mark.parametrize("count", [52, 5000])
def test_every_page_runs_the_same_queries_at_52_and_at_5000_articles(
    client, category, count, monkeypatch, django_assert_num_queries
):
    from math import ceil

    from articles.sitemaps import ArticleSitemap

    monkeypatch.setattr(ArticleSitemap, "limit", 20)  # several sitemap files at either size
    articles = bulk_articles(category, count)
    middle = articles[count // 2]
    last_page, last_file = ceil(count / 60), ceil(count / 20)
    client.get("/")  # warm the content-type cache
    for template, queries in PAGES.items():
        url = template.format(slug=middle.slug)
        url = url.replace("?page=last", f"?page={last_page}").replace("?p=last", f"?p={last_file}")
        if url.endswith("?page=1"):
            queries -= 1  # 52 articles fit on one page: its first article needs no key
        with django_assert_num_queries(queries):
            response = client.get(url)
        assert response.status_code == 200, url
