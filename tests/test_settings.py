"""Settings are read in a fresh interpreter: they are evaluated once per process."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def evaluate(expression, **env):
    """Run `kb.settings` with exactly these variables and print `expression`."""
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG", "DATABASE_URL", "ALLOWED_HOSTS"}}
    clean.update(env, DJANGO_SETTINGS_MODULE="kb.settings")
    code = f"import django; django.setup(); from django.conf import settings; print({expression})"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True)


def test_production_refuses_to_start_without_a_secret_key():
    result = evaluate("settings.DEBUG", DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_debug_has_a_development_secret_key():
    result = evaluate("settings.DEBUG", DEBUG="1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


def test_a_bad_boolean_fails_loudly():
    result = evaluate("settings.DEBUG", DEBUG="maybe", SECRET_KEY="x" * 50)
    assert result.returncode != 0
    assert "DEBUG must be one of" in result.stderr


def test_allowed_hosts_are_read_comma_separated():
    result = evaluate("settings.ALLOWED_HOSTS", SECRET_KEY="x" * 50, ALLOWED_HOSTS="kb.example.com, www.kb.example.com")
    assert result.stdout.strip() == "['kb.example.com', 'www.kb.example.com']"


def test_database_defaults_to_sqlite_without_database_url():
    result = evaluate("settings.DATABASES['default']['ENGINE']", DEBUG="1")
    assert result.stdout.strip() == "django.db.backends.sqlite3"


def test_database_url_selects_postgresql():
    result = evaluate(
        "settings.DATABASES['default']['ENGINE']", DEBUG="1", DATABASE_URL="postgres://u@db.internal:5432/kb"
    )
    assert result.stdout.strip() == "django.db.backends.postgresql"
