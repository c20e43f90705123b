"""`make bench-markdown`: every hostile body (tests/hostile_corpus.py, each at the 200 KB cap)
timed against issue 12's targets: 100 ms to render, 200 ms through the live preview.

Render: `articles.rendering.render_markdown`, wall time, best of 3. Preview: the
admin's preview endpoint through Django's test client as a logged-in editor, in
a throwaway test database (what an author's POST costs a worker, minus the
network), best of 3. Writes bench/results-markdown.md and prints the slowest rows.
"""

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kb.settings_test")

import django  # noqa: E402

django.setup()

from django.test.utils import get_runner, setup_test_environment  # noqa: E402
from django.urls import reverse  # noqa: E402

from articles.rendering import render_markdown  # noqa: E402
from tests.hostile_corpus import corpus  # noqa: E402

RENDER_TARGET, PREVIEW_TARGET = 0.100, 0.200


def best(function, runs=3):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    from django.conf import settings
    from django.test import Client

    from tests.conftest import member_of

    bodies = corpus()
    setup_test_environment()
    runner = get_runner(settings)(verbosity=0)
    old = runner.setup_databases()
    try:
        client = Client()
        client.force_login(member_of("Editors", "bench-editor"))
        url = reverse("admin:articles_article_preview")
        rows = []
        for name, body in bodies.items():
            render = best(lambda body=body: render_markdown(body))
            preview = best(lambda body=body: client.post(url, {"body": body}))
            rows.append((name, len(body.encode()), render, preview))
    finally:
        runner.teardown_databases(old)

    rows.sort(key=lambda row: row[2], reverse=True)
    over_render = sum(1 for row in rows if row[2] >= RENDER_TARGET)
    over_preview = sum(1 for row in rows if row[3] >= PREVIEW_TARGET)
    lines = [
        "# Hostile Markdown bodies",
        "",
        f"{len(rows)} bodies at up to {max(r[1] for r in rows):,} bytes; load average {os.getloadavg()[0]:.1f}.",
        f"Render over {RENDER_TARGET * 1000:.0f} ms: {over_render}; preview over {PREVIEW_TARGET * 1000:.0f} ms: "
        f"{over_preview}. Slowest render {rows[0][2] * 1000:.0f} ms ({rows[0][0]}); "
        f"median {sorted(r[2] for r in rows)[len(rows) // 2] * 1000:.1f} ms.",
        "",
        "| body | bytes | render ms | preview ms |",
        "|---|---:|---:|---:|",
        *(
            f"| {name} | {size:,} | {render * 1000:.1f} | {preview * 1000:.1f} |"
            for name, size, render, preview in rows
        ),
    ]
    (ROOT / "bench" / "results-markdown.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines[:4] + lines[6:20]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
