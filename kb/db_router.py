"""Reads from a PostgreSQL read replica, writes to the primary.

Active only when DATABASE_REPLICA_URL is set (kb/settings.py adds the
`replica` alias and this router). A replica lags the primary by a moment, so
some reads stay on the primary:

- accounts, sessions, permissions and login throttling, which a request reads
  right after another wrote them (a login, then the next page);
- everything inside a transaction, and everything in a request that is pinned
  by `use_primary()` — `ReplicaPinningMiddleware` pins requests from signed-in
  users (editors must see what they just saved) and requests that write;
  articles.caching pins the rendering of a page shortly after a content change,
  so that a page cached under the new content version is never built from a
  replica that has not caught up yet.
"""

from contextlib import contextmanager
from contextvars import ContextVar

from django.db import connections

REPLICA = "replica"
PRIMARY = "default"
PRIMARY_ONLY_APPS = {"auth", "sessions", "contenttypes", "admin", "axes"}

_pinned: ContextVar[bool] = ContextVar("kb_db_pinned_to_primary", default=False)


@contextmanager
def use_primary():
    token = _pinned.set(True)
    try:
        yield
    finally:
        _pinned.reset(token)


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        if (
            _pinned.get()
            or model._meta.app_label in PRIMARY_ONLY_APPS
            or connections[PRIMARY].in_atomic_block
            or REPLICA not in connections.settings
        ):
            return PRIMARY
        return REPLICA

    def db_for_write(self, model, **hints):
        return PRIMARY

    def allow_relation(self, obj1, obj2, **hints):
        # Both aliases hold the same data.
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == PRIMARY


class ReplicaPinningMiddleware:
    """Signed-in users and writes read from the primary for the whole request."""

    SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method not in self.SAFE_METHODS or request.user.is_authenticated:
            with use_primary():
                return self.get_response(request)
        return self.get_response(request)
