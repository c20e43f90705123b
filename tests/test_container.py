"""The container files wire what README "Deploying" promises (no Docker daemon here, so read, not run)."""

import runpy
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def test_web_container_is_healthy_only_when_readyz_says_so():
    assert "/readyz" in " ".join(COMPOSE["services"]["web"]["healthcheck"]["test"])
    healthcheck = next(line for line in DOCKERFILE.splitlines() if "CMD" in line and "urlopen" in line)
    assert "/readyz" in healthcheck


def test_migrations_run_once_in_their_own_step_before_web_starts():
    services = COMPOSE["services"]
    assert "manage.py migrate" in " ".join(services["migrate"]["entrypoint"])
    assert services["web"]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert "migrate" not in DOCKERFILE.split("ENTRYPOINT")[-1]


def test_web_waits_for_a_healthy_database_and_cache():
    services = COMPOSE["services"]
    assert services["migrate"]["depends_on"]["db"] == {"condition": "service_healthy"}
    assert services["web"]["depends_on"]["redis"] == {"condition": "service_healthy"}
    assert services["web"]["environment"]["REDIS_URL"].startswith("redis://redis:")


def test_the_app_does_not_run_as_root():
    users = [line.split()[1] for line in DOCKERFILE.splitlines() if line.startswith("USER ")]
    assert users and users[-1] != "root"


def test_stopping_lets_requests_in_flight_finish():
    # Docker's grace must outlast gunicorn's graceful_timeout, or requests are cut off.
    graceful_timeout = runpy.run_path(str(ROOT / "gunicorn.conf.py"))["graceful_timeout"]
    grace = COMPOSE["services"]["web"]["stop_grace_period"]
    assert grace.endswith("s") and int(grace[:-1]) > graceful_timeout
    assert "STOPSIGNAL SIGTERM" in DOCKERFILE


def test_the_image_ignores_local_state():
    ignored = (ROOT / ".dockerignore").read_text().split()
    for path in (".git", ".venv", "db.sqlite3", "staticfiles", "media"):
        assert path in ignored
