"""/livez and /readyz: answered before host validation, HTTPS redirects and sessions."""

import json

import pytest
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kb import health

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_migration_check(monkeypatch):
    monkeypatch.setattr(health, "_migrations_checked", False)


def test_livez_is_a_tiny_200_without_touching_the_database(client):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("livez"))
    assert response.status_code == 200
    assert response.content == b"ok\n"
    assert response["Cache-Control"] == "no-store"
    assert len(queries) == 0


def test_readyz_is_200_when_the_database_answers_and_every_migration_is_applied(client):
    response = client.get(reverse("readyz"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_503_with_the_pending_migration_named_when_one_is_unapplied(client):
    latest = MigrationRecorder.Migration.objects.filter(app="articles").order_by("-name").first()
    latest.delete()  # as if the code had a migration that `migrate` has not run yet
    response = client.get(reverse("readyz"))
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "reason": "unapplied migrations",
        "migrations": [f"articles.{latest.name}"],
    }


@pytest.mark.parametrize("name", ["livez", "readyz"])
def test_probes_answer_any_host_header(client, settings, name):
    settings.ALLOWED_HOSTS = ["kb.example.com"]
    response = client.get(reverse(name), HTTP_HOST="10.0.3.17:8000")
    assert response.status_code == 200
    # A normal page from the same client is refused for that host.
    assert client.get(reverse("articles:home"), HTTP_HOST="10.0.3.17:8000").status_code == 400


@pytest.mark.parametrize("name", ["livez", "readyz"])
def test_probes_over_plain_http_are_not_redirected_to_https(client, settings, name):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get(reverse(name)).status_code == 200
    assert client.get(reverse("articles:home")).status_code == 301


def test_probes_use_no_session_and_set_no_cookie(client):
    client.cookies["sessionid"] = "a-session-that-does-not-exist"
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("readyz"))
    assert response.status_code == 200
    assert not response.cookies
    assert not any("django_session" in query["sql"] for query in queries)


def test_readyz_reason_is_json_for_machines(client):
    response = client.get(reverse("readyz"))
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content)["status"] == "ok"
