"""How gunicorn serves: worker class, threads and processes.

gunicorn.conf.py reads them, and so does kb/settings.py, which sizes each
process's database pool from the threads. Measured by `make bench`
(bench/results.md, README "Benchmark"): see gunicorn.conf.py for the choice.
"""

import math
import os

from kb.env import env_int, env_str


def worker_class() -> str:
    return env_str("GUNICORN_WORKER_CLASS", "sync")


def threads() -> int:
    # A sync worker has one; gunicorn quietly turns a "sync" worker with more into gthread.
    return env_int("GUNICORN_THREADS", 1 if worker_class() == "sync" else 4)


def workers() -> int:
    # A sync process serves one request at a time, so two per CPU (plus one) keep
    # the CPUs busy while some wait on PostgreSQL; threaded processes need one per
    # CPU, plus one so a CPU is never idle while a worker restarts.
    cpus = cpu_count()
    return env_int("WEB_CONCURRENCY", 2 * cpus + 1 if threads() == 1 else cpus + 1)


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
