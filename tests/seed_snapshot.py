"""The 52 seed articles for a test, from a snapshot taken once per process.

Loading the seed the real way (articles/seed.py) takes 6-9 s: the importer
renders and indexes each article and the lexicon's triggers fire on every
statement. About 85 tests start from it, so each process (each xdist worker)
loads it for real once, inside the first test's transaction, copies out the
rows of every table the load changed, and later tests get those rows back
with COPY in a few milliseconds, triggers off, in their own transaction.

A snapshot is only valid on the database it was taken from: before
restoring, every table must hold exactly what it held before that first
load. A test
that created a category, an article or a synonym first, or that runs after a
transactional test flushed the database, gets a real load (and a new
snapshot). Users and sessions are left out of that comparison: the seed
names no user.
"""

import copy
import os
from dataclasses import dataclass

from django.db import connection
from psycopg import sql

from articles import caching

# Tables whose rows the seed never reads or writes; a test's users don't make a snapshot stale.
NOT_READ_BY_THE_SEED = {"auth_user", "auth_user_groups", "auth_user_user_permissions", "django_session"}


@dataclass
class Snapshot:
    fingerprint: dict[str, str]  # table -> digest of its rows before the load, for every table but users'
    rows: dict[str, bytes]  # table -> its rows after the load, as COPY text
    sequences: list[tuple[str, str, str]]  # (table, column, sequence) of the restored tables' serial columns
    report: object


_snapshot: Snapshot | None = None


def enabled() -> bool:
    return os.environ.get("KB_TEST_SEED_SNAPSHOT", "1") != "0"


def _tables(cursor) -> list[str]:
    cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
    return [name for (name,) in cursor.fetchall()]


def _digests(cursor, tables) -> dict[str, str]:
    """Each table's rows, digested in one statement (the tables are small when the seed is loaded)."""
    if not tables:
        return {}
    parts = [
        sql.SQL("SELECT {name}, md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) FROM {table} t").format(
            name=sql.Literal(table), table=sql.Identifier(table)
        )
        for table in tables
    ]
    cursor.execute(sql.SQL(" UNION ALL ").join(parts).as_string(cursor.connection))
    return dict(cursor.fetchall())


def _take(load) -> Snapshot:
    with connection.cursor() as cursor:
        tables = [t for t in _tables(cursor) if t not in NOT_READ_BY_THE_SEED]
        before = _digests(cursor, tables)
        report = load()
        after = _digests(cursor, tables)
        changed = [t for t in tables if before[t] != after[t]]
        rows = {}
        for table in changed:
            with cursor.cursor.copy(sql.SQL("COPY {} TO STDOUT").format(sql.Identifier(table))) as copy_out:
                rows[table] = b"".join(bytes(chunk) for chunk in copy_out)
        cursor.execute(
            "SELECT c.relname, a.attname, pg_get_serial_sequence(quote_ident(c.relname), a.attname) "
            "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "WHERE c.relname = ANY(%s) AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped "
            "AND pg_get_serial_sequence(quote_ident(c.relname), a.attname) IS NOT NULL",
            [changed],
        )
        sequences = cursor.fetchall()
    return Snapshot(fingerprint=before, rows=rows, sequences=sequences, report=copy.deepcopy(report))


def _restore(snapshot: Snapshot) -> None:
    with connection.cursor() as cursor:
        # Triggers (the lexicon's counts, foreign keys' checks) stay off: the rows are already what they made.
        cursor.execute("SET LOCAL session_replication_role = replica")
        for table, rows in snapshot.rows.items():
            cursor.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(table)).as_string(cursor.connection))
            with cursor.cursor.copy(sql.SQL("COPY {} FROM STDIN").format(sql.Identifier(table))) as copy_in:
                copy_in.write(rows)
        cursor.execute("SET LOCAL session_replication_role = origin")
        for table, column, sequence in snapshot.sequences:
            # Ids the restored rows use must never be handed out again by this database.
            query = sql.SQL(
                "SELECT setval(%s, GREATEST((SELECT max({}) FROM {}), pg_sequence_last_value(%s::regclass)))"
            )
            cursor.execute(
                query.format(sql.Identifier(column), sql.Identifier(table)).as_string(cursor.connection),
                [sequence, sequence],
            )
    # What the load's signals would have done outside the database: pages and search statistics go stale.
    caching.content_changed()


def load(real_load):
    """`real_load()`'s result and rows, restored from this process's snapshot when it is still valid."""
    global _snapshot
    if not enabled() or not connection.in_atomic_block:
        return real_load()
    if _snapshot is not None:
        with connection.cursor() as cursor:
            current = _digests(cursor, list(_snapshot.fingerprint))
        if current == _snapshot.fingerprint:
            _restore(_snapshot)
            return copy.deepcopy(_snapshot.report)
    _snapshot = _take(real_load)
    return copy.deepcopy(_snapshot.report)
