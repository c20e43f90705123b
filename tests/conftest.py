import uuid

import pytest
import redis
from django.core.cache import caches

from articles.seed import load_seed
from tests import seed_snapshot
from tests.factories import ArticleFactory, CategoryFactory, UserFactory

# The machine's Redis, on a database of the tests' own; each test also has its own key prefix.
REDIS_URL = "redis://127.0.0.1:6379/13"


@pytest.fixture(scope="session", autouse=True)
def no_session_left_on_the_test_database(django_db_setup, django_db_blocker):
    """Ends what is still connected to this worker's test database before pytest-django drops it.

    Something a test started (a server of tests/servers.py, a thread) could
    still be connected when the session ended, and dropping the database then
    failed ("is being accessed by other users", in 4 of 5 full runs on one
    machine, the code before this change included), leaving it behind.
    """
    yield
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture
def category(db):
    return CategoryFactory(name="Product Engineering", slug="product-engineering")


@pytest.fixture
def article_factory(db):
    return ArticleFactory


@pytest.fixture
def staff_user(db):
    return UserFactory(username="staff", is_staff=True)


@pytest.fixture
def seeded(db):
    """The 52 seed articles, loaded the way `make run` loads them (once a process: tests/seed_snapshot.py)."""
    return seed_snapshot.load(load_seed)


def role(group_name):
    """One of the groups migration 0005 creates (with search 0003's permissions for Editors).

    Transactional (browser) tests flush the database afterwards, data
    migrations included, so the group is made again from the same definition
    when it is missing.
    """
    from importlib import import_module

    from django.contrib.auth.models import Group, Permission

    group, created = Group.objects.get_or_create(name=group_name)
    if created:
        codenames = import_module("articles.migrations.0005_roles").ROLES[group_name]
        group.permissions.set(
            Permission.objects.filter(content_type__app_label__in=["articles", "taggit"], codename__in=codenames)
        )
        if group_name == "Editors":  # search's migration 0003 gives Editors the promotions and the report
            search_codenames = import_module("search.migrations.0003_promotions_analytics").EDITOR_PERMISSIONS
            group.permissions.add(
                *Permission.objects.filter(content_type__app_label="search", codename__in=search_codenames)
            )
    return group


def member_of(group_name, username):
    """A staff user in one of the groups migration 0005 creates."""
    user = UserFactory(username=username, is_staff=True)
    user.groups.add(role(group_name))
    return user


@pytest.fixture
def editor(db):
    return member_of("Editors", "edith")


@pytest.fixture
def author(db):
    return member_of("Authors", "arthur")


@pytest.fixture
def editor_client(client, editor):
    client.force_login(editor)
    return client


@pytest.fixture
def author_client(client, author):
    client.force_login(author)
    return client


@pytest.fixture
def redis_cache(settings):
    """The Redis backend, as production uses it, on its own database and key prefix; removed afterwards."""
    prefix = f"kb-test-{uuid.uuid4().hex[:8]}"
    settings.CACHES = {
        "default": {
            "BACKEND": "kb.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": prefix,
        }
    }
    yield prefix
    watch = getattr(caches["default"], "_version_watch", None)
    if watch is not None:
        watch.close()
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)


@pytest.fixture(autouse=True)
def _data_migration_rows(request):
    """The rows data migrations write, present in every test that uses the database in a transaction.

    A transactional (browser) test flushes the database when it ends, data
    migrations' rows included. pytest-django runs those tests last, but under
    pytest-xdist a worker takes whole files in turn, so a later file on the
    same worker would find no roles and no synonyms. They are put back, inside the test's
    transaction, by the migration's own function.
    """
    marker = request.node.get_closest_marker("django_db")
    transactional = "transactional_db" in request.fixturenames or "live_server" in request.fixturenames
    if marker is not None:
        transactional = transactional or marker.kwargs.get("transaction", bool(marker.args and marker.args[0]))
    if transactional or (marker is None and "db" not in request.fixturenames):
        return
    request.getfixturevalue("db")
    from importlib import import_module
    from types import SimpleNamespace

    from django.apps import apps
    from django.contrib.auth.models import Group
    from django.db import connection

    from search import synonyms
    from search.models import Synonym

    if Group.objects.filter(name__in=["Editors", "Authors"]).count() < 2:
        role("Editors")
        role("Authors")
    if not Synonym.objects.exists():
        import_module("search.migrations.0002_synonyms").add_first_list(apps, SimpleNamespace(connection=connection))
        synonyms.synonyms_changed()
