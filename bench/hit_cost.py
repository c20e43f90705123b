"""What one cached page costs in this process, without HTTP or other processes in the way (#15).

Usage (the database `make bench` seeds, Redis, production settings):
    DEBUG=0 SECRET_KEY=... DATABASE_URL=... REDIS_URL=... ALLOWED_HOSTS=127.0.0.1 .venv/bin/python bench/hit_cost.py

Calls the WSGI application directly for an article already in the cache, as
identity, brotli and gzip, as served and with one database read per request
(the least a content version kept in PostgreSQL would add;
bench/db_version_wsgi.py), the six cases taking turns, and prints the median
and fastest round's microseconds per request; then what compressing the page
per request, as Django's GZipMiddleware would, costs at the levels
kb/compression.py uses for uncached responses.
"""

import io
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kb.settings")

import django  # noqa: E402

django.setup()

from bench.db_version_wsgi import application as with_database_read  # noqa: E402
from kb import compression  # noqa: E402
from kb.wsgi import application  # noqa: E402

PATH = "/articles/jwt-authentication-implementation-and-security-patterns/"
ROUNDS, REQUESTS = 7, 500


def environ(encoding):
    env = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": PATH,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_X_FORWARDED_PROTO": "https",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
    }
    if encoding != "identity":
        env["HTTP_ACCEPT_ENCODING"] = encoding
    return env


def request(app, encoding):
    status = []
    body = b"".join(app(environ(encoding), lambda s, h, exc_info=None: status.append(s)))
    assert status[0].startswith("200"), status
    return body


def per_request_us(function) -> float:
    rounds = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for _ in range(REQUESTS):
            function()
        rounds.append((time.perf_counter() - started) / REQUESTS * 1e6)
    return statistics.median(rounds)


def interleaved_us(cases: dict) -> dict:
    """Median and fastest µs per request of each case, the cases taking turns so that load hits them alike."""
    rounds = {name: [] for name in cases}
    for index in range(ROUNDS * 2):
        for name in list(cases)[:: 1 if index % 2 else -1]:
            started = time.perf_counter()
            for _ in range(REQUESTS // 2):
                cases[name]()
            rounds[name].append((time.perf_counter() - started) / (REQUESTS // 2) * 1e6)
    return {name: (statistics.median(values), min(values)) for name, values in rounds.items()}


def main():
    import logging

    logging.disable(logging.INFO)  # the JSON request line would go to stdout for every request
    page = request(application, "identity")
    cases = {}
    for encoding in ("identity", "br", "gzip"):
        request(application, encoding)  # warm: stored, this process's copy, as sent
        request(application, encoding)
        cases[f"{encoding} hit as served"] = lambda encoding=encoding: request(application, encoding)
        cases[f"{encoding} hit plus a database read"] = lambda encoding=encoding: request(with_database_read, encoding)
    for name, (median, fastest) in interleaved_us(cases).items():
        print(f"{name:36} median {median:6.0f} µs, fastest round {fastest:6.0f} µs")
    for encoding in compression.ENCODINGS:
        cost = per_request_us(lambda encoding=encoding: compression.compress(page, encoding))
        size = len(compression.compress(page, encoding))
        print(f"compressing the page ({len(page):,} bytes) per request as {encoding}: {cost:.0f} µs, {size:,} bytes")
    print(f"load average: {Path('/proc/loadavg').read_text().split()[:3]}")


if __name__ == "__main__":
    main()
