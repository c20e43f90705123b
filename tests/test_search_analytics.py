"""Search analytics (#13): every search page view and opened result recorded by a beacon, bounded, reported."""

import csv
import io
import re
import uuid
from datetime import timedelta

import pytest
import time_machine
from django.core import signing
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from articles import freshness
from articles.models import Article
from search import analytics
from search.models import Promotion, QueryLog, ResultClick
from tests.factories import ArticleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    analytics._local_counts.clear()
    yield
    cache.clear()


def token(q="Kafka consumer lag", *, results=3, corrected=False, relaxed=False, ms=42, page=1, shown=(), picks=0):
    return analytics.page_token(
        q=q,
        results=results,
        corrected=corrected,
        relaxed=relaxed,
        duration_ms=ms,
        page=page,
        offset=(page - 1) * 20,
        shown=shown,
        picks=picks,
    )


def view_id():
    return uuid.uuid4().hex


@pytest.fixture
def shown(db):
    return [ArticleFactory(title=f"Consumer lag {n}", slug=f"lag-{n}").pk for n in range(3)]


# ---------------------------------------------------------------- the token


def test_a_token_carries_what_the_page_found(shown):
    seen = analytics.read_token(token("  Kafka  Consumer LAG? ", results=3, relaxed=True, ms=42.4, shown=shown))
    assert seen == analytics.Seen(
        query="kafka consumer lag",
        results=3,
        corrected=False,
        relaxed=True,
        duration_ms=42,
        page=1,
        offset=0,
        shown=tuple(shown),
        picks=0,
    )


def test_no_token_without_a_query_or_with_analytics_off(settings):
    assert token("") == ""
    assert token("?!") == ""
    settings.SEARCH_ANALYTICS = False
    assert token("kafka") == ""


@pytest.mark.parametrize(
    "bad",
    ["", "garbage", "x" * 5000, signing.dumps({"q": "kafka"}, salt=analytics.SALT), signing.dumps({"q": "x"})],
    # Signed values hold the time: ids must not differ between pytest-xdist's workers.
    ids=["empty", "garbage", "too-long", "incomplete", "foreign-salt"],
)
def test_a_forged_broken_or_foreign_token_is_refused(bad):
    with pytest.raises(analytics.InvalidBeacon):
        analytics.read_token(bad)


def test_a_tampered_token_is_refused():
    good = token("kafka", results=3)
    payload = good.split(":")[0]
    with pytest.raises(analytics.InvalidBeacon):
        analytics.read_token(payload + ":" + good.split(":", 1)[1][::-1])


def test_a_token_older_than_a_day_records_nothing():
    with time_machine.travel(timezone.now() - timedelta(days=1, minutes=1)):
        old = token("kafka")
    with pytest.raises(analytics.InvalidBeacon):
        analytics.record_search(old, uuid.uuid4())
    assert not QueryLog.objects.exists()


# ---------------------------------------------------------------- recording


def test_a_search_is_recorded_with_its_normalised_query_and_nothing_about_the_reader(shown):
    view = uuid.uuid4()
    row = analytics.record_search(token("Kafka Consumer-Lag!", results=3, corrected=True, shown=shown), view)
    row.refresh_from_db()
    assert (row.query, row.results, row.corrected, row.relaxed, row.duration_ms, row.page) == (
        "kafka consumer lag",
        3,
        True,
        False,
        42,
        1,
    )
    assert row.script and row.view == view and row.clicks == 0
    assert abs((timezone.now() - row.searched_at).total_seconds()) < 5
    # Nothing that identifies the reader exists to be stored.
    assert {field.name for field in QueryLog._meta.fields} == {
        "id", "query", "results", "corrected", "relaxed", "duration_ms", "page", "clicks", "script", "view",
        "searched_at",
    }  # fmt: skip


def test_a_beacon_sent_twice_for_one_view_records_one_search():
    view = uuid.uuid4()
    first = analytics.record_search(token("kafka"), view)
    again = analytics.record_search(token("kafka"), view)
    assert first.pk == again.pk
    assert QueryLog.objects.count() == 1


def test_each_view_of_the_same_page_is_a_search_of_its_own():
    page = token("kafka")
    analytics.record_search(page, uuid.uuid4())
    analytics.record_search(page, uuid.uuid4())
    analytics.record_search(page)  # without a script
    assert QueryLog.objects.filter(query="kafka").count() == 3
    assert QueryLog.objects.filter(script=False).count() == 1


def test_opening_a_result_records_the_click_and_counts_it_on_its_search(shown):
    view = uuid.uuid4()
    page = token("kafka", shown=shown)
    search = analytics.record_search(page, view)
    click = analytics.record_click(page, view, 2)
    assert (click.search_id, click.article_id, click.position, click.promoted) == (search.pk, shown[2], 3, False)
    search.refresh_from_db()
    assert search.clicks == 1


def test_a_click_on_page_two_has_its_position_in_the_whole_list(shown):
    view = uuid.uuid4()
    page = token("kafka", page=2, shown=shown)
    assert analytics.record_click(page, view, 0).position == 21


def test_a_click_on_an_editors_pick_is_marked_promoted(shown):
    view = uuid.uuid4()
    page = token("kafka", shown=shown, picks=1)
    assert analytics.record_click(page, view, 0).promoted
    assert not analytics.record_click(page, view, 1).promoted


def test_a_click_arriving_before_its_search_records_both(shown):
    view = uuid.uuid4()
    analytics.record_click(token("kafka", shown=shown), view, 0)
    search = QueryLog.objects.get()
    assert (search.view, search.clicks) == (view, 1)
    analytics.record_search(token("kafka", shown=shown), view)  # the late search beacon
    assert QueryLog.objects.count() == 1


def test_a_click_on_a_result_the_page_did_not_show_is_refused(shown):
    with pytest.raises(analytics.InvalidBeacon):
        analytics.record_click(token("kafka", shown=shown), uuid.uuid4(), 3)
    assert not ResultClick.objects.exists()


def test_a_view_id_cannot_be_reused_for_another_query(shown):
    view = uuid.uuid4()
    analytics.record_search(token("kafka", shown=shown), view)
    with pytest.raises(analytics.InvalidBeacon):
        analytics.record_click(token("redis", shown=shown), view, 0)


def test_clicks_per_search_are_capped(shown):
    view = uuid.uuid4()
    page = token("kafka", shown=shown)
    for _ in range(analytics.MAX_CLICKS_PER_SEARCH + 5):
        analytics.record_click(page, view, 0)
    assert ResultClick.objects.count() == analytics.MAX_CLICKS_PER_SEARCH
    assert QueryLog.objects.get().clicks == analytics.MAX_CLICKS_PER_SEARCH


def test_a_click_on_a_since_deleted_article_is_refused_cleanly(shown):
    page = token("kafka", shown=shown)
    Article.objects.filter(pk=shown[0]).delete()
    with pytest.raises(analytics.InvalidBeacon):
        analytics.record_click(page, uuid.uuid4(), 0)
    assert not ResultClick.objects.exists()


# ---------------------------------------------------------------- the beacon endpoint


# Half a minute from a minute's end, so that no rate limit window closes during a test.
MID_MINUTE = timezone.now().replace(second=30, microsecond=0)


def beacon(client, **fields):
    return client.post(reverse("search:log"), fields)


def test_the_beacon_records_a_search_without_csrf_cookie_or_session(shown):
    client = Client(enforce_csrf_checks=True)
    view = view_id()
    response = beacon(client, t=token("kafka", shown=shown), v=view)
    assert response.status_code == 204
    assert response["Cache-Control"] == "no-store"
    assert not response.cookies
    assert QueryLog.objects.get().view == uuid.UUID(view)
    response = beacon(client, t=token("kafka", shown=shown), v=view, i=1)
    assert response.status_code == 204
    assert ResultClick.objects.get().article_id == shown[1]


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"t": ""},
        {"t": "not a token"},
        {"t": "x" * 3000},
        {"t": "GOOD", "v": "not-hex"},
        {"t": "GOOD", "v": "A" * 32},
        {"t": "GOOD", "v": "0" * 31},
        {"t": "GOOD", "v": "VIEW", "i": "-1"},
        {"t": "GOOD", "v": "VIEW", "i": "1000"},
        {"t": "GOOD", "v": "VIEW", "i": "one"},
        {"t": "GOOD", "v": "VIEW", "i": "99"},  # not a result the page showed
        {"t": "GOOD", "i": "0"},  # a click without its view
        {"t": "GOOD\x00", "v": "VIEW"},
        {"t": "GOOD", "v": "VIEW\x00"},
    ],
)
def test_bad_beacons_get_a_400_and_record_nothing(client, shown, fields):
    fields = {
        key: value.replace("GOOD", token("kafka", shown=shown)).replace("VIEW", view_id())
        for key, value in fields.items()
    }
    response = beacon(client, **fields)
    assert response.status_code == 400
    # NUL bytes are refused before any view, by the site's own request checks.
    assert response.content.startswith(b"Not recorded") or any("\x00" in value for value in fields.values())
    assert not QueryLog.objects.exists() and not ResultClick.objects.exists()


def test_an_oversized_beacon_is_refused_before_it_is_read(client):
    response = client.post(reverse("search:log"), {"t": "x" * 10_000})
    assert response.status_code == 413


def test_the_beacon_takes_only_post(client):
    assert client.get(reverse("search:log")).status_code == 405
    assert client.put(reverse("search:log")).status_code == 405


def test_beacons_from_another_sites_pages_are_refused(client):
    cross = client.post(reverse("search:log"), {"t": token("kafka")}, HTTP_SEC_FETCH_SITE="cross-site")
    assert cross.status_code == 403
    response = client.post(reverse("search:log"), {"t": token("kafka")}, HTTP_ORIGIN="https://evil.example")
    assert response.status_code == 403
    assert not QueryLog.objects.exists()
    same = client.post(
        reverse("search:log"), {"t": token("kafka")}, HTTP_ORIGIN="http://testserver", HTTP_SEC_FETCH_SITE="same-origin"
    )
    assert same.status_code == 204


@time_machine.travel(MID_MINUTE, tick=False)  # the limits count per clock minute
def test_beacons_are_rate_limited_per_address(client, settings):
    settings.SEARCH_LOG_RATE_PER_MINUTE = 3
    statuses = [beacon(client, t=token("kafka"), v=view_id()).status_code for _ in range(5)]
    assert statuses == [204, 204, 204, 429, 429]
    assert QueryLog.objects.count() == 3
    other = client.post(reverse("search:log"), {"t": token("kafka"), "v": view_id()}, REMOTE_ADDR="10.1.2.3")
    assert other.status_code == 204


@time_machine.travel(MID_MINUTE, tick=False)  # the limits count per clock minute
def test_beacons_are_capped_for_the_whole_site(client, settings):
    settings.SEARCH_LOG_MAX_PER_MINUTE = 2
    statuses = [
        client.post(reverse("search:log"), {"t": token("kafka")}, REMOTE_ADDR=f"10.0.0.{n}").status_code
        for n in range(4)
    ]
    assert statuses == [204, 204, 429, 429]


@time_machine.travel(MID_MINUTE, tick=False)  # the limits count per clock minute
def test_beacons_are_rate_limited_in_redis_across_processes(client, settings, redis_cache):
    settings.SEARCH_LOG_RATE_PER_MINUTE = 2
    statuses = [beacon(client, t=token("kafka")).status_code for _ in range(3)]
    assert statuses == [204, 204, 429]


def test_the_beacon_answers_503_not_500_when_the_database_fails(client, monkeypatch):
    from django.db import OperationalError

    def broken(*args, **kwargs):
        raise OperationalError("connection lost")

    monkeypatch.setattr(analytics, "_insert", broken)
    response = beacon(client, t=token("kafka"), v=view_id())
    assert response.status_code == 503


def test_with_analytics_off_the_beacon_records_nothing(client, settings):
    settings.SEARCH_ANALYTICS = False
    page = signing.dumps(
        {"q": "kafka", "n": 1, "c": 0, "r": 0, "ms": 1, "p": 1, "o": 0, "a": [], "k": 0}, salt=analytics.SALT
    )
    assert beacon(client, t=page).status_code == 204
    assert not QueryLog.objects.exists()


def test_the_no_script_image_records_a_search(client):
    response = client.get(reverse("search:log-pixel"), {"t": token("kafka")})
    assert response.status_code == 200
    assert response["Content-Type"] == "image/gif"
    assert response.content.startswith(b"GIF89a")
    assert response["Cache-Control"] == "no-store"
    row = QueryLog.objects.get()
    assert (row.query, row.script, row.view) == ("kafka", False, None)
    assert client.get(reverse("search:log-pixel"), {"t": "forged"}).status_code == 400
    assert client.get(reverse("search:log-pixel")).status_code == 400
    assert (
        client.get(reverse("search:log-pixel"), {"t": token("x")}, HTTP_SEC_FETCH_SITE="cross-site").status_code == 403
    )
    assert QueryLog.objects.count() == 1


# ---------------------------------------------------------------- the search page


def page_token_in(html):
    found = re.search(r'data-search-log="([^"]+)"', html)
    return found and found.group(1)


@pytest.fixture
def kafka(db):
    return [
        ArticleFactory(title=f"Kafka consumer lag {n}", slug=f"kafka-lag-{n}", body="kafka consumer lag")
        for n in range(3)
    ]


def test_the_search_page_carries_a_token_for_what_it_shows_and_records_nothing_itself(client, kafka):
    response = client.get(reverse("search:search"), {"q": "Kafka lag"})
    html = response.content.decode()
    seen = analytics.read_token(page_token_in(html))
    assert seen.query == "kafka lag" and seen.results == 3 and seen.page == 1
    shown = re.findall(r'<article class="card[^"]*" data-article="([^"]+)"', html)
    assert [Article.objects.get(pk=pk).slug for pk in seen.shown] == shown
    assert 'src="/static/search/analytics.js"' in html
    # Without a script, an image in <noscript> records the search.
    assert re.search(r'<noscript><img src="/search/log\.gif\?t=[^"]+"', html)
    assert not QueryLog.objects.exists()


def test_a_search_that_finds_nothing_carries_a_zero_result_token(client, kafka):
    html = client.get(reverse("search:search"), {"q": "zzqxj"}).content.decode()
    assert analytics.read_token(page_token_in(html)).results == 0


def test_an_editors_pick_is_the_first_shown_result_in_the_token(client, kafka):
    pick = ArticleFactory(title="Consumer groups explained", slug="groups")
    Promotion.objects.create(query="kafka lag", article=pick)
    html = client.get(reverse("search:search"), {"q": "kafka lag"}).content.decode()
    seen = analytics.read_token(page_token_in(html))
    assert seen.shown[0] == pick.pk and seen.picks == 1


def test_no_token_on_pages_without_a_query_or_with_analytics_off(client, kafka, settings):
    assert page_token_in(client.get(reverse("search:search")).content.decode()) is None
    settings.SEARCH_ANALYTICS = False
    html = client.get(reverse("search:search"), {"q": "kafka"}).content.decode()
    assert page_token_in(html) is None and "log.gif" not in html


def test_a_cached_search_page_still_records_each_view(client, kafka, settings):
    settings.PAGE_CACHE = True
    first = client.get(reverse("search:search"), {"q": "kafka"})
    with CaptureQueriesContext(connection) as queries:
        second = client.get(reverse("search:search"), {"q": "kafka"})
    assert len(queries) == 0  # served from the cache
    assert first.content == second.content
    page = page_token_in(second.content.decode())
    for _ in range(2):
        assert beacon(client, t=page, v=view_id()).status_code == 204
    assert QueryLog.objects.filter(query="kafka").count() == 2


# ---------------------------------------------------------------- retention


def log(query, *, days_ago=0, results=1, clicks=0, script=True, page=1):
    return QueryLog.objects.create(
        query=query,
        results=results,
        duration_ms=5,
        page=page,
        clicks=clicks,
        script=script,
        searched_at=timezone.now() - timedelta(days=days_ago),
    )


def test_purge_deletes_searches_and_clicks_older_than_the_retention(shown, settings, monkeypatch):
    settings.SEARCH_LOG_RETENTION_DAYS = 180
    monkeypatch.setattr(analytics, "PURGE_BATCH", 2)
    old = [log("old", days_ago=181) for _ in range(5)]
    ResultClick.objects.create(search=old[0], article_id=shown[0], position=1, clicked_at=timezone.now())
    kept = log("recent", days_ago=179)
    ResultClick.objects.create(search=kept, article_id=shown[0], position=1, clicked_at=timezone.now())
    assert analytics.purge() == 5
    assert list(QueryLog.objects.values_list("query", flat=True)) == ["recent"]
    assert ResultClick.objects.get().search == kept


def test_the_purge_command_reports_what_it_deleted(settings):
    settings.SEARCH_LOG_RETENTION_DAYS = 30
    log("old", days_ago=31)
    log("new", days_ago=29)
    out = io.StringIO()
    call_command("purge_search_log", stdout=out)
    assert out.getvalue().startswith("Deleted 1 searches from before ")
    assert list(QueryLog.objects.values_list("query", flat=True)) == ["new"]


def test_beacons_purge_one_batch_at_most_once_an_hour(client, monkeypatch):
    monkeypatch.setattr(analytics, "PURGE_BATCH", 2)
    for _ in range(5):
        log("old", days_ago=400)
    beacon(client, t=token("kafka"))
    assert QueryLog.objects.filter(query="old").count() == 3
    beacon(client, t=token("kafka"))
    assert QueryLog.objects.filter(query="old").count() == 3


def test_the_retention_setting_comes_from_the_environment():
    import subprocess
    import sys

    def retention(value):
        return subprocess.run(
            [sys.executable, "-c", "from django.conf import settings; print(settings.SEARCH_LOG_RETENTION_DAYS)"],
            env={
                "DJANGO_SETTINGS_MODULE": "kb.settings",
                "DEBUG": "1",
                "SEARCH_LOG_RETENTION_DAYS": value,
                "PATH": "/usr/bin:/bin",
            },
            capture_output=True,
            text=True,
        )

    assert retention("").stdout.strip() == "180"
    assert retention("30").stdout.strip() == "30"
    assert "must be at least 1" in retention("0").stderr
    assert "must be an integer" in retention("half a year").stderr


# ---------------------------------------------------------------- the report


@pytest.fixture
def history(db):
    """A month of searches: some popular, some finding nothing, some whose results nobody opens."""
    for _ in range(6):
        log("kubernetes", days_ago=2, results=12, clicks=1)
    for _ in range(2):
        log("kubernetes", days_ago=2, results=12)
    log("kubernetes", days_ago=2, results=12, page=2)  # a second page is not another search
    for _ in range(4):
        log("graphql federation", days_ago=3, results=0)
    for _ in range(3):
        log("service mesh", days_ago=1, results=4)
    log("service mesh", days_ago=1, results=4, script=False)
    for _ in range(5):
        log("=cmd|' /c calc'!a0", days_ago=1, results=0)  # a query written to attack spreadsheets
    for _ in range(9):
        log("older than a week", days_ago=20, results=0)
    log("older than a month", days_ago=60, results=0)
    log("older than a quarter", days_ago=100, results=0)


def test_top_queries_count_first_pages_and_opened_results(history):
    rows = {row["query"]: row for row in analytics.top_queries(7)}
    assert [row["query"] for row in analytics.top_queries(7)][:2] == ["kubernetes", "=cmd|' /c calc'!a0"]
    assert (rows["kubernetes"]["searches"], rows["kubernetes"]["opened"], rows["kubernetes"]["watched"]) == (8, 6, 8)
    assert rows["service mesh"]["searches"] == 4 and rows["service mesh"]["watched"] == 3
    assert "older than a week" not in rows
    assert analytics.top_queries(30)[0]["query"] == "older than a week"


def test_queries_with_no_results_over_each_period(history):
    def zero(days):
        return [(row["query"], row["searches"]) for row in analytics.zero_result_queries(days)]

    assert zero(7) == [("=cmd|' /c calc'!a0", 5), ("graphql federation", 4)]
    assert zero(30) == [("older than a week", 9), ("=cmd|' /c calc'!a0", 5), ("graphql federation", 4)]
    assert ("older than a month", 1) in zero(90)
    assert "older than a quarter" not in dict(zero(90))


def test_queries_whose_results_nobody_opens(history):
    rows = analytics.unopened_queries(7)
    assert [(row["query"], row["searches"]) for row in rows] == [("service mesh", 3)]


def test_the_report_takes_a_fixed_number_of_queries(history, editor_client, django_assert_max_num_queries):
    url = reverse("admin:search_querylog_report")
    editor_client.get(url)  # sessions, permissions and the like, once
    with django_assert_max_num_queries(10):
        assert editor_client.get(url, {"days": 90}).status_code == 200


def test_an_editor_sees_the_report_for_each_period(history, editor_client):
    url = reverse("admin:search_querylog_report")
    for days in (7, 30, 90):
        response = editor_client.get(url, {"days": days})
        assert response.status_code == 200
        html = response.content.decode()
        assert f'aria-current="page">Last {days} days' in html
        assert "Queries with no results" in html and "Queries whose results nobody opens" in html
        assert "graphql federation" in html
        assert ("older than a week" in html) == (days >= 30)
    html = editor_client.get(url).content.decode()
    assert 'aria-current="page">Last 30 days' in html
    # Queries are shown as text, never as markup.
    assert "=cmd|&#x27; /c calc&#x27;!a0" in html
    assert reverse("admin:search_promotion_add") + "?query=kubernetes" in html


def test_a_bad_period_gets_a_400_page(editor_client):
    response = editor_client.get(reverse("admin:search_querylog_report"), {"days": "365"})
    assert response.status_code == 400
    assert "7, 30 or 90 days" in response.content.decode()
    assert editor_client.get(reverse("admin:search_querylog_report"), {"export": "all"}).status_code == 400


def test_the_report_exports_each_list_as_csv_safe_for_spreadsheets(history, editor_client):
    response = editor_client.get(reverse("admin:search_querylog_report"), {"days": 7, "export": "zero"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="searches-zero-7-days.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["query", "searches", "last"]
    assert [row[:2] for row in rows[1:]] == [["'=cmd|' /c calc'!a0", "5"], ["graphql federation", "4"]]
    top = editor_client.get(reverse("admin:search_querylog_report"), {"days": 7, "export": "top"})
    header, first = list(csv.reader(io.StringIO(top.content.decode())))[:2]
    assert header == ["query", "searches", "average_results", "opened", "watched", "last"]
    assert first[:5] == ["kubernetes", "8", "12.0", "6", "8"]


def test_authors_and_anonymous_readers_cannot_see_the_report(history, author_client, client):
    url = reverse("admin:search_querylog_report")
    assert author_client.get(url).status_code == 403
    assert author_client.get(url, {"export": "top"}).status_code == 403
    assert author_client.get(reverse("admin:search_querylog_changelist")).status_code == 403
    author_client.logout()
    response = client.get(url, {"export": "top"})
    assert response.status_code == 302 and reverse("admin:login") in response["Location"]


def test_the_raw_log_is_read_only_for_editors(history, editor_client):
    listing = editor_client.get(reverse("admin:search_querylog_changelist"))
    assert listing.status_code == 200
    assert reverse("admin:search_querylog_report") in listing.content.decode()
    row = QueryLog.objects.first()
    assert (
        editor_client.post(reverse("admin:search_querylog_delete", args=[row.pk]), {"post": "yes"}).status_code == 403
    )
    assert editor_client.get(reverse("admin:search_querylog_add")).status_code == 403


# ---------------------------------------------------------------- the editors' dashboard


def test_the_dashboard_lists_this_weeks_searches_that_found_nothing(history, editor, editor_client, author):
    assert freshness.zero_result_searches(editor, since=timezone.now() - timedelta(days=7)) == [
        ("=cmd|' /c calc'!a0", 5),
        ("graphql federation", 4),
    ]
    assert freshness.zero_result_searches(author, since=timezone.now() - timedelta(days=7)) is None
    html = editor_client.get(reverse("admin:index")).content.decode()
    assert "Searches with no results this week" in html
    assert "graphql federation" in html


def test_articles_does_not_import_search():
    from django.conf import settings

    offenders = [
        str(path)
        for path in (settings.BASE_DIR / "articles").rglob("*.py")
        if re.search(r"^(from|import) search\b", path.read_text(), re.MULTILINE)
    ]
    assert offenders == []


# ---------------------------------------------------------------- valid HTML


def test_the_pages_of_promotions_and_analytics_are_valid_html(history, editor_client, kafka, tmp_path):
    from tests.test_html_validity import CANARY, CANARY_HTML, describe, vnu_messages

    Promotion.objects.create(query="kafka", article=kafka[0], description="Start here.")
    pages = {
        "search with an editor's pick": editor_client.get(reverse("search:search"), {"q": "kafka"}),
        "search report": editor_client.get(reverse("admin:search_querylog_report"), {"days": 90}),
        "search report, bad period": editor_client.get(reverse("admin:search_querylog_report"), {"days": 1}),
        "searches": editor_client.get(reverse("admin:search_querylog_changelist")),
        "promoted results": editor_client.get(reverse("admin:search_promotion_changelist")),
        "promoted result, add": editor_client.get(reverse("admin:search_promotion_add"), {"query": "kafka"}),
    }
    editor_client.logout()
    pages["search with an editor's pick, anonymous"] = editor_client.get(reverse("search:search"), {"q": "kafka"})
    assert "Editor’s pick" in pages["search with an editor's pick, anonymous"].content.decode()
    messages = vnu_messages({**{k: v.content.decode() for k, v in pages.items()}, CANARY: CANARY_HTML}, tmp_path)
    assert any(m["page"] == CANARY for m in messages)
    problems = [m for m in messages if m["page"] != CANARY and m["type"] in ("error", "non-document-error")]
    assert problems == [], "\n".join(describe(m) for m in problems)
