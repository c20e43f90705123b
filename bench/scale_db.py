"""Make DATABASE_URL (kb_scale) ready for `make bench-scale`: generated once, then reused.

- Missing: created, migrated, the seed loaded, `generate_corpus` run (tens of minutes on two cores).
- Present with the expected corpus (BENCH_SCALE_ARTICLES public articles, 2,000 drafts, 200 scheduled,
  seed BENCH_SCALE_SEED): reused. New migrations are applied, and then `rebuild_search` recomputes
  every derived search structure, since a bulk-loaded table gets no per-row triggers' work afterwards.
- A migration changed since it was applied here (placeholders, in `articles` and in `search`, are filled
  in later by the work they hold a number for): its app's migrations from it on are applied again, the
  unchanged ones only recorded (--fake), then everything rebuilt. If that fails, the run stops (drop the
  database to start afresh).
- The corpus has the wrong size: dropped (unless someone is connected to it) and generated afresh.

The hashes of the migrations applied are kept in the table `bench_scale_migrations` (as app.name).
"""

import hashlib
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
ARTICLES = int(os.environ.get("BENCH_SCALE_ARTICLES", "100000"))
SEED = os.environ.get("BENCH_SCALE_SEED", "1")
DRAFTS, SCHEDULED = 2_000, 200
# The apps whose placeholder migrations are filled in while the database is kept.
APPS = ("articles", "search")


def manage(*args: str) -> None:
    env = {**os.environ, "DB_STATEMENT_TIMEOUT_MS": "0"}
    print("  manage.py " + " ".join(args), flush=True)
    subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, check=True)  # noqa: S603 (our own command)


def connect(dbname: str | None = None, *, autocommit: bool = True):
    url = urlsplit(os.environ["DATABASE_URL"])
    if dbname:
        url = url._replace(path=f"/{dbname}")
    return psycopg.connect(url.geturl(), autocommit=autocommit)


def hashes() -> dict[str, str]:
    """`app.name` -> the migration file's hash, for every app in APPS."""
    return {
        f"{app}.{path.stem}": hashlib.sha256(path.read_bytes()).hexdigest()
        for app in APPS
        for path in sorted((ROOT / app / "migrations").glob("0*.py"))
    }


def generated_total(conn) -> int:
    return conn.execute("SELECT count(*) FROM articles_article WHERE seed_checksum = 'generated-corpus'").fetchone()[0]


def applied(conn) -> list[str]:
    """`app.name` of every migration of APPS applied here, in order."""
    rows = conn.execute(
        "SELECT app || '.' || name FROM django_migrations WHERE app = ANY(%s) ORDER BY app, name", [list(APPS)]
    ).fetchall()
    return [name for (name,) in rows]


def record(conn) -> None:
    conn.execute("CREATE TABLE IF NOT EXISTS bench_scale_migrations (name text PRIMARY KEY, sha256 text NOT NULL)")
    current = hashes()
    conn.execute("DELETE FROM bench_scale_migrations")
    for name in applied(conn):
        if name in current:
            conn.execute("INSERT INTO bench_scale_migrations VALUES (%s, %s)", [name, current[name]])


def changed_migrations(conn) -> list[str]:
    exists = conn.execute("SELECT to_regclass('bench_scale_migrations')").fetchone()[0]
    if not exists:
        return []
    # Hashes recorded before APPS had a second app were the articles' alone, by bare name.
    recorded = {
        name if "." in name else f"articles.{name}": sha
        for name, sha in conn.execute("SELECT name, sha256 FROM bench_scale_migrations").fetchall()
    }
    current = hashes()
    return sorted(name for name in applied(conn) if name in recorded and recorded[name] != current.get(name))


def create(name: str) -> None:
    with connect("postgres") as admin:
        admin.execute(f'CREATE DATABASE "{name}"')


def drop(name: str) -> None:
    """Drop the database, unless someone is connected to it (a generation under way, another bench)."""
    with connect("postgres") as admin:
        others = admin.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [name]).fetchone()[0]
        if others:
            raise SystemExit(
                f"{name} has the wrong size but {others} sessions are connected to it (a generation under way?). "
                "Not dropping it; try again when they are done."
            )
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')


def generate(name: str) -> None:
    print(f"Generating {name}: {ARTICLES:,} articles (takes a while; reused by later runs)…", flush=True)
    manage("migrate", "--noinput", "-v0")
    manage("load_seed")
    manage("generate_corpus", "--articles", str(ARTICLES), "--drafts", str(DRAFTS), "--scheduled", str(SCHEDULED),
           "--seed", SEED)  # fmt: skip
    with connect() as conn:
        record(conn)


def vacuum() -> None:
    """VACUUM (ANALYZE) the big tables: quick when nothing changed, and needed when something did.

    A migration that rewrites the articles table (a stored generated column) or a rebuild leaves its
    visibility map empty, and autovacuum does not count a rewrite as inserts: every "index-only" scan
    of the listings' keys then reads the table (category page 50: 112 ms instead of 40).
    """
    with connect() as conn:
        for table in ("articles_article", "taggit_taggeditem", "articles_articlerevision", "articles_listingcount"):
            conn.execute(f"VACUUM (ANALYZE) {table}")


def main() -> int:
    name = urlsplit(os.environ["DATABASE_URL"]).path.lstrip("/")
    with connect("postgres") as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
    if not exists:
        create(name)
        generate(name)
        return 0

    with connect() as conn:
        has_schema = conn.execute("SELECT to_regclass('articles_article')").fetchone()[0]
        total = generated_total(conn) if has_schema else 0
        changed = changed_migrations(conn) if has_schema else []
        before = applied(conn) if has_schema else []
    if total != ARTICLES + DRAFTS + SCHEDULED:
        print(f"{name} holds {total:,} generated articles, not {ARTICLES + DRAFTS + SCHEDULED:,}: generating afresh.")
        drop(name)
        create(name)
        generate(name)
        return 0

    try:
        if changed:
            print(f"Migrations changed since {name} applied them: {', '.join(changed)}; applying them again.")
        for app in APPS:
            mine = [m.split(".", 1)[1] for m in before if m.startswith(f"{app}.")]
            changed_here = [m.split(".", 1)[1] for m in changed if m.startswith(f"{app}.")]
            if not changed_here:
                continue
            # Back (recorded only) to before the first changed migration, then forward one at a
            # time: the changed ones run, the others, whose work is already here, are only recorded.
            first = mine.index(changed_here[0])
            manage("migrate", app, mine[first - 1] if first else "zero", "--fake", "-v0")
            for migration in mine[first:]:
                manage("migrate", app, migration, "-v0", *([] if migration in changed_here else ["--fake"]))
        if changed:
            # Taking an app back also takes back other apps' migrations that depend on it: their work is
            # still here, so they are recorded again (--fake), never run twice.
            with connect() as conn:
                now = set(applied(conn))
            for migration in before:
                if migration not in now:
                    app, name = migration.split(".", 1)
                    manage("migrate", app, name, "--fake", "-v0")
                    with connect() as conn:
                        now = set(applied(conn))
        manage("migrate", "--noinput", "-v0")
    except subprocess.CalledProcessError:
        # Not dropped: generating it again takes tens of minutes, and the code may just be broken right now.
        raise SystemExit(
            f"Migrating {name} failed. Fix the migration, or drop the database (dropdb {name}) to generate it afresh."
        ) from None
    with connect() as conn:
        after = applied(conn)
        record(conn)
    if changed or after != before:
        print(f"{name}: migrations applied, so every derived search structure is rebuilt.")
        manage("rebuild_search")
    vacuum()
    print(f"Reusing {name}: {total:,} generated articles.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
