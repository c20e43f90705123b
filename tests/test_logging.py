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
from tests.servers import start_gunicorn

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


# ---- bad days (#15): a flood of bad Host headers, and Python's warnings, stay one JSON object a line


def test_a_bad_host_header_is_one_warning_line_without_a_traceback(client, caplog):
    with caplog.at_level(logging.INFO):
        response = client.get("/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    [record] = [r for r in caplog.records if r.name == "django.security.DisallowedHost"]
    line = json.loads(JsonFormatter().format(record))
    assert line["level"] == "WARNING"
    assert "evil.example" in line["message"]
    assert "exception" not in line


def test_a_flood_of_bad_host_headers_is_rate_limited_and_the_next_line_counts_what_was_left_out(
    client, caplog, monkeypatch
):
    [host_filter] = logging.getLogger("django.security.DisallowedHost").filters
    monkeypatch.setattr(host_filter, "_window_start", float("-inf"))
    monkeypatch.setattr(host_filter, "_suppressed", 0)
    with caplog.at_level(logging.INFO):
        for i in range(100):
            assert client.get("/", HTTP_HOST=f"scanner-{i}.example").status_code == 400
        monkeypatch.setattr(host_filter, "_window_start", host_filter._window_start - host_filter.window)
        client.get("/", HTTP_HOST="later.example")
    lines = [r for r in caplog.records if r.name == "django.security.DisallowedHost"]
    assert len(lines) == host_filter.limit + 1
    assert lines[-1].suppressed == 100 - host_filter.limit
    assert "later.example" in lines[-1].getMessage()


def test_a_long_bad_host_is_cut_in_the_log(client, caplog):
    with caplog.at_level(logging.INFO):
        client.get("/", HTTP_HOST="a" * 5000 + ".example")
    [record] = [r for r in caplog.records if r.name == "django.security.DisallowedHost"]
    assert len(record.getMessage()) <= 301


def json_lines(text):
    return [json.loads(line) for line in text.splitlines()]  # fails on any line that is not JSON


def test_warnings_and_bad_hosts_are_json_lines_on_stdout_and_nothing_reaches_stderr():
    code = """
import io, struct, warnings
import django; django.setup()
from django.core.paginator import UnorderedObjectListWarning
from django.test import Client
from PIL import Image
warnings.simplefilter("always")
for i in range(3):
    Client().get("/", HTTP_HOST=f"bad-{i}.example")
warnings.warn("Pagination may yield inconsistent results", UnorderedObjectListWarning)
header = b"GIF89a" + struct.pack("<HH", 10000, 10000) + b"\\x80\\0\\0\\0\\0\\0\\xff\\xff\\xff,"
header += struct.pack("<HHHH", 0, 0, 10000, 10000) + b"\\0\\x02\\x02\\x4c\\x01\\0;"
Image.open(io.BytesIO(header))  # 100 megapixels: Pillow's DecompressionBombWarning
"""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "kb.settings_test",
        "ALLOWED_HOSTS": "testserver",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{connection.settings_dict['NAME']}",
    }
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    lines = json_lines(result.stdout)
    hosts = [line for line in lines if line["logger"] == "django.security.DisallowedHost"]
    assert len(hosts) == 3
    assert all(line["level"] == "WARNING" and "exception" not in line for line in hosts)
    warned = [line["message"] for line in lines if line["logger"] == "py.warnings"]
    assert any("UnorderedObjectListWarning" in message for message in warned)
    assert any("DecompressionBombWarning" in message for message in warned)


def test_gunicorn_writes_only_json_lines_when_flooded_with_bad_hosts(tmp_path):
    import time
    import urllib.error
    import urllib.request

    port = 8183
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "kb.settings_test",
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{connection.settings_dict['NAME']}",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "1",
    }
    out, err = (tmp_path / "stdout").open("w"), (tmp_path / "stderr").open("w")
    server = start_gunicorn(env, stdout=out, stderr=err)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/livez", timeout=5).read()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        for i in range(30):
            request = urllib.request.Request(f"http://127.0.0.1:{port}/", headers={"Host": f"flood-{i}.example"})
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(request, timeout=10)
            assert refused.value.code == 400
    finally:
        server.terminate()
        server.wait(timeout=30)
        out.close()
        err.close()
    lines = json_lines((tmp_path / "stdout").read_text()) + json_lines((tmp_path / "stderr").read_text())
    hosts = [line for line in lines if line["logger"] == "django.security.DisallowedHost"]
    assert len(hosts) == 10  # the rest of the 30 left out until the next minute
    assert all(line["level"] == "WARNING" and "exception" not in line for line in hosts)
    assert not [line for line in lines if line["level"] == "ERROR"]
