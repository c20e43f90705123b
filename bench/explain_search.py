"""The slowest SQL statement of one uncached search, with its EXPLAIN (ANALYZE, BUFFERS), as Markdown.

    DATABASE_URL=postgres://…/kb_scale SECRET_KEY=… .venv/bin/python bench/explain_search.py "/search/?q=database"

Runs the request twice in-process (the first warms the caches and the planner's statistics), records every
statement of the second and explains the slowest again, under the engine's planner setting
(random_page_cost 1.1, kb/planner.py's planned_for_memory). Written for bench/explain-search-after.md.
"""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kb.settings_test")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("PAGE_CACHE", "0")
os.environ.setdefault("EXPENSIVE_RATE_PER_MINUTE", "0")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")


def main(url: str) -> None:
    import django

    django.setup()
    import subprocess

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.get(url)
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as captured:
        status = client.get(url).status_code
    wall = (time.perf_counter() - started) * 1000
    statements = captured.captured_queries
    slowest = max(statements, key=lambda q: float(q["time"]))
    with connection.cursor() as cursor:
        cursor.execute("SET random_page_cost = 1.1")
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {slowest['sql']}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()  # noqa: S603, S607
    load = Path("/proc/loadavg").read_text().split()[:3]
    print(f"# EXPLAIN after: `{url}` at commit `{commit}`\n")
    print(
        f"In-process (Django's test client, production settings but the page cache), database "
        f"`{connection.settings_dict['NAME']}`, load average {' '.join(load)}. Status {status}, "
        f"{wall:.0f} ms for the request; {len(statements)} statements, "
        f"{sum(float(q['time']) for q in statements) * 1000:.0f} ms of them as Django timed them.\n"
    )
    print("| # | ms | statement |\n| ---: | ---: | --- |")
    for number, q in enumerate(statements):
        text = " ".join(q["sql"].split())[:110].replace("|", "\\|")
        print(f"| {number} | {float(q['time']) * 1000:.0f} | `{text}…` |")
    print(f"\n## The slowest statement ({float(slowest['time']) * 1000:.0f} ms)\n\n```sql\n{slowest['sql']}\n```\n")
    print(f"### EXPLAIN (ANALYZE, BUFFERS)\n\n```\n{plan}\n```")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/search/?q=database")
