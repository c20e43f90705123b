"""Settings for the test suite: PostgreSQL unless DATABASE_URL says otherwise."""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kb")
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-use-0123456789")
# The test client speaks plain HTTP; tests of HTTPS behaviour pass secure=True.
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")

from kb.settings import *  # noqa: E402,F403

# Tests render templates without running collectstatic first.
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# This process's memory, whatever REDIS_URL says (tests/test_caching.py also
# runs against a real Redis). The page cache is off by default: many tests
# simulate the clock passing with a queryset .update(), which a cache keyed on
# saves and real time cannot see; tests/test_caching.py turns it on.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "kb-tests"}}
PAGE_CACHE = False
