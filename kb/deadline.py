"""A request's database work has a deadline, not only each statement (#14).

PostgreSQL's `statement_timeout` (DB_STATEMENT_TIMEOUT_MS, set on every
connection) bounds one statement. A request of many statements could still
run for far longer in all, up to gunicorn killing the worker. So each request
gets a budget (DB_REQUEST_TIMEOUT_MS, counted from when it arrived), and every
statement it runs is given at most what is left of it:

- while more than a statement's timeout is left (every ordinary request), the
  connection's own timeout applies and nothing is added;
- past that point, each statement is preceded by `SET statement_timeout` to
  the time left, so PostgreSQL cancels it when the budget is spent;
- once nothing is left, no further statement is sent: `RequestTooExpensive`.

A connection whose timeout was lowered gets `RESET statement_timeout` before
the request ends, so it goes back to the pool as it came. Outside requests
(migrate, management commands) nothing of this applies.

`kb.middleware.QueryBudgetMiddleware` installs it on every database of the
request; `kb.errors.too_expensive` answers both kinds of cancellation.

A server that stops answering cannot cancel anything: each statement is also
guarded by kb/dbguard.py's watchdog, which shuts the socket once the statement
has outlived its limit by DB_STALL_GRACE_MS (#15).
"""

import logging
import time
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.db import connections
from django.db.backends.signals import connection_created
from django.db.utils import OperationalError

from kb import dbguard

logger = logging.getLogger("kb.deadline")

# A connection drawn from the pool means the database answers again: stop failing fast.
connection_created.connect(dbguard.connection_created, dispatch_uid="kb.dbguard")

_deadline: ContextVar[float | None] = ContextVar("kb_request_deadline", default=None)


class RequestTooExpensive(OperationalError):
    """The request had used up its database time before this statement: it was not sent."""


def remaining_ms() -> int | None:
    """Milliseconds of database time left to the current request, or None outside one."""
    deadline = _deadline.get()
    return None if deadline is None else int((deadline - time.monotonic()) * 1000)


def _statement_limit(connection, sql, execute, *args):
    left = remaining_ms()
    if left is None or connection.vendor != "postgresql":
        return execute(sql, *args)
    if left <= 0:
        raise RequestTooExpensive(f"The request's database time ({settings.DB_REQUEST_TIMEOUT_MS} ms) is used up.")
    default = settings.DB_STATEMENT_TIMEOUT_MS or float("inf")
    # statement_timeout is the server's to enforce: a peer that stops answering never sends the
    # cancellation, so past the statement's limit and a grace, the watchdog shuts the socket.
    silent_for = (min(left, default) + settings.DB_STALL_GRACE_MS) / 1000
    with dbguard.guard_connection(connection.connection, silent_for):
        if left < default:
            # On the raw connection: this statement is not one of the request's own.
            with connection.wrap_database_errors:
                connection.connection.execute(f"SET statement_timeout = {max(left, 1)}")
            connection.kb_statement_timeout_lowered = True
        return execute(sql, *args)


def _wrapper(execute, sql, params, many, context):
    return _statement_limit(context["connection"], sql, execute, params, many, context)


def _restore(connection) -> None:
    if not getattr(connection, "kb_statement_timeout_lowered", False):
        return
    connection.kb_statement_timeout_lowered = False
    if connection.connection is None:
        return
    try:
        with dbguard.guard_connection(connection.connection, settings.DB_CHECK_TIMEOUT_MS / 1000):
            connection.connection.execute("RESET statement_timeout")
    except Exception:  # noqa: BLE001
        # A broken connection is found and replaced by the pool's check when next drawn;
        # one in a failed transaction is rolled back on its return, which undoes the SET too.
        logger.info("Could not reset statement_timeout on %s", connection.alias, exc_info=True)


@contextmanager
def request_deadline(budget_ms: int | None = None):
    """Run the body (a request) with a database deadline `budget_ms` from now (default DB_REQUEST_TIMEOUT_MS)."""
    budget_ms = settings.DB_REQUEST_TIMEOUT_MS if budget_ms is None else budget_ms
    token = _deadline.set(time.monotonic() + budget_ms / 1000)
    used = [connections[alias] for alias in connections]
    try:
        with ExitStack() as stack:
            for connection in used:
                stack.enter_context(connection.execute_wrapper(_wrapper))
            yield
    finally:
        _deadline.reset(token)
        for connection in used:
            _restore(connection)
