"""gunicorn's worker class, threads and processes (kb/serving.py), as gunicorn.conf.py and the pool size read them."""

import runpy
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from kb import serving

CONF = Path(__file__).resolve().parent.parent / "gunicorn.conf.py"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in ("GUNICORN_WORKER_CLASS", "GUNICORN_THREADS", "WEB_CONCURRENCY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(serving, "cpu_count", lambda: 2)


def test_the_default_is_sync_with_one_thread_and_two_processes_per_cpu_plus_one():
    conf = runpy.run_path(str(CONF))
    assert (conf["worker_class"], conf["threads"], conf["workers"]) == ("sync", 1, 5)


def test_gthread_gets_four_threads_and_a_process_per_cpu_plus_one(monkeypatch):
    monkeypatch.setenv("GUNICORN_WORKER_CLASS", "gthread")
    conf = runpy.run_path(str(CONF))
    assert (conf["worker_class"], conf["threads"], conf["workers"]) == ("gthread", 4, 3)


def test_the_environment_overrides_every_number(monkeypatch):
    monkeypatch.setenv("GUNICORN_WORKER_CLASS", "gthread")
    monkeypatch.setenv("GUNICORN_THREADS", "8")
    monkeypatch.setenv("WEB_CONCURRENCY", "6")
    assert (serving.threads(), serving.workers()) == (8, 6)


def test_a_bad_number_stops_the_process(monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "lots")
    with pytest.raises(ImproperlyConfigured, match="WEB_CONCURRENCY"):
        serving.workers()
