"""gunicorn settings; every value can be overridden from the environment (README "Deploying").

Worker class: sync, 2 x CPUs + 1 processes (kb/serving.py). `make bench`
measures it against gthread (CPUs + 1 processes x 4 threads) in the same run
(bench/results.md). On two 2-CPU machines, with cached pages that wait on no
network:
- sync served cached pages at 0.63-0.76 of /livez with p99 under 18 ms in
  every run (3,000-3,550 pages/s on one machine, 4,900-5,400 on the other);
- gthread served 5-30% more when its 32 keep-alive connections were spread
  over its processes, with p99 two to three times sync's; but in 2 of 7 runs
  one process had taken most of them for a URL or two, which then fell to
  1,300-2,000 pages/s (one process is one CPU, because of the GIL);
- gthread without keep-alive (spreading connections per request, as sync
  does) was steady but below sync: 4,300-4,700 pages/s, p99 22-27 ms.
Sync workers must not face slow clients themselves: put them behind a proxy
or load balancer that buffers requests and responses (nginx, or the
platform's), as gunicorn's documentation says. GUNICORN_WORKER_CLASS=gthread
is the choice where that cannot be had.

Logs: gunicorn's access log is off. The application writes one JSON line per
request itself (kb.middleware.RequestLogMiddleware), with the request id and
user that gunicorn cannot know; gunicorn's own messages (boot, worker exits,
timeouts) are JSON lines on stdout too, in the same format.
"""

import logging
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from kb import serving  # noqa: E402 (needs the path above)
from kb.env import env_int, env_str  # noqa: E402

bind = env_str("GUNICORN_BIND", "0.0.0.0:8000")
worker_class = serving.worker_class()
threads = serving.threads()
# Every process holds up to `threads` database connections: size PostgreSQL's
# max_connections for WEB_CONCURRENCY x threads x web containers.
workers = serving.workers()

# A worker silent for this long is killed and replaced. PostgreSQL's
# statement_timeout (DB_STATEMENT_TIMEOUT_MS, 10 s) is well below it, so a slow
# query fails its own request instead of taking the worker down.
timeout = env_int("GUNICORN_TIMEOUT", 30)
# On SIGTERM (a deploy, a scale-in), stop accepting, finish requests in flight
# for up to this long, then exit. Keep the orchestrator's grace period longer.
graceful_timeout = env_int("GUNICORN_GRACEFUL_TIMEOUT", 25)
# Idle keep-alive connections from the load balancer; gthread parks them
# without holding a thread. Longer than the balancer's own idle timeout avoids
# it reusing a connection at the moment gunicorn closes it.
keepalive = env_int("GUNICORN_KEEPALIVE", 75)
# Recycle workers now and then, so that a slow leak can never grow unbounded.
# Not often: a new worker spends about 0.4 s of CPU importing the app and
# warming up. At 10,000 (a common choice) each of 3 workers serving 1,000
# cached pages a second restarted every 10 s, and `make bench` lost up to half
# its throughput in whichever URL the restarts fell on.
max_requests = env_int("GUNICORN_MAX_REQUESTS", 200_000)
max_requests_jitter = max_requests // 10
# Forked workers each open their own pool (kb/settings.py); nothing is
# connected before the fork.
preload_app = False
# The heartbeat file on tmpfs: a container's overlay disk can stall the heartbeat.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108 (tmpfs on purpose)
# Only the load balancer may set X-Forwarded-* (the proxy in front decides the scheme).
forwarded_allow_ips = env_str("FORWARDED_ALLOW_IPS", "127.0.0.1")
# Request line and header limits: oversized requests are refused with 400.
limit_request_line = 8190
limit_request_fields = 100

# Metrics from every worker in one scrape (kb/metrics.py): prometheus_client keeps each process's values in
# files in this directory, which a scrape adds up. One fresh directory per master unless one is given.
_created_metrics_dir = None
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    _created_metrics_dir = tempfile.mkdtemp(prefix="kb-metrics-", dir=worker_tmp_dir)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _created_metrics_dir


def on_starting(server):
    # A given directory may hold a previous run's files, whose counts would be added to this one's.
    for name in os.listdir(os.environ["PROMETHEUS_MULTIPROC_DIR"]):
        if name.endswith(".db"):
            os.unlink(os.path.join(os.environ["PROMETHEUS_MULTIPROC_DIR"], name))


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # its live gauges (pool, failing fast) stop counting


def on_exit(server):
    if _created_metrics_dir:
        shutil.rmtree(_created_metrics_dir, ignore_errors=True)


# Python's warnings as JSON lines too, in the master and (inherited) in every worker before Django starts.
logging.captureWarnings(True)

accesslog = None
errorlog = "-"
loglevel = env_str("GUNICORN_LOG_LEVEL", "info")
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "kb.jsonlog.JsonFormatter"}},
    "handlers": {"stdout": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": "json"}},
    "root": {"level": "INFO", "handlers": ["stdout"]},
    "loggers": {
        "gunicorn.error": {"level": loglevel.upper(), "handlers": ["stdout"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": False},
        "py.warnings": {"level": "WARNING", "handlers": ["stdout"], "propagate": False},
    },
}
