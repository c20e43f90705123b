"""The admin's article list stays bounded at any number of articles (#14): search through the full-text index,
estimated counts past a threshold, a tag filter that never lists every tag, a calendar date drill-down,
category counts from indexes. bench/admin_timings.py times the pages at 100,000 articles."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from articles import admin_changelist
from articles.admin_changelist import ApproximateCount, EstimatedCountPaginator, prefix_query
from articles.models import Article

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:articles_article_changelist")


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


def listed(client, **params):
    response = client.get(CHANGELIST, params)
    assert response.status_code == 200
    return response.content.decode()


def test_the_last_word_is_a_prefix_and_the_others_are_whole_words():
    assert prefix_query("circuit brea") == "circuit & brea:*"
    assert prefix_query("Circuit") == "circuit:*"
    assert prefix_query("go to") == "go & to"  # too short to be a useful prefix
    assert prefix_query("it's <b>&|!") == "it & s & b"  # only words reach to_tsquery
    assert prefix_query("&|!:*") is None


def test_search_finds_words_as_typed_so_far_in_title_summary_body_and_tags(editor_client, article_factory):
    article_factory(title="Circuit breakers", slug="circuit-breakers")
    article_factory(title="Queues", summary="Backpressure explained.")
    article_factory(title="Platypus facts", body="Monotremes lay eggs.", draft=True)
    article_factory(title="Tagged one", tags=["observability"])
    article_factory(title="Unrelated")
    assert "Circuit breakers" in listed(editor_client, q="circ")
    assert "Queues" in listed(editor_client, q="backpress")
    assert "Platypus facts" in listed(editor_client, q="monotrem")  # drafts too: this is the editors' list
    assert "Tagged one" in listed(editor_client, q="observ")
    page = listed(editor_client, q="circuit brea")
    assert "Circuit breakers" in page and "Unrelated" not in page and "Queues" not in page


def test_search_finds_an_article_by_slug_pasted_address_or_id(editor_client, article_factory):
    wanted = article_factory(title="Retries with backoff", slug="retries-with-backoff")
    article_factory(title="Retries everywhere", slug="something-else", summary="Retries with backoff, again.")
    by_slug = listed(editor_client, q="retries-with-back")
    assert "Retries with backoff" in by_slug and "Retries everywhere" not in by_slug
    by_url = listed(editor_client, q="https://kb.example.com/articles/retries-with-backoff/")
    assert "Retries with backoff" in by_url and "Retries everywhere" not in by_url
    by_id = listed(editor_client, q=str(wanted.pk))
    assert "Retries with backoff" in by_id and "Retries everywhere" not in by_id


def test_search_runs_one_indexed_condition_not_an_ilike_over_bodies(editor_client, article_factory):
    article_factory(title="Circuit breakers")
    with CaptureQueriesContext(connection) as queries:
        listed(editor_client, q="circuit")
    sql = " ".join(query["sql"] for query in queries)
    assert "search_vector" in sql and "@@" in sql
    assert "LIKE" not in sql.upper().replace("SLUG", "")  # no '%…%' over title, summary or body


def test_an_authors_search_still_shows_only_their_own_articles(author_client, author, article_factory):
    article_factory(title="Mine about caching", author=author, draft=True)
    article_factory(title="Someone else's about caching", draft=True)
    page = listed(author_client, q="caching")
    assert "Mine about caching" in page and "else&#x27;s about caching" not in page


def test_counts_are_exact_below_the_threshold_and_estimated_above(monkeypatch, article_factory):
    article_factory.create_batch(6)
    # The planner's estimate follows statistics: without this, those left by an earlier test file on the same
    # worker (thousands of rows, since deleted) made the estimate 10,210 and the list "about 10,210".
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE articles_article")
    queryset = Article.objects.order_by("-updated_at", "-pk")
    assert EstimatedCountPaginator(queryset, 2).count == 6
    monkeypatch.setattr(admin_changelist, "EXACT_COUNT_LIMIT", 3)
    count = EstimatedCountPaginator(queryset, 2).count
    assert isinstance(count, ApproximateCount) and count >= 4
    assert str(ApproximateCount(98_000)) == "about 98,000"
    # A page past the end of an overestimate is an empty page, not an error.
    assert list(EstimatedCountPaginator(queryset, 2).page(40).object_list) == []


def test_the_capped_count_is_planned_as_the_data_is_in_memory(article_factory):
    # With the default random_page_cost, the planner counted the 5,001 of 8,400 articles matching "circuit:*" by
    # a table scan testing 60,000 search documents (447 ms) rather than through the full-text index (30 ms).
    article_factory.create_batch(3)
    with CaptureQueriesContext(connection) as queries:
        assert EstimatedCountPaginator(Article.objects.order_by("-pk"), 2).count == 3
    statements = [query["sql"] for query in queries]
    planned = statements.index("SET LOCAL random_page_cost = 1.1")
    assert any(sql.startswith("SELECT COUNT(*)") for sql in statements[planned + 1 :])


def test_a_long_list_says_about_how_many_and_never_counts_it_twice(editor_client, monkeypatch, article_factory):
    monkeypatch.setattr(admin_changelist, "EXACT_COUNT_LIMIT", 3)
    article_factory.create_batch(8)
    with CaptureQueriesContext(connection) as queries:
        page = listed(editor_client)
    assert "about " in page
    assert not any(query["sql"].startswith('SELECT COUNT(*) AS "__count" FROM "articles_article"') for query in queries)


def test_the_tag_filter_offers_a_box_and_the_most_used_few_never_every_tag(editor_client, article_factory):
    for number in range(30):
        article_factory(title=f"Tagged {number}", tags=[f"topic-{number}", "popular"])
    article_factory(title="Only rare", tags=["rare-one"])
    page = listed(editor_client)
    assert page.count("?tag=") <= admin_changelist.TOP_TAGS + 1
    assert "?tag=popular" in page
    assert 'name="tag"' in page  # the box, for any other tag

    rare = listed(editor_client, tag="rare-one")
    assert "Only rare" in rare and "Tagged 1<" not in rare
    by_name = listed(editor_client, tag="Rare-One")
    assert "Only rare" in by_name
    assert "Only rare" not in listed(editor_client, tag="no-such-tag")


def test_the_tag_box_keeps_the_other_filters_and_the_search(editor_client, article_factory):
    article_factory(title="Kept", tags=["api"])
    page = listed(editor_client, q="kept", state="published")
    form = page[page.index('class="tag-filter"') :]
    form = form[: form.index("</form>")]
    assert 'name="q" value="kept"' in form and 'name="state" value="published"' in form


def test_filters_and_search_cost_the_same_queries_at_any_size(editor_client, article_factory, category):
    article_factory.create_batch(3, category=category, tags=["api"])

    def queries(**params):
        with CaptureQueriesContext(connection) as captured:
            listed(editor_client, **params)
        return len(captured)

    def analyze():
        # Whether a count is exact or the planner's estimate follows the table's statistics, which
        # earlier tests on the same database (thousands of articles, autovacuum) leave behind.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE articles_article")

    cases = [{}, {"q": "article"}, {"tag": "api"}, {"state": "draft"}, {"category__id__exact": category.pk}]
    queries()  # the most used tags are counted once, then kept for TOP_TAGS_SECONDS
    analyze()
    before = [queries(**params) for params in cases]
    article_factory.create_batch(12, category=category, tags=["api", "other"])
    analyze()
    assert [queries(**params) for params in cases] == before


def test_the_date_drill_down_comes_from_the_calendar(editor_client, article_factory):
    now = timezone.now()
    article_factory(title="Old", published_at=now.replace(year=now.year - 2))
    article_factory(title="New", published_at=now - timedelta(hours=1))
    page = listed(editor_client)
    for year in range(now.year - 2, now.year + 1):
        assert f"published_at__year={year}" in page  # the year between has no article, and is offered all the same
    year = listed(editor_client, published_at__year=now.year)
    assert f"published_at__month={now.month}" in year and "New" in year and ">Old<" not in year
    month = listed(editor_client, published_at__year=now.year, published_at__month=now.month)
    assert f"published_at__day={(now - timedelta(hours=1)).day}" in month


def test_the_categories_page_and_the_category_autocomplete(editor_client, article_factory, category):
    article_factory.create_batch(2, category=category)
    article_factory(category=category, draft=True)
    article_factory(category=category, scheduled=True)
    html = editor_client.get(reverse("admin:articles_category_changelist"), {"o": "4"}).content.decode()
    assert '<td class="field-public_articles">2</td>' in html
    assert '<td class="field-all_articles">4</td>' in html
    found = editor_client.get(
        reverse("admin:autocomplete"),
        {"term": "product", "app_label": "articles", "model_name": "article", "field_name": "category"},
    )
    # The article form has no category autocomplete; the endpoint refuses it quickly rather than counting.
    assert found.status_code in (200, 403)


def test_the_article_list_row_checkbox_is_djangos_own_html(article_factory):
    from django.contrib import admin

    article = article_factory(title='Escaping <b>"this"</b> & that')
    model_admin = admin.site._registry[Article]
    assert model_admin.action_checkbox(article) == admin.ModelAdmin.action_checkbox(model_admin, article)
    assert "&lt;b&gt;" in model_admin.action_checkbox(article)


def test_a_tag_id_in_the_address_is_sent_to_the_tag_filter(editor_client, article_factory):
    article_factory(title="Tagged one", tags=["observability"])
    from taggit.models import Tag

    tag = Tag.objects.get(slug="observability")
    response = editor_client.get(CHANGELIST, {"tags__id__exact": tag.pk, "q": "tagged"})
    assert response.status_code == 302
    assert response["Location"].startswith(CHANGELIST)
    assert "tag=observability" in response["Location"] and "q=tagged" in response["Location"]
    assert "tags__id__exact" not in response["Location"]
    assert "Tagged one" in editor_client.get(response["Location"]).content.decode()
    # An unknown id is kept as typed: the tag filter then shows nothing, not an error.
    response = editor_client.get(CHANGELIST, {"tags__id__exact": "999999"})
    assert response.status_code == 302 and editor_client.get(response["Location"]).status_code == 200
