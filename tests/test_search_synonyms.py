"""Synonyms editors manage (#13): searched too, shown as "Also searched for", on PostgreSQL and SQLite."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

from articles.models import Article
from search import engine, synonyms
from search.models import Synonym
from tests.search_helpers import result_slugs

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent


def page(client, **params):
    return client.get(reverse("search:search"), params).content.decode()


def test_the_first_list_comes_with_the_database():
    assert Synonym.objects.count() >= 40
    assert str(Synonym.objects.get(term="hpa")) == "hpa = horizontal pod autoscaler"
    assert Synonym.objects.get(term="otel").means == "opentelemetry"


def test_a_term_is_replaced_by_what_it_means_and_back():
    assert synonyms.expand("hpa") == ["horizontal pod autoscaler"]
    assert synonyms.expand("how does the hpa scale") == ["how does the horizontal pod autoscaler scale"]
    assert synonyms.expand("Horizontal Pod Autoscaler") == ["hpa"]  # two-way
    assert synonyms.expand("k8s otel") == ["kubernetes opentelemetry"]
    assert synonyms.expand("circuit breaker") == []


def test_queries_with_search_syntax_are_searched_as_typed():
    assert synonyms.expand('"hpa"') == []
    assert synonyms.expand("hpa -kubernetes") == []


def test_the_page_says_what_else_it_searched_for(client, seeded):
    html = page(client, q="hpa")
    assert result_slugs(html)[0] == "kubernetes-deployment-patterns-for-production-services"
    assert re.search(r"Also searched for “horizontal pod autoscaler”", html)
    assert "data-also-searched" not in page(client, q="circuit breaker")


def test_a_shorthand_only_a_synonym_knows_finds_its_article(client, seeded):
    assert engine.run(Article.objects.published(), "authn").total > 0
    assert result_slugs(page(client, q="authn"))  # "authentication" is in many articles, "authn" in none


def test_an_editors_change_applies_to_the_next_search(client, seeded):
    assert result_slugs(page(client, q="xyzzyq")) == []
    entry = Synonym.objects.create(term="xyzzyq", means="strangler fig", two_way=False)
    assert result_slugs(page(client, q="xyzzyq"))[0] == "extracting-microservices-from-a-monolith"
    entry.means = "token bucket"
    entry.save()
    assert result_slugs(page(client, q="xyzzyq"))[0] == "implementing-rate-limiting-in-apis"
    entry.delete()
    assert result_slugs(page(client, q="xyzzyq")) == []


def test_editors_manage_synonyms_in_the_admin(admin_client):
    changelist = admin_client.get(reverse("admin:search_synonym_changelist"))
    assert changelist.status_code == 200
    assert "horizontal pod autoscaler" in changelist.content.decode()
    response = admin_client.post(
        reverse("admin:search_synonym_add"), {"term": "pgb", "means": "pgbouncer", "two_way": "on"}
    )
    assert response.status_code == 302
    assert synonyms.expand("pgb pool") == ["pgbouncer pool"]


SQLITE_CHECK = """
import json, re
import django
django.setup()
from django.core.management import call_command
from django.test import Client
from django.test.utils import setup_test_environment
setup_test_environment()
call_command("migrate", verbosity=0)
call_command("load_seed", verbosity=0)
html = Client().get("/search/", {"q": "hpa"}).content.decode()
print(json.dumps({"slugs": re.findall(r'data-article="([^"]+)"', html), "also": "Also searched for" in html}))
"""


def test_synonyms_apply_on_sqlite_too(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(DJANGO_SETTINGS_MODULE="kb.settings", DEBUG="1", DATABASE_URL=f"sqlite:///{tmp_path / 'kb.sqlite3'}")
    result = subprocess.run(
        [sys.executable, "-c", SQLITE_CHECK], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["also"]
    assert out["slugs"][0] == "kubernetes-deployment-patterns-for-production-services"
