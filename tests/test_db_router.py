"""Read replicas: reads go to DATABASE_REPLICA_URL's database, writes and sensitive reads to the primary."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = """
import django
django.setup()
from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.db import connections, router, transaction
from django.test.utils import CaptureQueriesContext
from articles.models import Article
from kb.db_router import use_primary

assert settings.DATABASE_ROUTERS == ["kb.db_router.ReplicaRouter"]
assert "kb.db_router.ReplicaPinningMiddleware" in settings.MIDDLEWARE
assert settings.DATABASES["replica"]["TEST"]["MIRROR"] == "default"
assert "pool" in settings.DATABASES["replica"]["OPTIONS"]

print("article read:", router.db_for_read(Article))
print("article write:", router.db_for_write(Article))
print("user read:", router.db_for_read(User))
print("session read:", router.db_for_read(Session))
with use_primary():
    print("pinned article read:", router.db_for_read(Article))
with transaction.atomic():
    print("read in a transaction:", router.db_for_read(Article))
print("migrate on replica:", router.allow_migrate("replica", "articles"))
print("migrate on primary:", router.allow_migrate("default", "articles"))

# A real query: it runs on the replica's connection.
with CaptureQueriesContext(connections["replica"]) as replica, CaptureQueriesContext(connections["default"]) as primary:
    Article.objects.count()
print("queries on replica/primary:", len(replica), len(primary))
"""


def test_reads_go_to_the_replica_and_writes_sessions_and_transactions_to_the_primary():
    database = connection.settings_dict["NAME"]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "kb.settings_test",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{database}",
        # The same server stands in for a replica: routing is what is tested here.
        "DATABASE_REPLICA_URL": f"postgres://postgres@127.0.0.1:5432/{database}",
    }
    result = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "article read: replica",
        "article write: default",
        "user read: default",
        "session read: default",
        "pinned article read: default",
        "read in a transaction: default",
        "migrate on replica: False",
        "migrate on primary: True",
        "queries on replica/primary: 1 0",
    ]


def test_without_a_replica_url_there_is_no_router():
    from django.conf import settings

    assert "replica" not in settings.DATABASES
    assert not getattr(settings, "DATABASE_ROUTERS", [])
