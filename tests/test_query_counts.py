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
    with django_assert_max_num_queries(8):
        assert client.get(article.get_absolute_url()).status_code == 200
