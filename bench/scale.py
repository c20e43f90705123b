"""`make bench-scale`'s client and report: every row of issue #14's table, uncached, one client.

    scale.py run BASE RAW      measure against the server at BASE, one JSON line per row into RAW
    scale.py report RAW        write bench/results-scale.md and the README's scale table

Runs with the server's environment (DATABASE_URL, SECRET_KEY...): it reads the
database once to choose the URLs (the biggest category, the most used tag, a
rare word...) and signs a superuser in for the admin rows. Then, one request at
a time, each row gets one unmeasured warm-up request and is measured for
BENCH_SCALE_SECONDS (15) or BENCH_SCALE_REQUESTS (200) requests, whichever
comes first, but at least BENCH_SCALE_MIN_REQUESTS (5). Every response counts,
errors included: a status other than 2xx/3xx, a timeout or a dropped
connection is an error, and its time is in the percentiles.
"""

import gzip
import json
import os
import platform
import random
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results-scale.md"
README = ROOT / "README.md"
START, END = "<!-- bench-scale:start -->", "<!-- bench-scale:end -->"
PHRASE = '"circuit breaker"'
QUESTION = "how to make a queue consumer idempotent"
TIMEOUT = 60  # above gunicorn's 30 s: a killed worker shows as a dropped connection, not a client timeout

SECONDS = float(os.environ.get("BENCH_SCALE_SECONDS", "15"))
MAX_REQUESTS = int(os.environ.get("BENCH_SCALE_REQUESTS", "200"))
MIN_REQUESTS = int(os.environ.get("BENCH_SCALE_MIN_REQUESTS", "5"))

# Issue #14's targets: p95, uncached, one client.
TARGETS = {"page": 50, "search": 100, "typo": 150, "sitemap": 1000, "admin": 300, "baseline": None}


@dataclass
class Row:
    label: str
    kind: str  # a key of TARGETS
    path: str  # what the table shows
    paths: list[str] = field(default_factory=list)  # one per request when each must differ (unique queries)
    admin: bool = False

    def path_for(self, i: int) -> str:
        return self.paths[i % len(self.paths)] if self.paths else self.path


def q(text: str) -> str:
    return urllib.parse.quote_plus(text)


def choose_rows(base: str) -> list[Row]:
    """The issue's table, with URLs chosen from the database being served."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kb.settings")
    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.postgres.search import SearchQuery
    from django.db.models import Count, Q
    from taggit.models import Tag

    from articles import corpus
    from articles.models import Article, Category

    public = Article.objects.published()
    category = (
        Category.objects.annotate(n=Count("articles", filter=Q(articles__in=public))).order_by("-n", "slug").first()
    )
    last_page = max(1, -(-category.n // 60))
    tag = Tag.objects.annotate(n=Count("taggit_taggeditem_items")).order_by("-n", "name").first()  # the most used tag
    article = public.filter(tags__slug=tag.slug, seed_checksum=corpus.MARKER).order_by("slug").first()
    rare, rare_count = None, None
    for word in reversed(corpus.CONTEXTS.split()):
        n = public.filter(search_vector=SearchQuery(word, config="english")).count()
        if n and (rare_count is None or n < rare_count):
            rare, rare_count = word, n
    words = sorted({w.lower() for block in corpus.seed_material().intros for w in re.findall(r"[A-Za-z]{5,}", block)})
    random.Random(14).shuffle(words)  # noqa: S311 (a fixed, reproducible order)
    commons = ["api", "service", "database"]
    unique = [f"/search/?q={q(commons[i % 3] + ' ' + w)}" for i, w in enumerate(words)]

    user, _ = get_user_model().objects.get_or_create(
        username="bench-scale-admin", defaults={"is_staff": True, "is_superuser": True}
    )
    from django.test import Client

    client = Client()
    client.force_login(user)
    from django.conf import settings

    os.environ["BENCH_SCALE_COOKIE"] = (
        f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    )
    sample = public.order_by("id").values_list("id", flat=True)[50_000:50_001]
    change_id = sample[0] if sample else public.order_by("id").values_list("id", flat=True).first()
    # The author with the most articles: the author filter's largest list.
    author_id = (
        Article.objects.values("author").annotate(n=Count("*")).order_by("-n").values_list("author", flat=True).first()
    )

    rows = [
        Row("/livez", "baseline", "/livez"),
        Row("home", "page", "/"),
        Row(f"category page 1 ({category.n:,} public)", "page", f"/categories/{category.slug}/"),
        Row("category page 50", "page", f"/categories/{category.slug}/?page=50"),
        Row(f"category last page ({last_page})", "page", f"/categories/{category.slug}/?page={last_page}"),
        Row(f"tag page 1, most used tag ({tag.n:,})", "page", f"/tags/{tag.slug}/"),
        Row("an article", "page", f"/articles/{article.slug}/"),
        Row(f"search, a rare word ({rare_count} public)", "search", f"/search/?q={rare}"),
        Row("search, common word", "search", "/search/?q=api"),
        Row("search, common word", "search", "/search/?q=service"),
        Row("search, common word", "search", "/search/?q=database"),
        Row("search, quoted phrase", "search", f"/search/?q={q(PHRASE)}"),
        Row("search, filtered", "search", f"/search/?q=service&category={category.slug}&tag={tag.slug}"),
        Row("search, sort=newest", "search", "/search/?q=api&sort=newest"),
        # A question (three words or more) matches on any word: every-word and any-word matches, and the
        # articles with its rarest word, are candidates.
        Row("search, a question", "search", f"/search/?q={q(QUESTION)}"),
        Row(
            "search, a question, filtered",
            "search",
            f"/search/?q={q(QUESTION)}&category={category.slug}&tag={tag.slug}",
        ),
        Row("search, a misspelling", "typo", "/search/?q=idempotncy"),
        Row(
            "search, a unique query per request",
            "search",
            "/search/?q=api|service|database+<a different word each time>",
            paths=unique,
        ),
        Row("API search, common word", "search", "/api/v1/articles?q=database"),
        Row("API search, a misspelling", "typo", "/api/v1/articles?q=idempotncy"),
        Row(
            "API search, filtered",
            "search",
            f"/api/v1/articles?q=service&category={category.slug}&tag={tag.slug}",
        ),
        Row("tag feed", "page", f"/tags/{tag.slug}/feed/"),
        Row("sitemap", "sitemap", "/sitemap.xml"),
    ]
    rows += sitemap_files(base)
    admin = "/admin/articles/article/"
    rows += [
        Row("admin changelist", "admin", admin, admin=True),
        Row("admin changelist, search", "admin", f"{admin}?q=circuit", admin=True),
        Row(f"admin changelist, tag filter ({tag.slug})", "admin", f"{admin}?tag={tag.slug}", admin=True),
        Row("admin changelist, tag id in the address", "admin", f"{admin}?tags__id__exact={tag.id}", admin=True),
        Row("admin changelist, status filter (draft)", "admin", f"{admin}?state=draft", admin=True),
        Row("admin changelist, status filter (published)", "admin", f"{admin}?state=published", admin=True),
        Row("admin changelist, category filter", "admin", f"{admin}?category__id__exact={category.id}", admin=True),
        Row("admin changelist, author filter", "admin", f"{admin}?author__id__exact={author_id}", admin=True),
        Row("admin changelist, review filter (needed)", "admin", f"{admin}?review=needed", admin=True),
        Row("admin changelist, owner filter (me)", "admin", f"{admin}?owner=me", admin=True),
        Row("admin changelist, search and tag filter", "admin", f"{admin}?q=circuit&tag={tag.slug}", admin=True),
        Row("admin change form", "admin", f"{admin}{change_id}/change/", admin=True),
        Row("admin categories", "admin", "/admin/articles/category/", admin=True),
        Row(
            "admin category autocomplete",
            "admin",
            "/admin/autocomplete/?app_label=articles&model_name=article&field_name=category&term=eng",
            admin=True,
        ),
    ]
    # BENCH_SCALE_ONLY=search (or typo, page...): only rows of those kinds, with /livez, e.g. while tuning one part.
    if only := os.environ.get("BENCH_SCALE_ONLY"):
        rows = [row for row in rows if row.kind == "baseline" or row.kind in only.split(",")]
    return rows


def sitemap_files(base: str) -> list[Row]:
    """When /sitemap.xml is an index, its first and last files too."""
    status, _, body = fetch(base + "/sitemap.xml")
    if body[:2] == b"\x1f\x8b":  # asked for gzip, as every row is (without this the index went unnoticed)
        body = gzip.decompress(body)
    if status != 200 or b"<sitemapindex" not in body:
        return []
    locs = re.findall(rb"<loc>([^<]+)</loc>", body)
    picks = dict.fromkeys([locs[0], locs[-1]]) if locs else {}
    rows = []
    for loc in picks:
        url = urllib.parse.urlsplit(loc.decode())
        path = url.path + (f"?{url.query}" if url.query else "")
        rows.append(Row(f"sitemap file {locs.index(loc) + 1} of {len(locs)}", "sitemap", path))
    return rows


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def fetch(url: str, cookie: str | None = None) -> tuple[int | str, float, bytes]:
    """(status or error name, seconds, body) of one GET, as a reader behind the TLS proxy would send it."""
    if not url.startswith("http://127.0.0.1:"):
        raise SystemExit(f"only the local benchmark server, not {url}")
    headers = {"X-Forwarded-Proto": "https", "Accept-Encoding": "gzip"}
    if cookie:
        headers["Cookie"] = cookie
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (checked above)
    started = time.perf_counter()
    try:
        with OPENER.open(request, timeout=TIMEOUT) as response:
            body = response.read()
            return response.status, time.perf_counter() - started, body
    except urllib.error.HTTPError as error:
        error.read()
        return error.code, time.perf_counter() - started, b""
    except TimeoutError:
        return "timeout", time.perf_counter() - started, b""
    except OSError as error:
        return type(error).__name__, time.perf_counter() - started, b""


def measure(base: str, row: Row, offset: int) -> dict:
    cookie = os.environ["BENCH_SCALE_COOKIE"] if row.admin else None
    fetch(base + row.path_for(offset), cookie)  # warm-up, unmeasured
    times, statuses = [], {}
    started = time.monotonic()
    i = offset + 1
    while len(times) < MAX_REQUESTS and (len(times) < MIN_REQUESTS or time.monotonic() - started < SECONDS):
        status, seconds, _ = fetch(base + row.path_for(i), cookie)
        i += 1
        times.append(seconds)
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    return {**asdict(row), "paths": len(row.paths), "times": times, "statuses": statuses}


def run(base: str, raw: str) -> int:
    rows = choose_rows(base)
    offset = 0
    with open(raw, "w") as out:
        for row in rows:
            result = measure(base, row, offset)
            offset += len(result["times"]) + 1
            out.write(json.dumps(result) + "\n")
            out.flush()
            print(f"  {summary_line(result)}", flush=True)
    return 0


# ---------------------------------------------------------------- the report


def percentile(sorted_times: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    rank = max(1, -(-len(sorted_times) * p // 100))
    return sorted_times[int(rank) - 1]


def stats(result: dict) -> dict:
    times = sorted(result["times"])
    errors = sum(n for status, n in result["statuses"].items() if not (status.isdigit() and int(status) < 400))
    return {
        "n": len(times),
        "p50": percentile(times, 50) * 1000,
        "p95": percentile(times, 95) * 1000,
        "p99": percentile(times, 99) * 1000,
        "rps": len(times) / sum(times),
        "errors": errors,
        "statuses": ", ".join(f"{s}×{n}" for s, n in sorted(result["statuses"].items())),
    }


def summary_line(result: dict) -> str:
    s = stats(result)
    timing = f"n={s['n']} p50={s['p50']:.0f} ms p95={s['p95']:.0f} ms"
    return f"{result['path']}: {timing} errors={s['errors']} ({s['statuses']})"


def ms(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 else f"{value:.1f}"


def table(results: list[dict]) -> list[str]:
    livez = next(stats(r) for r in results if r["kind"] == "baseline")
    lines = [
        "| request | URL | n | p50 ms | p95 ms | p99 ms | req/s | ratio to /livez | errors | p95 target |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for result in results:
        s = stats(result)
        target = TARGETS[result["kind"]]
        verdict = (
            "baseline"
            if target is None
            else f"≤ {target:,} ms: {'met' if s['p95'] <= target and not s['errors'] else 'MISSED'}"
        )
        errors = "0" if not s["errors"] else f"**{s['errors']}** ({s['statuses']})"
        lines.append(
            f"| {result['label']} | `{result['path']}` | {s['n']} | {ms(s['p50'])} | {ms(s['p95'])} | {ms(s['p99'])} | "
            f"{s['rps']:,.1f} | {s['rps'] / livez['rps']:.3f} | {errors} | {verdict} |"
        )
    return lines


def git(*args: str) -> str:
    return subprocess.run(["git", *args], capture_output=True, text=True, cwd=ROOT).stdout  # noqa: S603, S607


def measured_code() -> str:
    commit = git("rev-parse", "--short", "HEAD").strip()
    changed = [
        line[3:]
        for line in git("status", "--porcelain", "--untracked-files=no").splitlines()
        if not line[3:].startswith("bench/") and line[3:] != "README.md"  # the tooling, not the code measured
    ]
    return f"commit `{commit}`" + (" plus uncommitted changes to " + ", ".join(changed) if changed else " (clean)")


def database_line() -> str:
    import psycopg

    with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
        (total, public, drafts) = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE status = 'published' AND published_at <= now()), "
            "count(*) FILTER (WHERE status = 'draft') FROM articles_article"
        ).fetchone()
        version = conn.execute("SHOW server_version").fetchone()[0].split()[0]
        name = conn.info.dbname
    return f"database `{name}` (PostgreSQL {version}): {total:,} articles, {public:,} public, {drafts:,} drafts"


def report(raw: str) -> int:
    results = [json.loads(line) for line in Path(raw).read_text().splitlines() if line.strip()]
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    workers = os.environ.get("BENCH_SCALE_WORKERS", "?")
    setup = (
        f"Measured {when} on {measured_code()}; {database_line()}. gunicorn {workers} sync workers, production "
        "settings, **no page cache** (`PAGE_CACHE=0`), no per-client rate limit (`EXPENSIVE_RATE_PER_MINUTE=0`), "
        "one client sending one request at a time "
        f"(a warm-up request, then {SECONDS:.0f} s or {MAX_REQUESTS} requests per row, at least {MIN_REQUESTS}; "
        "percentiles are nearest-rank over all responses, errors included). "
        f"Machine: {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}; "
        f"load average {os.environ.get('BENCH_SCALE_LOAD_BEFORE', '?')} before the run and "
        f"{' '.join(Path('/proc/loadavg').read_text().split()[:3])} after (other work on the machine inflates times)."
    )
    lines = table(results)
    RESULTS.write_text(
        "\n".join(
            [
                "# Benchmark at scale: uncached, one client",
                "",
                "Written by `make bench-scale` (bench/scale.sh); do not edit by hand.",
                "",
                setup,
                "",
                *lines,
                "",
                "Targets (issue #14), p95: pages, feeds ≤ 50 ms; search ≤ 100 ms; misspelled ≤ 150 ms; "
                "API as its page; sitemap files ≤ 1 s; admin ≤ 300 ms. "
                "Errors: any status ≥ 400, timeout or dropped connection.",
                "",
            ]
        )
    )
    readme = README.read_text()
    if START in readme and END in readme:
        before, rest = readme.split(START, 1)
        README.write_text(before + "\n".join([START, setup, "", *lines, END]) + rest.split(END, 1)[1])
    print("\n".join(lines))
    print(f"\nWritten to {RESULTS.relative_to(ROOT)}" + (" and README.md" if START in readme else ""))
    return 0


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    sys.exit(run(*args) if command == "run" else report(*args))
