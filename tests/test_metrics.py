"""Prometheus metrics at /metrics: behind a token, labelled by route, scraped and parsed as Prometheus would (#15)."""

import os
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.db import connection
from django.urls import reverse
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from kb import metrics
from tests.servers import start_gunicorn

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "a-long-random-metrics-token"


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = TOKEN
    return TOKEN


def scrape(client, token=TOKEN, **extra):
    response = client.get(reverse("metrics"), HTTP_AUTHORIZATION=f"Bearer {token}", **extra)
    assert response.status_code == 200, response.content
    return samples(response.content.decode())


def samples(text):
    """{(name, frozenset(labels)): value}, through Prometheus's own parser."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(name, **labels):
    return REGISTRY.get_sample_value(name, labels) or 0


def test_metrics_are_a_404_without_a_configured_token(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get(reverse("metrics")).status_code == 404
    assert client.get(reverse("metrics"), HTTP_AUTHORIZATION="Bearer ").status_code == 404


@pytest.mark.parametrize("authorization", [None, "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x", TOKEN])
def test_metrics_need_the_token(client, token, authorization):
    extra = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    response = client.get(reverse("metrics"), **extra)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"kb_" not in response.content


def test_metrics_answer_any_host_as_the_probes_do(client, token, settings):
    settings.ALLOWED_HOSTS = ["kb.example.com"]
    assert scrape(client, HTTP_HOST="10.0.3.17:8000")


def test_requests_are_counted_and_timed_by_route_with_their_database_work(client, token, article_factory):
    article = article_factory()
    before = value("kb_request_duration_seconds_count", view="articles:article", method="GET")
    before_ok = value("kb_responses_total", view="articles:article", method="GET", status="200")
    before_db = value("kb_request_db_queries_count", view="articles:article")
    assert client.get(article.get_absolute_url()).status_code == 200
    assert client.get(reverse("articles:article", args=["no-such-article"])).status_code == 404

    found = scrape(client)
    detail = {"view": "articles:article", "method": "GET"}
    assert found[("kb_request_duration_seconds_count", frozenset(detail.items()))] == before + 2
    assert found[("kb_responses_total", frozenset({**detail, "status": "200"}.items()))] == before_ok + 1
    assert found[("kb_responses_total", frozenset({**detail, "status": "404"}.items()))] >= 1
    queries = frozenset({"view": "articles:article"}.items())
    assert found[("kb_request_db_queries_count", queries)] == before_db + 2
    assert found[("kb_request_db_queries_sum", queries)] > 0
    assert found[("kb_request_db_duration_seconds_sum", queries)] > 0


def test_labels_are_routes_never_raw_paths(client, token, article_factory):
    for i in range(30):
        client.get(f"/no/such/page/{i}/")
        client.get(reverse("articles:article", args=[f"missing-{i}"]))
    names = {dict(labels).get("view") for (name, labels) in scrape(client) if name == "kb_responses_total"}
    assert "<unmatched>" in names and "articles:article" in names
    assert not any(name and "/" in name for name in names)


def test_page_cache_hits_and_misses_are_counted(client, token, settings, article_factory):
    settings.PAGE_CACHE = True
    article = article_factory()
    hits, misses = (
        value("kb_page_cache_lookups_total", result="hit"),
        value("kb_page_cache_lookups_total", result="miss"),
    )
    client.get(article.get_absolute_url())
    client.get(article.get_absolute_url())
    assert value("kb_page_cache_lookups_total", result="miss") == misses + 1
    assert value("kb_page_cache_lookups_total", result="hit") == hits + 1
    # A hit is answered before routing, and still counted under its route.
    assert value("kb_responses_total", view="articles:article", method="GET", status="200") >= 2


def test_searches_and_zero_result_searches_are_counted(client, token):
    searches, empty = value("kb_searches_total", kind="page"), value("kb_search_zero_results_total", kind="page")
    metrics.observe_search(0.012, results=7)
    metrics.observe_search(0.030, results=0)
    found = scrape(client)
    assert found[("kb_searches_total", frozenset({"kind": "page"}.items()))] == searches + 2
    assert found[("kb_search_zero_results_total", frozenset({"kind": "page"}.items()))] == empty + 1
    assert found[("kb_search_duration_seconds_count", frozenset({"kind": "page"}.items()))] >= 2


def test_the_connection_pool_is_reported(client, token, settings):
    found = scrape(client)
    assert found[("kb_db_pool_connections", frozenset({"alias": "default", "state": "max"}.items()))] == (
        settings.DB_POOL_MAX_SIZE
    )
    assert ("kb_db_pool_connections", frozenset({"alias": "default", "state": "waiting"}.items())) in found
    assert found[("kb_db_failing_fast", frozenset())] == 0


def test_gunicorn_workers_are_added_up_in_one_scrape(tmp_path):
    port = 8184
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "kb.settings_test",
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{connection.settings_dict['NAME']}",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "3",
        "GUNICORN_KEEPALIVE": "0",
        "METRICS_TOKEN": TOKEN,
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log = (tmp_path / "gunicorn.log").open("w")
    server = start_gunicorn(env, stdout=log)

    def get(path, **headers):
        request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                get("/livez")
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, (tmp_path / "gunicorn.log").read_text()
                time.sleep(0.1)
        for _ in range(40):
            assert get("/")[0] == 200
        assert get("/metrics")[0] == 401
        status, text = get("/metrics", Authorization=f"Bearer {TOKEN}")
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    assert status == 200
    found = samples(text)
    home = frozenset({"view": "articles:home", "method": "GET", "status": "200"}.items())
    # Whichever worker answered the scrape, it reports all 40, however gunicorn spread them.
    assert found[("kb_responses_total", home)] == 40
    assert (
        found[("kb_request_duration_seconds_count", frozenset({"view": "articles:home", "method": "GET"}.items()))]
        == 40
    )


def test_the_search_page_reports_its_searches_and_those_that_found_nothing(client, token, article_factory):
    article_factory(title="Retries with backoff")
    searches, empty = value("kb_searches_total", kind="page"), value("kb_search_zero_results_total", kind="page")
    assert client.get(reverse("search:search"), {"q": "retries"}).status_code == 200
    assert client.get(reverse("search:search"), {"q": "zyxwvutsrq"}).status_code == 200
    assert value("kb_searches_total", kind="page") == searches + 2
    assert value("kb_search_zero_results_total", kind="page") == empty + 1
