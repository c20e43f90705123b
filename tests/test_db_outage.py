"""The site survives a PostgreSQL outage: 503 pages while the database is unreachable, recovery by itself after.

The database is made unreachable for real, without touching the shared server:
the app, served by gunicorn with its connection pool, reaches PostgreSQL
through a TCP relay that this test cuts (dropping every open connection and
refusing new ones, as a restarting server does) or freezes (connections stay
open but nothing comes back, as behind a hung proxy or a silent firewall),
and then restores (#15).
"""

import json
import os
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

from tests.relay import Relay
from tests.servers import start_gunicorn

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
RELAY_PORT = 8181

APP_PORT = 8182

# Short limits, so that each bound is measured in seconds: statements 1.5 s, a request's database time 2.5 s,
# a silent connection given 0.5 s past them, a pooled connection's check 0.5 s, a request waiting 1 s for one.
LIMITS = {
    "DB_STATEMENT_TIMEOUT_MS": "1500",
    "DB_REQUEST_TIMEOUT_MS": "2500",
    "DB_STALL_GRACE_MS": "500",
    "DB_CHECK_TIMEOUT_MS": "500",
    "DB_POOL_TIMEOUT": "1",
    "DB_CONNECT_TIMEOUT": "2",
    "DB_PROBE_INTERVAL_MS": "200",
}


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
        **LIMITS,
    }
    log = (tmp_path / "gunicorn.log").open("w")
    server = start_gunicorn(env, stdout=log)
    opener = urllib.request.build_opener(NoRedirect)

    def get(path):
        started = time.monotonic()
        try:
            with opener.open(f"http://127.0.0.1:{APP_PORT}{path}", timeout=15) as response:
                page = {"status": response.status, "headers": response.headers, "body": response.read().decode()}
        except urllib.error.HTTPError as error:
            page = {"status": error.code, "headers": error.headers, "body": error.read().decode()}
        page["seconds"] = time.monotonic() - started
        return page

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
    assert json.loads(ready["body"])["status"] == "unavailable"
    assert json.loads(ready["body"])["reason"].startswith("database unreachable")
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


def wait_for(app, path, status, seconds=10):
    deadline = time.monotonic() + seconds
    while (page := app(path))["status"] != status and time.monotonic() < deadline:
        time.sleep(0.1)
    return page


def test_a_frozen_database_costs_an_uncached_page_seconds_then_fails_fast_and_recovers(relay, app):
    assert app("/")["status"] == 200
    assert app("/readyz")["status"] == 200

    relay.frozen.set()  # PostgreSQL stops answering; every connection stays open

    first = app("/")
    assert first["status"] == 503 and "briefly unavailable" in first["body"]
    # Bounded by the pooled connection's check (0.5 s) and the wait for another connection (1 s), or by the
    # statement's limit and its grace (2 s): far below gunicorn's 30 s, where it used to have no end.
    assert first["seconds"] < 3.5, first["seconds"]
    # The process now knows: the next requests fail at once, the probe too.
    for path in ["/", "/articles/anything/", "/search/?q=frozen", "/"]:
        page = app(path)
        assert page["status"] == 503 and page["seconds"] < 0.5, (path, page["seconds"])
    ready = app("/readyz")
    assert ready["status"] == 503 and ready["seconds"] < 1
    assert app("/livez")["status"] == 200

    relay.frozen.clear()  # it answers again: the same process recovers by itself
    started = time.monotonic()
    assert wait_for(app, "/", 200)["status"] == 200
    assert time.monotonic() - started < 5
    assert app("/readyz")["status"] == 200


def test_readyz_answers_within_a_second_when_the_database_freezes(relay, app):
    assert app("/readyz")["status"] == 200
    relay.frozen.set()
    ready = app("/readyz")
    assert ready["status"] == 503, ready
    assert ready["seconds"] < 1.2, ready["seconds"]
    assert json.loads(ready["body"])["reason"].startswith("database unreachable")
    relay.frozen.clear()
    assert wait_for(app, "/readyz", 200)["status"] == 200


def test_refused_connections_fail_fast_after_the_first(relay, app):
    assert app("/")["status"] == 200
    relay.cut()
    first = app("/api/v1/articles")  # the API finds it down first: its own JSON 503, and the process knows
    assert first["status"] == 503 and first["headers"]["Content-Type"] == "application/problem+json"
    after = [app(path) for path in ["/", "/articles/anything/", "/search/?q=x", "/api/v1/articles"] * 3]
    assert all(page["status"] == 503 for page in after)
    assert after[-1]["headers"]["Content-Type"] == "application/problem+json"
    # Without the breaker each of these waited DB_POOL_TIMEOUT (1 s here, 5 s by default).
    slowest = max(page["seconds"] for page in after)
    assert slowest < 0.3, slowest
    relay.start()
    assert wait_for(app, "/", 200)["status"] == 200


def test_a_statement_to_a_server_that_stops_answering_is_cut_at_its_limit_plus_the_grace(relay, settings):
    """In-process, through the request deadline (kb/deadline.py) and the watchdog (kb/dbguard.py)."""
    from django.db.backends.postgresql.base import DatabaseWrapper
    from django.db.utils import OperationalError

    from kb import deadline

    settings.DB_STATEMENT_TIMEOUT_MS = 1000
    settings.DB_STALL_GRACE_MS = 300
    options = {key: value for key, value in connection.settings_dict["OPTIONS"].items() if key != "pool"}
    relayed = DatabaseWrapper({**connection.settings_dict, "PORT": RELAY_PORT, "OPTIONS": options}, alias="default")
    try:
        with deadline.request_deadline(5000), relayed.execute_wrapper(deadline._wrapper):
            with relayed.cursor() as cursor:
                cursor.execute("SELECT 1")
            relay.frozen.set()
            started = time.monotonic()
            with pytest.raises(OperationalError), relayed.cursor() as cursor:
                cursor.execute("SELECT 1")
            elapsed = time.monotonic() - started
        assert 1.2 <= elapsed < 2.0, elapsed  # the statement's 1 s, the 0.3 s grace, never the freeze's length
    finally:
        relay.frozen.clear()
        relayed.close()


def test_every_connection_has_keepalives_and_a_tcp_user_timeout(settings):
    """What bounds a real network partition (which a relay on this machine cannot make): the kernel's own timers."""
    import socket

    with connection.cursor():
        fd = connection.connection.pgconn.socket
    sock = socket.socket(fileno=os.dup(fd))
    try:
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == settings.DB_KEEPALIVES_IDLE
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL) == settings.DB_KEEPALIVES_INTERVAL
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT) == 3
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT) == settings.DB_TCP_USER_TIMEOUT_MS
    finally:
        sock.detach()
