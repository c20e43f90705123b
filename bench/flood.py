"""Isolation check (#14): does a flood of unique searches slow a cached page down?

    DATABASE_URL=postgres://…/kb_scale .venv/bin/python bench/flood.py [seconds]

Serves the site with gunicorn under production settings (sync workers, Redis
as the cache, page cache on) on 127.0.0.1:8056, caches one article page, and
measures it one request at a time: first idle, then while 8 clients each send
unique searches as fast as they are answered, each from its own address
(X-Forwarded-For through one trusted proxy, so the per-client rate limit
does not simply count them as one). Run twice: with the limits as configured
by default, and with both limits off. Target: p95 under flood at most 3x idle.
"""

import http.client
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PORT = int(os.environ.get("FLOOD_PORT", "8056"))
# A control: FLOOD_CONTROL=/livez floods the cheapest request there is instead of searches, to show what
# eight clients in a tight loop cost the machine whatever they ask for.
CONTROL = os.environ.get("FLOOD_CONTROL", "")
NICE = int(os.environ.get("FLOOD_NICE", "19"))
WORDS = "retry queue cache index deploy schema latency circuit breaker token budget shard replica lock".split()


def get(path, headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
    try:
        connection.request("GET", path, headers={"Host": "127.0.0.1", **(headers or {})})
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def timed(path):
    started = time.perf_counter()
    status = get(path)
    return (time.perf_counter() - started) * 1000, status


def p95(values):
    return sorted(values)[round(0.95 * (len(values) - 1))]


def serve(extra_env):
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "bench-only-" + "x" * 50,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "REDIS_URL": os.environ.get("FLOOD_REDIS_URL", "redis://127.0.0.1:6379/13"),
        "CACHE_KEY_PREFIX": f"kb-flood-{uuid.uuid4().hex[:8]}",
        "PAGE_CACHE": "1",
        "TRUSTED_PROXY_COUNT": "1",
        "GUNICORN_BIND": f"127.0.0.1:{PORT}",
        "LOG_LEVEL": "ERROR",
        "GUNICORN_LOG_LEVEL": "error",
        **extra_env,
    }
    server = subprocess.Popen(  # noqa: S603 (our own gunicorn)
        [str(Path(sys.executable).parent / "gunicorn"), "--config", "gunicorn.conf.py", "kb.wsgi:application"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            if get("/livez") == 200:
                return server
        except OSError:
            pass
        if time.monotonic() > deadline:
            server.kill()
            raise SystemExit("gunicorn did not start")
        time.sleep(0.2)


def flood(client, stop, answers):
    """One client sending unique searches as fast as they are answered, from its own address."""
    address = f"203.0.113.{client}, 127.0.0.1"
    # Real flooders run on their own machines; here they share the server's two cores, and their own
    # Python (building and reading 1,000 requests a second) took CPU the cached page needed. At
    # FLOOD_NICE (default 19) they get what the server leaves; FLOOD_NICE=0 makes them equals.
    os.nice(NICE)
    statuses = Counter()
    while not stop.is_set():
        words = "+".join(random.sample(WORDS, 2)) + f"+{uuid.uuid4().hex[:6]}"
        try:
            statuses[get(CONTROL or f"/search/?q={words}", {"X-Forwarded-For": address})] += 1
        except OSError:
            statuses["error"] += 1
    answers.put(statuses)


def run(label, extra_env, seconds, page):
    server = serve(extra_env)
    try:
        for _ in range(20):
            get(page)  # cached, in every worker
        idle = [timed(page)[0] for _ in range(300)]

        stop = multiprocessing.Event()
        answers = multiprocessing.Queue()
        # Each flooding client is a process of its own: as threads of this one, they held the GIL the
        # measuring loop needed, and the client's own waits were counted as the server's slowness.
        flooders = [multiprocessing.Process(target=flood, args=(n, stop, answers), daemon=True) for n in range(1, 9)]
        for process in flooders:
            process.start()
        time.sleep(1)
        loaded, page_statuses = [], Counter()
        ends = time.monotonic() + seconds
        while time.monotonic() < ends:
            ms, status = timed(page)
            loaded.append(ms)
            page_statuses[status] += 1
        stop.set()
        statuses = Counter()
        for _ in flooders:
            statuses.update(answers.get(timeout=90))
        for process in flooders:
            process.join(timeout=30)
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(
        f"{label}, flooders at nice {NICE}: cached page p50/p95 idle {statistics.median(idle):.1f}/{p95(idle):.1f} ms, "
        f"under flood {statistics.median(loaded):.1f}/{p95(loaded):.1f} ms "
        f"(p95 ratio {p95(loaded) / p95(idle):.1f}x, {len(loaded)} requests, {dict(page_statuses)}); "
        f"searches answered: {dict(statuses)}"
    )


def main(seconds):
    page = os.environ.get("FLOOD_PAGE", "/")
    run("limits on (defaults)", {}, seconds, page)
    run(
        "limits off",
        {"EXPENSIVE_RATE_PER_MINUTE": "0", "EXPENSIVE_CONCURRENCY_PER_HOST": "1000"},
        seconds,
        page,
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
