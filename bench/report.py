"""Turn bench/run.sh's raw wrk lines into bench/results.md and the README's benchmark table.

Usage: report.py RAW_RESULTS DURATION WRK_THREADS CONNECTIONS
Exits 1 if any request failed (socket error or a non-2xx/3xx status).
"""

import json
import os
import platform
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results.md"
README = ROOT / "README.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"
LIVEZ = "/livez"


def machine() -> dict:
    import django
    import gunicorn
    import psycopg
    import redis

    meminfo = Path("/proc/meminfo").read_text()
    memory_kb = int(re.search(r"MemTotal:\s+(\d+)", meminfo).group(1))
    cpu = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
    with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
        postgres = conn.execute("SHOW server_version").fetchone()[0]
    redis_version = redis.Redis.from_url(os.environ["REDIS_URL"]).info("server")["redis_version"]
    wrk = subprocess.run([shutil.which("wrk"), "-v"], capture_output=True, text=True)  # noqa: S603 (a fixed command)
    wrk = wrk.stdout.split()[1]
    return {
        "CPUs (nproc)": str(os.cpu_count()),
        "CPU": cpu.group(1).strip() if cpu else platform.processor(),
        "Memory": f"{memory_kb / 1024 / 1024:.1f} GiB",
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "PostgreSQL": postgres.split()[0],
        "Redis": redis_version,
        "Django": django.get_version(),
        "gunicorn": gunicorn.__version__,
        "wrk": wrk,
    }


def load(path: Path):
    runs, errors_logged = {}, {}
    for line in path.read_text().splitlines():
        fields = line.split("\t")
        if fields[1] == "errors_logged":
            errors_logged[fields[0]] = int(fields[2])
            continue
        label, workers, threads, url, encoding, raw = fields
        data = json.loads(raw)
        data["rps"] = data["requests"] / (data["duration_us"] / 1e6)
        data["bytes_per_response"] = data["bytes"] / max(1, data["requests"])
        data["encoding"] = encoding
        data["errors"] = sum(
            data[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts", "non_2xx_3xx")
        )
        runs.setdefault((label, int(workers), int(threads)), []).append((url, data))
    return runs, errors_logged


def target(url: str) -> float | None:
    if "/feed/" in url:
        return None  # rendered for every request (not in the page cache): measured, no target
    return 1 / 3 if url.startswith("/search/") else 1 / 2


def table(rows) -> tuple[list[str], bool]:
    livez = dict(rows).get(LIVEZ, {}).get("rps")
    lines = [
        "| URL | Accept-Encoding | requests/s | p50 ms | p95 ms | p99 ms | bytes/response | errors | "
        "ratio to /livez | target |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    ok = True
    for url, d in rows:
        ratio = d["rps"] / livez if livez else None
        if url == LIVEZ or ratio is None or target(url) is None:
            verdict = "baseline" if url == LIVEZ else ""
        else:
            met = ratio >= target(url) and d["errors"] == 0
            ok &= met
            verdict = f"≥ {'⅓' if target(url) < 0.5 else '½'}: {'met' if met else 'MISSED'}"
        encoding = "—" if d["encoding"] == "identity" else d["encoding"]
        lines.append(
            f"| `{url}` | {encoding} | {d['rps']:,.0f} | {d['p50_us'] / 1000:.2f} | {d['p95_us'] / 1000:.2f} | "
            f"{d['p99_us'] / 1000:.2f} | {d['bytes_per_response']:,.0f} | {d['errors']} | "
            f"{'' if ratio is None else f'{ratio:.2f}'} | {verdict} |"
        )
    return lines, ok


def design_comparison(runs) -> list[str]:
    """The page cache as served beside the same with a database read per request (#15), row by row."""
    served = next((rows for (label, _, _), rows in runs.items() if label.endswith("as served")), None)
    read = next((rows for (label, _, _), rows in runs.items() if "database read" in label), None)
    if not served or not read:
        return []
    lines = [
        "| URL | Accept-Encoding | as served (version from Redis's pushes): requests/s, p99 ms | "
        "plus a database read per request: requests/s, p99 ms | change in requests/s |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for (url, a), (_, b) in zip(served, read, strict=True):
        encoding = "—" if a["encoding"] == "identity" else a["encoding"]
        lines.append(
            f"| `{url}` | {encoding} | {a['rps']:,.0f}, {a['p99_us'] / 1000:.2f} | "
            f"{b['rps']:,.0f}, {b['p99_us'] / 1000:.2f} | {(b['rps'] / a['rps'] - 1) * 100:+.0f}% |"
        )
    return lines


def main(raw: str, duration: str, wrk_threads: str, connections: str) -> int:
    runs, errors_logged = load(Path(raw))
    info = machine()
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    load_line = (
        f"wrk {duration} per URL, {wrk_threads} threads, {connections} connections, keep-alive where the server "
        "keeps connections open (sync workers close each one), "
        "from a second process on the same machine; anonymous requests through the TLS proxy "
        "(`X-Forwarded-Proto: https`), production settings (DEBUG off, Redis page cache, JSON request log)."
    )
    machine_line = ", ".join(f"{k}: {v}" for k, v in info.items())

    sections, readme_lines, failed = [], [], False
    for index, ((worker_class, workers, threads), rows) in enumerate(runs.items()):
        lines, ok = table(rows)
        failed |= any(d["errors"] for _, d in rows)
        heading = f"gunicorn {worker_class}: {workers} workers × {threads} threads"
        if index == 0:
            heading += " (the configured default)"
            readme_lines = [f"Measured {when}: {heading}.", "", *lines]
        sections += [
            f"## {heading}",
            "",
            *lines,
            "",
            f"Errors logged by the app: {errors_logged.get(worker_class, 0)}.",
            "",
        ]
        print(f"\n{heading}\n" + "\n".join(lines) + ("" if ok else "\n  (a target was missed)"))

    comparison = design_comparison(runs)
    if comparison:
        intro = (
            "The page cache's design (#15), same worker class, back to back: the article as served, and with "
            "every request first reading a row from PostgreSQL (bench/db_version_wsgi.py), the least a content "
            "version kept in the database would cost per hit."
        )
        sections += ["## The page cache's design", "", intro, "", *comparison, ""]
        readme_lines += ["", intro, "", *comparison]
        print("\n" + "\n".join(comparison))
    load_average = Path("/proc/loadavg").read_text().split()[:3]
    load_line += f" Load average when the report was written: {', '.join(load_average)} (1, 5, 15 min)."
    RESULTS.write_text(
        "\n".join(
            [
                "# Benchmark results",
                "",
                "Written by `make bench` (bench/run.sh); do not edit by hand.",
                "",
                f"Run {when}. {load_line}",
                "",
                f"Machine: {machine_line}.",
                "",
                "Targets: every page at least ½ of `/livez`'s requests/s, search at least ⅓, zero errors.",
                "",
                *sections,
            ]
        )
    )
    readme = README.read_text()
    if START in readme and END in readme:
        block = "\n".join([START, *readme_lines, "", f"Machine: {machine_line}.", "", load_line, END])
        before, rest = readme.split(START, 1)
        README.write_text(before + block + rest.split(END, 1)[1])
    print(f"\nWritten to {RESULTS.relative_to(ROOT)}" + (" and README.md" if START in readme else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
