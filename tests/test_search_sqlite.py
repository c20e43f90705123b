"""The search page on SQLite, the zero-setup database of `make run`.

The suite's database is PostgreSQL, so this runs the real commands in a child
process against a fresh SQLite file: migrate (which creates the FTS5 table),
load the seed, then search through Django's test client.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHECK = """
import json, re
import django
django.setup()
from django.core.management import call_command
from django.test import Client
from django.test.utils import setup_test_environment
setup_test_environment()
call_command("migrate", verbosity=0)
call_command("load_seed", verbosity=0)
from articles.models import Article
client = Client()
out = {}
for q in ["refresh token", "webhook signature", "'", "- or !", "🔥", "N+1"]:
    r = client.get("/search/", {"q": q})
    html = r.content.decode()
    out[q] = {
        "status": r.status_code,
        "count": int(re.search(r'data-result-count="(\\d+)"', html).group(1)),
        "slugs": re.findall(r'data-article="([^"]+)"', html),
        "marks": html.count("<mark>"),
    }
typo = client.get("/search/", {"q": "idempotncy keys"}).content.decode()
out["typo"] = {
    "suggestion": re.findall(r'data-suggestion="([^"]+)"', typo),
    "slugs": re.findall(r'data-article="([^"]+)"', typo),
}
draft = Article.objects.get(slug="load-testing-with-k6")
draft.status = "draft"
draft.save()
out["after_unpublish"] = re.findall(r'data-article="([^"]+)"', client.get("/search/", {"q": "k6"}).content.decode())
Article.objects.filter(slug="designing-a-reliable-webhook-system").delete()
out["deleted"] = re.findall(r'data-article="([^"]+)"', client.get("/search/", {"q": "webhook"}).content.decode())
print(json.dumps(out))
"""


def test_search_page_works_on_sqlite_with_fts5(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(
        DJANGO_SETTINGS_MODULE="kb.settings",
        DEBUG="1",
        DATABASE_URL=f"sqlite:///{tmp_path / 'kb.sqlite3'}",
    )
    result = subprocess.run(
        [sys.executable, "-c", CHECK], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])

    refresh = out["refresh token"]
    assert refresh["status"] == 200
    assert refresh["slugs"][0] == "jwt-authentication-implementation-and-security-patterns"
    assert refresh["marks"] > 0
    assert out["webhook signature"]["slugs"][0] == "designing-a-reliable-webhook-system"
    for q in ["'", "- or !", "🔥"]:
        assert out[q]["status"] == 200
    assert out["N+1"]["count"] > 0
    # Typo correction from the stored vocabulary works on SQLite too.
    assert out["typo"]["suggestion"] == ["idempotency keys"]
    assert out["typo"]["slugs"][0] == "api-idempotency-safe-retries-for-mutations"
    assert "load-testing-with-k6" not in out["after_unpublish"]
    assert out["deleted"] and "designing-a-reliable-webhook-system" not in out["deleted"]
