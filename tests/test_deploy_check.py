"""`manage.py check --deploy` reports nothing with production settings (run as an operator would)."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "kb.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://kb.example.com",
    "DATABASE_URL": "postgres://kb:secret@db.internal:5432/kb",
    "REDIS_URL": "redis://cache.internal:6379/0",
}


def check_deploy(**env):
    clean = {k: v for k, v in os.environ.items() if k not in PRODUCTION and not k.startswith(("SECURE_", "DJANGO_"))}
    clean.update(env, DJANGO_SETTINGS_MODULE="kb.settings")
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
    )


def test_production_settings_pass_check_deploy_with_nothing_to_report():
    result = check_deploy(**PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "System check identified no issues (0 silenced)."


def test_with_object_storage_and_a_read_replica_too():
    result = check_deploy(
        **PRODUCTION,
        DATABASE_REPLICA_URL="postgres://kb:secret@replica.internal:5432/kb",
        AWS_STORAGE_BUCKET_NAME="kb-media",
        AWS_S3_REGION_NAME="eu-west-1",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "System check identified no issues (0 silenced)."


def test_the_check_does_catch_an_unsafe_setting():
    """So that the two tests above could fail: switching HTTPS redirects off is reported."""
    result = check_deploy(**{**PRODUCTION, "SECURE_SSL_REDIRECT": "0"})
    assert result.returncode != 0
    assert "security.W008" in result.stdout + result.stderr


def test_a_weak_secret_key_is_reported():
    result = check_deploy(**{**PRODUCTION, "SECRET_KEY": "short"})
    assert result.returncode != 0
    assert "security.W009" in result.stdout + result.stderr
