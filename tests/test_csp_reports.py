"""CSP violation reports: both formats browsers send, one JSON log line each, and every bad post a 4xx."""

import json
import logging

import pytest
from django.urls import reverse

from kb.jsonlog import JsonFormatter

pytestmark = pytest.mark.django_db

URL = "/csp-reports/"

# What Debian's chromium 156 posted for an inline script on a page served over HTTPS, captured as sent.
REPORTING_API_BODY = (
    b'[{"age":0,"body":{"blockedURL":"inline","columnNumber":45,"disposition":"enforce",'
    b'"documentURL":"https://127.0.0.1:8172/","effectiveDirective":"script-src-elem","lineNumber":1,'
    b'"originalPolicy":"script-src \'self\'; report-to g; report-uri /legacy","referrer":"","sample":"",'
    b'"sourceFile":"https://127.0.0.1:8172/","statusCode":200},"type":"csp-violation",'
    b'"url":"https://127.0.0.1:8172/","user_agent":"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 '
    b'(KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36"}]'
)
# The same violation through report-uri (what Firefox and Safari use).
LEGACY_BODY = (
    b'{"csp-report":{"document-uri":"https://127.0.0.1:8172/","referrer":"","violated-directive":"script-src-elem",'
    b'"effective-directive":"script-src-elem","original-policy":"script-src \'self\'; report-uri /legacy",'
    b'"disposition":"enforce","blocked-uri":"inline","line-number":1,"column-number":45,'
    b'"source-file":"https://127.0.0.1:8172/","status-code":200,"script-sample":""}}'
)
EXPECTED = {
    "document_url": "https://127.0.0.1:8172/",
    "blocked_url": "inline",
    "effective_directive": "script-src-elem",
    "disposition": "enforce",
    "source_file": "https://127.0.0.1:8172/",
    "line_number": 1,
    "column_number": 45,
    "status_code": 200,
    "referrer": "",
    "sample": "",
}


def post(client, body, content_type="application/reports+json", **extra):
    # The content type is sent even with an empty body (the test client would drop it).
    return client.generic("POST", URL, body, content_type=content_type, **{"CONTENT_TYPE": content_type, **extra})


@pytest.fixture
def csp_lines(caplog):
    """The kb.csp records as the production formatter writes them: one JSON object each."""
    caplog.set_level(logging.INFO, logger="kb.csp")

    def lines():
        return [json.loads(JsonFormatter().format(r)) for r in caplog.records if r.name == "kb.csp"]

    return lines


def test_the_endpoint_is_the_one_the_policy_and_reporting_endpoints_name(client):
    response = client.get(reverse("articles:home"))

    assert reverse("csp-report") == URL
    assert response["Reporting-Endpoints"] == f'csp-endpoint="{URL}"'
    policy = dict(part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";"))
    assert policy["report-to"] == "csp-endpoint"
    assert policy["report-uri"] == URL


@pytest.mark.parametrize(
    ("body", "content_type", "via"),
    [
        (REPORTING_API_BODY, "application/reports+json", "report-to"),
        (LEGACY_BODY, "application/csp-report", "report-uri"),
        (LEGACY_BODY, "application/json", "report-uri"),
    ],
)
def test_a_browsers_report_becomes_one_json_log_line(client, csp_lines, body, content_type, via):
    response = post(client, body, content_type)

    assert response.status_code == 204
    assert response["Cache-Control"] == "no-store"
    (line,) = csp_lines()
    assert line["level"] == "WARNING"
    assert line["message"] == "CSP violation: script-src-elem blocked inline"
    assert line["csp_violation"] == EXPECTED
    assert line["report_via"] == via


def test_a_batch_logs_each_csp_violation_and_ignores_other_report_types(client, csp_lines):
    batch = [
        {
            "type": "csp-violation",
            "body": {"blockedURL": f"https://evil.example/{n}.js", "effectiveDirective": "script-src-elem"},
        }
        for n in range(3)
    ]
    batch.insert(1, {"type": "deprecation", "body": {"id": "Something", "message": "old"}})

    assert post(client, json.dumps(batch)).status_code == 204

    assert [line["csp_violation"]["blocked_url"] for line in csp_lines()] == [
        f"https://evil.example/{n}.js" for n in range(3)
    ]
    assert post(client, json.dumps([batch[1]])).status_code == 204
    assert len(csp_lines()) == 3


def test_no_csrf_token_is_needed(csp_lines):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)

    assert post(strict, LEGACY_BODY, "application/csp-report").status_code == 204


def test_a_body_over_the_limit_is_refused_with_413_and_not_logged(client, csp_lines, settings):
    padding = "x" * settings.CSP_REPORT_MAX_BYTES
    body = json.dumps({"csp-report": {"blocked-uri": padding}})

    assert post(client, body, "application/csp-report").status_code == 413
    # Refused on the declared length, before anything is read.
    declared = str(settings.CSP_REPORT_MAX_BYTES + 1)
    assert post(client, LEGACY_BODY, "application/csp-report", CONTENT_LENGTH=declared).status_code == 413
    assert csp_lines() == []


def test_long_fields_are_cut_and_unknown_fields_dropped(client, csp_lines):
    report = {
        "csp-report": {
            "blocked-uri": "https://x.example/" + "a" * 2000,
            "document-uri": 'https://kb.example/\n{"level": "forged"}',
            "original-policy": "default-src 'self'",
            "injected": "value",
            "line-number": "12",
            "column-number": True,
            "status-code": 10**30,
        }
    }

    assert post(client, json.dumps(report), "application/csp-report").status_code == 204

    (line,) = csp_lines()
    fields = line["csp_violation"]
    assert len(fields["blocked_url"]) == 300
    assert fields["document_url"] == 'https://kb.example/\n{"level": "forged"}'
    assert set(fields) == {"blocked_url", "document_url"}
    formatted = JsonFormatter().format(logging.makeLogRecord({"name": "kb.csp", "msg": "x", "csp_violation": fields}))
    assert "\n" not in formatted


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (LEGACY_BODY, "text/plain", 415),
        (LEGACY_BODY, "application/x-www-form-urlencoded", 415),
        (b"", "application/csp-report", 400),
        (b"not json", "application/csp-report", 400),
        (b"\xff\xfe\x00garbage", "application/reports+json", 400),
        (b"[1, 2, 3]", "application/csp-report", 400),
        (b'{"csp-report": "a string"}', "application/csp-report", 400),
        (b'{"something": "else"}', "application/json", 400),
        (b'{"csp-report": {}}', "application/reports+json", 400),
        (b'{"csp-report": {}}', "application/csp-report", 400),
        (b'{"csp-report": {"blocked-uri": ["a", "list"]}}', "application/csp-report", 400),
        (b"[" * 4000 + b"]" * 4000, "application/reports+json", 400),
        (b'"just a string"', "application/reports+json", 400),
        (b"null", "application/csp-report", 400),
    ],
)
def test_anything_that_is_not_a_report_is_a_4xx_never_a_500(client, csp_lines, body, content_type, status):
    assert post(client, body, content_type).status_code == status
    assert csp_lines() == []


def test_only_post_is_accepted(client):
    assert client.get(URL).status_code == 405
    assert client.put(URL, LEGACY_BODY, content_type="application/csp-report").status_code == 405


def test_a_post_carries_at_most_so_many_reports(client, csp_lines, settings):
    settings.CSP_REPORT_MAX_PER_POST = 3
    batch = [{"type": "csp-violation", "body": {"blockedURL": "eval"}} for _ in range(10)]

    assert post(client, json.dumps(batch)).status_code == 204

    assert len(csp_lines()) == 3


def test_reports_are_taken_without_the_database(client, csp_lines, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert post(client, REPORTING_API_BODY).status_code == 204


def test_each_client_is_rate_limited_in_redis_and_so_is_the_whole_site(client, csp_lines, redis_cache, settings):
    settings.CSP_REPORT_RATE_PER_MINUTE = 4  # bursts of 2
    settings.CSP_REPORT_SITE_RATE_PER_MINUTE = 1000

    statuses = [post(client, LEGACY_BODY, "application/csp-report").status_code for _ in range(5)]

    assert statuses[:2] == [204, 204]
    assert statuses[-1] == 429
    assert len(csp_lines()) == statuses.count(204)
    # Another address has its own allowance...
    assert post(client, LEGACY_BODY, "application/csp-report", REMOTE_ADDR="192.0.2.7").status_code == 204
    # ...until the site-wide one is spent, whoever sends.
    settings.CSP_REPORT_SITE_RATE_PER_MINUTE = 10  # bursts of 1, and one was just taken
    addresses = [f"198.51.100.{n}" for n in range(5)]
    site = [post(client, LEGACY_BODY, "application/csp-report", REMOTE_ADDR=a).status_code for a in addresses]
    assert 429 in site


def test_the_rate_limit_does_not_share_the_search_budget(client, redis_cache, settings):
    from kb import throttle

    settings.EXPENSIVE_RATE_PER_MINUTE = 1
    settings.EXPENSIVE_RATE_BURST = 1
    assert throttle.wait_seconds("127.0.0.1") == 0
    assert throttle.wait_seconds("127.0.0.1") > 0  # searches spent

    assert post(client, LEGACY_BODY, "application/csp-report").status_code == 204
