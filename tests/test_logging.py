"""One JSON line per request on stdout, with the request id; errors logged with tracebacks, never shown."""

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection
from django.urls import reverse

from kb.jsonlog import JsonFormatter

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent


def request_lines(caplog):
    return [json.loads(JsonFormatter().format(r)) for r in caplog.records if r.name == "kb.request"]


def test_each_request_logs_one_json_line_with_its_fields(client, caplog, article_factory):
    article = article_factory()
    with caplog.at_level(logging.INFO, logger="kb.request"):
        response = client.get(article.get_absolute_url(), HTTP_X_REQUEST_ID="lb-4f2a.91_c")
    assert response.status_code == 200
    [line] = request_lines(caplog)
    assert line["request_id"] == "lb-4f2a.91_c"
    assert line["method"] == "GET"
    assert line["path"] == article.get_absolute_url()
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] > 0
    assert line["user_id"] is None
    assert line["time"].endswith("+00:00")
    assert line["level"] == "INFO"


def test_the_request_id_is_echoed_back(client):
    response = client.get(reverse("articles:home"), HTTP_X_REQUEST_ID="abc-123")
    assert response["X-Request-ID"] == "abc-123"


@pytest.mark.parametrize(
    "given",
    ["", "x" * 129, "has space", "new\nline", 'quote"d', "emoji-✓", "semi;colon"],
)
def test_an_unusable_request_id_is_replaced_by_a_generated_one(client, caplog, given):
    with caplog.at_level(logging.INFO, logger="kb.request"):
        response = client.get(reverse("articles:home"), HTTP_X_REQUEST_ID=given)
    generated = response["X-Request-ID"]
    assert generated != given
    assert len(generated) == 32 and all(c in "0123456789abcdef" for c in generated)
    assert request_lines(caplog)[0]["request_id"] == generated


def test_a_request_without_an_id_gets_a_fresh_one_each_time(client):
    first = client.get(reverse("articles:home"))["X-Request-ID"]
    second = client.get(reverse("articles:home"))["X-Request-ID"]
    assert first != second


def test_the_signed_in_user_id_is_logged(client, caplog, staff_user):
    client.force_login(staff_user)
    with caplog.at_level(logging.INFO, logger="kb.request"):
        client.get(reverse("articles:home"))
    assert request_lines(caplog)[0]["user_id"] == staff_user.pk


@pytest.mark.urls("tests.urls_with_error")
def test_an_error_is_logged_with_its_traceback_and_never_shown(client, caplog):
    client.raise_request_exception = False
    with caplog.at_level(logging.INFO):
        response = client.get("/broken/", HTTP_X_REQUEST_ID="req-err-1")
    assert response.status_code == 500
    page = response.content.decode()
    assert "Something went wrong" in page
    assert "secret internals" not in page and "Traceback" not in page

    [error] = [json.loads(JsonFormatter().format(r)) for r in caplog.records if r.name == "django.request"]
    assert error["level"] == "ERROR"
    assert error["request_id"] == "req-err-1"
    assert "Traceback (most recent call last)" in error["exception"]
    assert "RuntimeError: the secret internals of a bug" in error["exception"]
    [line] = request_lines(caplog)
    assert line["status"] == 500 and line["request_id"] == "req-err-1"


def test_the_lines_go_to_stdout_as_json():
    """The real logging configuration, in a fresh process: every stdout line parses as JSON."""
    code = (
        "import django; django.setup();"
        "from django.test import Client;"
        "Client().get('/', HTTP_X_REQUEST_ID='from-the-proxy')"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "kb.settings_test",
        "ALLOWED_HOSTS": "testserver",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{connection.settings_dict['NAME']}",
    }
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    [request] = [line for line in lines if line["logger"] == "kb.request"]
    assert request["request_id"] == "from-the-proxy"
    assert request["path"] == "/"
    assert request["status"] == 200
