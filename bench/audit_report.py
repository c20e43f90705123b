"""The `make audit` table: Lighthouse scores per page and form factor, and the Nu checker's counts.

Usage: audit_report.py REPORTS RESULTS RUNS "name path"...

Reads REPORTS/<name>-<form>-<run>.report.json (Lighthouse) and REPORTS/vnu.json,
writes RESULTS (markdown) and the same table between the audit markers in
README.md, and exits 1 when a category scores under THRESHOLD (SEO is exempt
on pages that ask not to be indexed: Lighthouse fails them for exactly that).
"""

import functools
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

CATEGORIES = [("performance", "Perf"), ("accessibility", "A11y"), ("best-practices", "BP"), ("seo", "SEO")]
FORMS = ("mobile", "desktop")
THRESHOLD = 95
README = Path(__file__).resolve().parent.parent / "README.md"
START, END = "<!-- audit:start -->", "<!-- audit:end -->"


def load(reports: Path, name: str, form: str, runs: int) -> dict:
    found = [
        json.loads((reports / f"{name}-{form}-{run}.report.json").read_text(encoding="utf-8"))
        for run in range(1, runs + 1)
    ]
    scores = {}
    for key, _ in CATEGORIES:
        values = [round(report["categories"][key]["score"] * 100) for report in found]
        # Performance varies from run to run on a shared machine; the others do not.
        scores[key] = round(statistics.median(values))
    first = found[0]
    failing = {}
    for key, _ in CATEGORIES:
        for ref in first["categories"][key]["auditRefs"]:
            audit = first["audits"][ref["id"]]
            if ref.get("weight", 0) > 0 and audit.get("score") is not None and audit["score"] < 1:
                failing.setdefault(key, []).append(ref["id"])
    noindex = first["audits"].get("is-crawlable", {}).get("score") == 0
    metrics = first["audits"]
    return {
        "scores": scores,
        "failing": failing,
        "noindex": noindex,
        "fcp": metrics["first-contentful-paint"]["displayValue"],
        "lcp": metrics["largest-contentful-paint"]["displayValue"],
        "bytes": metrics["total-byte-weight"]["numericValue"],
        "version": first["lighthouseVersion"],
        "chrome": first["environment"]["hostUserAgent"],
    }


def nu_counts(reports: Path) -> dict[str, tuple[int, int]]:
    messages = json.loads((reports / "vnu.json").read_text(encoding="utf-8"))["messages"]
    counts: dict[str, list[int]] = {}
    for message in messages:
        page = Path(message.get("url", "?")).stem
        errors_warnings = counts.setdefault(page, [0, 0])
        if message["type"] in ("error", "non-document-error"):
            errors_warnings[0] += 1
        elif message.get("subType") == "warning":
            errors_warnings[1] += 1
    return {page: tuple(values) for page, values in counts.items()}


def describe_commit() -> str:
    git = shutil.which("git")
    if git is None:
        return "?"
    run = functools.partial(subprocess.run, cwd=README.parent, capture_output=True, text=True)
    commit = run([git, "rev-parse", "--short", "HEAD"]).stdout.strip() or "?"
    return commit + (" with uncommitted changes" if run([git, "status", "--porcelain"]).stdout.strip() else "")


def main(reports: Path, results: Path, runs: int, pages: list[str]) -> int:
    rows, problems, detail = [], [], {}
    nu = nu_counts(reports)
    meta = None
    for page in pages:
        name, path = page.split(" ", 1)
        cells = []
        for form in FORMS:
            found = load(reports, name, form, runs)
            meta = meta or found
            detail[(name, form)] = found
            for key, label in CATEGORIES:
                score = found["scores"][key]
                exempt = key == "seo" and found["noindex"]
                cells.append(f"{score}{'¹' if exempt else ''}")
                if score < THRESHOLD and not exempt:
                    problems.append(f"{name} ({form}) {label} {score}: {', '.join(found['failing'].get(key, []))}")
        errors, warnings = nu.get(name, (0, 0))
        if errors:
            problems.append(f"{name}: {errors} Nu HTML Checker errors")
        rows.append(f"| {name} (`{path}`) | {' | '.join(cells)} | {errors} / {warnings} |")

    header = " | ".join(f"{form[0].upper()} {label}" for form in FORMS for _, label in CATEGORIES)
    commit = describe_commit()
    load_average = " ".join(f"{x:.1f}" for x in os.getloadavg())
    lines = [
        f"Lighthouse {meta['version']} on Debian's chromium (`{meta['chrome'].split(' ')[-2]}`), "
        f"mobile (M) and desktop (D), median of {runs} run{'s' if runs > 1 else ''} for performance; "
        f"Nu HTML Checker errors / warnings. gunicorn, DEBUG off, seed data; "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit {commit}; load average {load_average}.",
        "",
        f"| Page | {header} | Nu |",
        "|---|" + "---:|" * (len(FORMS) * len(CATEGORIES) + 1),
        *rows,
        "",
        "¹ The page asks not to be indexed (`noindex`), which Lighthouse's SEO category counts against it.",
    ]
    timings = [
        f"| {name} | {detail[(name, 'mobile')]['fcp']} | {detail[(name, 'mobile')]['lcp']} | "
        f"{detail[(name, 'mobile')]['bytes'] / 1024:.0f} KiB |"
        for name in (page.split(" ", 1)[0] for page in pages)
    ]
    below = ["", "Below 95:", *(f"- {p}" for p in problems)] if problems else ["", "Every category at least 95."]
    table = "\n".join(lines + below)
    results.write_text(
        "# make audit\n\n"
        + table
        + "\n\nMobile (simulated slow 4G, 4x CPU slowdown), first run:\n\n"
        + "| Page | First contentful paint | Largest contentful paint | Bytes |\n|---|---:|---:|---:|\n"
        + "\n".join(timings)
        + "\n",
        encoding="utf-8",
    )
    readme = README.read_text(encoding="utf-8")
    if START in readme and END in readme:
        pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.S)
        README.write_text(pattern.sub(lambda _: f"{START}\n{table}\n{END}", readme), encoding="utf-8")
    else:
        print(f"README.md has no {START} … {END} section; the table is in {results} only", file=sys.stderr)
    print(table)
    print(f"\nWritten to {results}; Lighthouse reports in {reports}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]))
