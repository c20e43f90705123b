"""gunicorn settings; every value can be overridden from the environment (README "Deploying").

Worker class: gthread. `make bench` measures it against sync workers
(2 x CPUs + 1 processes) in the same run (bench/results.md). On the 2-CPU
machine we have, page throughput was within run-to-run noise of each other
(about 1,500-2,000 cached pages/s either way). gthread is the default because
the difference that remains is structural: every request waits on Redis (and
on PostgreSQL when it misses), and a thread releases the CPU during that wait
without a whole process per request in flight; and keep-alive connections from
a load balancer are parked in the worker's poller instead of occupying a sync
worker, which a slow client could otherwise tie up entirely.

Logs: gunicorn's access log is off. The application writes one JSON line per
request itself (kb.middleware.RequestLogMiddleware), with the request id and
user that gunicorn cannot know; gunicorn's own messages (boot, worker exits,
timeouts) are JSON lines on stdout too, in the same format.
"""

import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from kb.env import env_int, env_str  # noqa: E402 (needs the path above)


def cpu_count() -> int:
    """CPUs this process may really use: its affinity mask, cut to a container's CPU quota (cgroup v2)."""
    count = len(os.sched_getaffinity(0))
    try:
        with open("/sys/fs/cgroup/cpu.max") as limits:
            quota, period = limits.read().split()
        if quota != "max":
            count = min(count, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return count


bind = env_str("GUNICORN_BIND", "0.0.0.0:8000")
worker_class = env_str("GUNICORN_WORKER_CLASS", "gthread")
# kb/settings.py sizes each process's database pool from the same variable.
threads = env_int("GUNICORN_THREADS", 4)
# One process per CPU, plus one so a CPU is never idle while a worker waits on
# I/O or restarts. Every process holds up to GUNICORN_THREADS database
# connections: size PostgreSQL's max_connections for WEB_CONCURRENCY x threads
# x web containers.
workers = env_int("WEB_CONCURRENCY", cpu_count() + 1)

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
    },
}
