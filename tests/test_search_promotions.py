"""Promoted results (#13): editors pin articles to a query; readers see them first, marked, once."""

import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from articles import caching
from articles.models import Article
from search import promotions
from search.models import Promotion
from search.promotions import normalise_query, picks
from tests.factories import ArticleFactory, CategoryFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def vpn_article(db):
    return ArticleFactory(title="Connecting to the office VPN", slug="office-vpn", summary="How to connect.")


def pin(query, article, **fields):
    return Promotion.objects.create(query=query, article=article, **fields)


def public():
    return Article.objects.published()


# ---------------------------------------------------------------- the normalised query


@pytest.mark.parametrize(
    ("typed", "normalised"),
    [
        ("VPN", "vpn"),
        ("  How do I use a   VPN? ", "how do i use a vpn"),
        ('"dead letter queue"', "dead letter queue"),
        ("dead-letter", "dead letter"),
        ("-draft kubernetes", "draft kubernetes"),
        ("C++ vs C#", "c++ vs c#"),
        (".NET core.", "net core"),
        ("node.js", "node.js"),
        ("ＶＰＮ", "vpn"),  # full-width letters
        ("Straße", "strasse"),
        ("", ""),
        ("?!…", ""),
    ],
)
def test_queries_are_normalised_ignoring_case_punctuation_and_spaces(typed, normalised):
    assert normalise_query(typed) == normalised


def test_a_normalised_query_is_at_most_200_characters():
    assert len(normalise_query("word " * 500)) <= 200
    assert len(normalise_query("x" * 10_000)) == 200


def test_a_promotion_stores_its_query_normalised(vpn_article):
    promotion = pin("  VPN?? ", vpn_article)
    promotion.refresh_from_db()
    assert promotion.query == "vpn"
    assert str(promotion) == "“vpn” → Connecting to the office VPN"


# ---------------------------------------------------------------- picks()


def test_pinned_articles_are_found_by_any_spelling_of_the_query(vpn_article):
    pin("vpn", vpn_article, description="The one to read first.")
    for typed in ("vpn", "VPN", "vpn?", "  Vpn  "):
        found = picks(typed, public())
        assert [(p.article.pk, p.description) for p in found] == [(vpn_article.pk, "The one to read first.")]
    assert picks("vpns", public()) == []
    assert picks("", public()) == []


def test_pins_come_in_the_editors_order(vpn_article):
    second = ArticleFactory(title="Split tunnelling")
    third = ArticleFactory(title="Remote access policy")
    pin("vpn", third, sort_order=3)
    pin("vpn", vpn_article, sort_order=1)
    pin("vpn", second, sort_order=2)
    assert [p.article for p in picks("vpn", public())] == [vpn_article, second, third]


def test_only_public_articles_are_picked_however_long_the_pin_lives(vpn_article):
    pin("vpn", vpn_article)
    assert len(picks("vpn", public())) == 1
    # Unpublished behind the pin's back (a queryset update saves nothing): the pin stays, the pick does not.
    Article.objects.filter(pk=vpn_article.pk).update(published_at=timezone.now() + timedelta(days=1))
    assert picks("vpn", public()) == []
    Article.objects.filter(pk=vpn_article.pk).update(status=Article.Status.DRAFT, published_at=None)
    assert picks("vpn", public()) == []
    assert Promotion.objects.count() == 1


def test_a_pin_never_escapes_the_readers_filters(vpn_article):
    other = CategoryFactory(slug="elsewhere")
    pin("vpn", vpn_article)
    assert picks("vpn", public().filter(category=other)) == []
    assert len(picks("vpn", public().filter(category=vpn_article.category))) == 1


def test_at_most_five_articles_are_picked_for_one_query():
    for n in range(7):
        pin("onboarding", ArticleFactory(title=f"Onboarding {n}"), sort_order=n)
    assert len(picks("onboarding", public())) == promotions.MAX_PINS == 5


def test_a_query_without_pins_costs_no_database_query_once_cached(vpn_article):
    pin("vpn", vpn_article)
    picks("kubernetes", public())  # loads the pins into the cache
    with CaptureQueriesContext(connection) as queries:
        assert picks("kubernetes", public()) == []
    assert len(queries) == 0
    with CaptureQueriesContext(connection) as queries:
        assert len(picks("vpn", public())) == 1
    assert len(queries) == 1


def test_saving_or_deleting_a_promotion_refreshes_the_cached_pins(vpn_article):
    assert picks("vpn", public()) == []  # cached: no pins
    promotion = pin("vpn", vpn_article)
    assert len(picks("vpn", public())) == 1
    promotion.query = "remote access"
    promotion.save()
    assert picks("vpn", public()) == []
    assert len(picks("Remote access", public())) == 1
    promotion.delete()
    assert picks("remote access", public()) == []


def test_deleting_the_article_deletes_its_pins_and_the_cached_pins(vpn_article):
    pin("vpn", vpn_article)
    assert len(picks("vpn", public())) == 1
    vpn_article.delete()
    assert Promotion.objects.count() == 0
    assert promotions.pins() == {}


def test_a_promotion_change_makes_cached_pages_render_afresh(vpn_article):
    before = caching.content_version()
    pin("vpn", vpn_article)
    assert caching.content_version() > before


def test_pins_work_when_the_cache_is_unreachable(vpn_article, monkeypatch):
    pin("vpn", vpn_article)

    def unreachable(*args, **kwargs):
        raise OSError("cache down")

    monkeypatch.setattr(promotions.cache, "get", unreachable)
    assert [p.article for p in picks("vpn", public())] == [vpn_article]


# ---------------------------------------------------------------- the search page


def search(client, **params):
    response = client.get(reverse("search:search"), params)
    assert response.status_code == 200
    return response.content.decode()


def result_slugs(html):
    return re.findall(r'<article class="card[^"]*" data-article="([^"]+)"', html)


@pytest.fixture
def vpn_results(db):
    """Five articles about VPNs; the pinned one would rank last on its own."""
    articles = [
        ArticleFactory(title=f"VPN troubleshooting {n}", slug=f"vpn-{n}", summary="VPN VPN VPN", body="vpn " * 20)
        for n in range(4)
    ]
    howto = ArticleFactory(title="Remote access how-to", slug="vpn-howto", summary="Connecting from home.", body="vpn")
    return articles, howto


def test_the_pinned_article_comes_first_marked_and_only_once(client, vpn_results):
    articles, howto = vpn_results
    pin("vpn", howto, description="Start here: the supported way to connect.")
    html = search(client, q="VPN")
    slugs = result_slugs(html)
    assert slugs[0] == "vpn-howto"
    assert slugs.count("vpn-howto") == 1
    assert sorted(slugs[1:]) == sorted(a.slug for a in articles)
    pick = html[
        html.index('data-article="vpn-howto"') : html.index("</article>", html.index('data-article="vpn-howto"'))
    ]
    assert "Editor’s pick" in pick
    assert "Start here: the supported way to connect." in pick
    # The organic count is unchanged: five articles mention VPNs.
    assert 'data-result-count="5"' in html


def test_a_pinned_article_that_does_not_match_the_words_is_still_shown_first(client, vpn_results):
    articles, _ = vpn_results
    guide = ArticleFactory(title="Working from home", slug="home-guide", summary="Equipment and expenses.")
    pin("vpn", guide)
    slugs = result_slugs(search(client, q="vpn"))
    assert slugs[0] == "home-guide"
    assert len(slugs) == 1 + len(articles) + 1


def test_pins_are_shown_on_the_first_page_only(client, db):
    for n in range(25):
        ArticleFactory(title=f"Kafka topic {n}", slug=f"kafka-{n}", body="kafka partitions")
    pinned = Article.objects.get(slug="kafka-24")
    pin("kafka", pinned)
    first = result_slugs(search(client, q="kafka"))
    second = result_slugs(search(client, q="kafka", page=2))
    assert first[0] == "kafka-24"
    assert "kafka-24" not in first[1:] and "kafka-24" not in second
    # Neither lost nor repeated across the pages.
    assert sorted(first + second) == sorted(f"kafka-{n}" for n in range(25))


def test_a_draft_pin_is_never_shown_to_readers(client, vpn_results):
    _, howto = vpn_results
    pin("vpn", howto)
    Article.objects.filter(pk=howto.pk).update(status=Article.Status.DRAFT, published_at=None)
    html = search(client, q="vpn")
    assert "vpn-howto" not in html
    assert "Editor’s pick" not in html


def test_a_pin_outside_the_chosen_category_is_not_shown(client, vpn_results):
    articles, howto = vpn_results
    elsewhere = CategoryFactory(slug="elsewhere")
    Article.objects.filter(pk=howto.pk).update(category=elsewhere)
    pin("vpn", howto)
    html = search(client, q="vpn", category=articles[0].category.slug)
    assert "vpn-howto" not in result_slugs(html)


def test_searches_without_pins_are_unchanged(client, vpn_results):
    html = search(client, q="vpn")
    assert "Editor’s pick" not in html
    assert len(result_slugs(html)) == 5


# ---------------------------------------------------------------- the admin


def test_an_editor_pins_an_article_in_the_admin(editor_client, vpn_results):
    _, howto = vpn_results
    response = editor_client.post(
        reverse("admin:search_promotion_add"),
        {"query": "  VPN ", "article": howto.pk, "description": "Start here.", "sort_order": 0},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    promotion = Promotion.objects.get()
    assert (promotion.query, promotion.article, promotion.description) == ("vpn", howto, "Start here.")
    assert result_slugs(search(editor_client, q="vpn"))[0] == "vpn-howto"
    listing = editor_client.get(reverse("admin:search_promotion_changelist"))
    assert listing.status_code == 200
    assert "Remote access how-to" in listing.content.decode()


def test_a_draft_cannot_be_pinned(editor_client, db):
    draft = ArticleFactory(draft=True, title="Unfinished VPN notes")
    response = editor_client.post(
        reverse("admin:search_promotion_add"), {"query": "vpn", "article": draft.pk, "sort_order": 0}
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not Promotion.objects.exists()


def test_the_same_article_cannot_be_pinned_twice_to_one_query(editor_client, vpn_article):
    pin("vpn", vpn_article)
    response = editor_client.post(
        reverse("admin:search_promotion_add"), {"query": "VPN!", "article": vpn_article.pk, "sort_order": 1}
    )
    # "VPN!" is "vpn" once normalised: a form error, not a database error.
    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    assert Promotion.objects.count() == 1


def test_the_article_field_autocompletes_published_articles_only(editor_client, vpn_article):
    ArticleFactory(draft=True, title="VPN draft")
    response = editor_client.get(
        reverse("admin:autocomplete"),
        {"term": "vpn", "app_label": "search", "model_name": "promotion", "field_name": "article"},
    )
    assert response.status_code == 200
    assert [item["text"] for item in response.json()["results"]] == ["Connecting to the office VPN"]
    form = editor_client.get(reverse("admin:search_promotion_add"), {"query": "VPN?"}).content.decode()
    assert 'class="admin-autocomplete' in form
    assert 'value="vpn"' in form


def test_authors_and_readers_cannot_manage_promotions(client, author_client, vpn_article):
    assert author_client.get(reverse("admin:search_promotion_changelist")).status_code == 403
    assert (
        author_client.post(
            reverse("admin:search_promotion_add"), {"query": "vpn", "article": vpn_article.pk}
        ).status_code
        == 403
    )
    author_client.logout()
    response = client.get(reverse("admin:search_promotion_changelist"))
    assert response.status_code == 302 and reverse("admin:login") in response["Location"]
    assert not Promotion.objects.exists()


def test_the_promotion_list_says_which_pins_readers_see_in_a_fixed_number_of_queries(
    editor_client, db, django_assert_max_num_queries
):
    shown = [ArticleFactory(title=f"Shown {n}") for n in range(5)]
    for n, article in enumerate(shown):
        pin(f"query {n}", article)
    hidden = ArticleFactory(title="Hidden later")
    pin("hidden", hidden)
    Article.objects.filter(pk=hidden.pk).update(published_at=timezone.now() + timedelta(days=3))
    url = reverse("admin:search_promotion_changelist")
    editor_client.get(url)
    with django_assert_max_num_queries(8):
        response = editor_client.get(url)
    rows = re.findall(r"<tr>.*?</tr>", response.content.decode(), re.DOTALL)
    hidden_row = next(row for row in rows if "Hidden later" in row)
    assert 'alt="False"' in hidden_row
    assert all('alt="True"' in row for row in rows if "Shown " in row)
    pin("query 5", ArticleFactory(title="Shown 5"))
    with django_assert_max_num_queries(8):
        editor_client.get(url)


# ---------------------------------------------------------------- the JSON API


def api_search(client, **params):
    response = client.get(reverse("api-v1:list_articles"), params)
    assert response.status_code == 200, response.content[:500]
    return response.json()


def test_the_api_lists_the_editors_picks_first_page_only_and_not_again_in_the_items(client, db):
    for n in range(5):
        ArticleFactory(title=f"Kafka topic {n}", slug=f"kafka-{n}", body="kafka partitions")
    pinned = Article.objects.get(slug="kafka-3")
    unrelated = ArticleFactory(title="Event streaming primer", slug="streaming")
    pin("Kafka", unrelated, description="Start here.", sort_order=1)
    pin("kafka", pinned, sort_order=2)
    first = api_search(client, q="KAFKA", limit=2)
    assert [(item["slug"], item["description"]) for item in first["promoted"]] == [
        ("streaming", "Start here."),
        ("kafka-3", ""),
    ]
    assert first["promoted"][0]["category"]["slug"] == unrelated.category.slug
    slugs = [item["slug"] for item in first["items"]]
    cursor = first["next"]
    while cursor:
        page = api_search(client, q="KAFKA", limit=2, cursor=cursor)
        assert page["promoted"] == []
        slugs += [item["slug"] for item in page["items"]]
        cursor = page["next"]
    assert sorted(slugs) == ["kafka-0", "kafka-1", "kafka-2", "kafka-4"]


def test_the_api_never_lists_an_unpublished_pick(client, vpn_article):
    pin("vpn", vpn_article)
    assert [item["slug"] for item in api_search(client, q="vpn")["promoted"]] == ["office-vpn"]
    Article.objects.filter(pk=vpn_article.pk).update(status=Article.Status.DRAFT, published_at=None)
    assert api_search(client, q="vpn")["promoted"] == []
    assert api_search(client)["promoted"] == []
