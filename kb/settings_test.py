"""Settings for the test suite: PostgreSQL unless DATABASE_URL says otherwise."""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kb")
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-use-0123456789")

from kb.settings import *  # noqa: E402,F403

# Tests render templates without running collectstatic first.
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
