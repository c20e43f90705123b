"""The site survives a PostgreSQL outage: 503 pages while the database is unreachable, recovery by itself after.

The database is made unreachable for real, without touching the shared server:
the app, served by gunicorn with its connection pool, reaches PostgreSQL
through a TCP relay that this test cuts (dropping every open connection and
refusing new ones, as a restarting server does) and then restores.
"""

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

from tests.relay import Relay

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
RELAY_PORT = 8051

APP_PORT = 8053


@pytest.fixture
def relay():
    relay = Relay(RELAY_PORT)
    relay.start()
    yield relay
    if relay.listener is not None:
        relay.cut()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.fixture
def app(tmp_path):
    """gunicorn serving the app, as in production: a real WSGI server returns connections to the pool."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "kb.settings_test",
        # The test database, whose tables exist (this test's rows are not committed, which is fine).
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{RELAY_PORT}/{connection.settings_dict['NAME']}",
        "ALLOWED_HOSTS": "127.0.0.1",
        "GUNICORN_BIND": f"127.0.0.1:{APP_PORT}",
        "WEB_CONCURRENCY": "1",
        "GUNICORN_THREADS": "2",
        "DB_POOL_TIMEOUT": "1",
        "DB_CONNECT_TIMEOUT": "2",
    }
    log = (tmp_path / "gunicorn.log").open("w")
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "--config", "gunicorn.conf.py", "kb.wsgi:application"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    opener = urllib.request.build_opener(NoRedirect)

    def get(path):
        try:
            with opener.open(f"http://127.0.0.1:{APP_PORT}{path}", timeout=15) as response:
                return {"status": response.status, "headers": response.headers, "body": response.read().decode()}
        except urllib.error.HTTPError as error:
            return {"status": error.code, "headers": error.headers, "body": error.read().decode()}

    deadline = time.monotonic() + 20
    while True:
        try:
            get("/livez")
            break
        except OSError:
            assert server.poll() is None and time.monotonic() < deadline, (tmp_path / "gunicorn.log").read_text()
            time.sleep(0.1)
    yield get
    server.terminate()
    server.wait(timeout=30)
    log.close()


def test_pages_fail_cleanly_with_503_while_the_database_is_down_and_recover_by_themselves(relay, app):
    assert app("/")["status"] == 200
    assert app("/readyz")["status"] == 200

    relay.cut()  # PostgreSQL goes away: open connections drop, new ones are refused.

    for path in ["/", "/categories/product-engineering/", "/articles/anything/", "/search/?q=retry"]:
        page = app(path)
        assert page["status"] == 503, path
        assert "briefly unavailable" in page["body"]
        assert 'href="/static/css/site.css"' in page["body"]  # the site's design, not a bare error
        assert "Traceback" not in page["body"] and "OperationalError" not in page["body"]
        assert page["headers"]["Retry-After"] == "10"
    ready = app("/readyz")
    assert ready["status"] == 503
    assert json.loads(ready["body"]) == {"status": "unavailable", "reason": "database unreachable (OperationalError)"}
    assert app("/livez")["status"] == 200  # the process itself is fine: don't restart it

    relay.start()  # PostgreSQL is back; the same process, never restarted, recovers.
    deadline = time.monotonic() + 15
    while (status := app("/")["status"]) != 200 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert status == 200
    assert app("/readyz")["status"] == 200
    assert app("/search/?q=retry")["status"] == 200


def test_an_unreachable_database_from_the_start_gives_503_not_500(app_on_closed_port):
    page = app_on_closed_port("/")
    assert page["status"] == 503
    assert "briefly unavailable" in page["body"]
    assert app_on_closed_port("/readyz")["status"] == 503
    assert app_on_closed_port("/livez")["status"] == 200


@pytest.fixture
def app_on_closed_port(relay, app):
    relay.cut()  # nothing listens on the relay's port
    return app
