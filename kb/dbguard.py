"""PostgreSQL that stops answering must cost a request seconds, not a worker (#15).

Three failures, three bounds:

- **A network that drops packets** (a partition, a dead host): the kernel
  finds it through TCP keepalives and `tcp_user_timeout`, set on every
  connection in kb/settings.py.
- **A peer that keeps the connection open but never answers** (a frozen
  proxy, a hung server): TCP sees nothing wrong, and `statement_timeout` is
  enforced by the server that is not answering. `Watchdog` shuts the socket
  of a statement that has outlived its own limit plus `DB_STALL_GRACE_MS`;
  psycopg then fails the statement at once and the request gets its 503. The
  same watchdog bounds the pool's check of a connection it hands out.
- **A database that is down** (refused, or every connection attempt timing
  out): without help each request would wait `DB_POOL_TIMEOUT` for a
  connection. `Breaker` remembers the failure: until a background probe
  connects again, requests that need the database get the 503 page at once.
  Cached pages, which need no database, are served as before.

Only stdlib and psycopg are imported at the top: kb/deadline.py imports this early.
"""

import heapq
import itertools
import logging
import os
import socket
import threading
import time
from contextlib import contextmanager

logger = logging.getLogger("kb.dbguard")


class Watchdog:
    """One thread per process that shuts the sockets of guarded blocks that outlive their limit."""

    def __init__(self):
        self._lock = threading.Condition()
        self._heap: list[tuple[float, int]] = []
        self._active: dict[int, int] = {}  # guard id -> socket fd, while its block runs
        self._ids = itertools.count()
        self._thread = None
        self._pid = None

    @contextmanager
    def guard(self, fd: int, seconds: float):
        """Shut socket `fd` down if the body is still running after `seconds`; the body then fails fast."""
        guard_id = next(self._ids)
        with self._lock:
            self._ensure_thread()
            self._active[guard_id] = fd
            entry = (time.monotonic() + seconds, guard_id)
            heapq.heappush(self._heap, entry)
            if self._heap[0] is entry:  # due before anything the thread waits for
                self._lock.notify()
        try:
            yield
        finally:
            # Under the lock: once removed, the watchdog can never touch this fd (which may be reused).
            with self._lock:
                self._active.pop(guard_id, None)

    def _ensure_thread(self):
        # A forked process (gunicorn worker) does not inherit the thread.
        if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._run, name="kb-db-watchdog", daemon=True)
            self._thread.start()

    def _run(self):
        with self._lock:
            while True:
                while self._heap and self._heap[0][1] not in self._active:
                    heapq.heappop(self._heap)  # finished in time
                if not self._heap:
                    self._lock.wait()
                    continue
                due, guard_id = self._heap[0]
                wait = due - time.monotonic()
                if wait > 0:
                    self._lock.wait(wait)
                    continue
                heapq.heappop(self._heap)
                fd = self._active.pop(guard_id)
                logger.warning("Database connection silent past its limit; closing it", extra={"fd": fd})
                _shutdown(fd)


def _shutdown(fd: int) -> None:
    # shutdown() acts on the socket shared by every descriptor of it: psycopg's
    # wait on its own descriptor wakes up and reads end-of-file.
    try:
        sock = socket.socket(fileno=os.dup(fd))
    except OSError:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    finally:
        sock.close()


watchdog = Watchdog()


def stall_grace_seconds() -> float:
    from django.conf import settings

    return getattr(settings, "DB_STALL_GRACE_MS", 1000) / 1000


@contextmanager
def guard_connection(psycopg_connection, seconds: float):
    """Bound one round trip on a psycopg connection; without a socket (closed), run the body as is."""
    try:
        fd = psycopg_connection.pgconn.socket
    except Exception:  # noqa: BLE001 (a closed connection has no socket; psycopg will say so itself)
        yield
        return
    with watchdog.guard(fd, seconds):
        yield


def check_connection(conn) -> None:
    """The pool's check of a connection it is about to hand out (psycopg_pool's own), bounded in time.

    Without the bound, a connection to a peer that stopped answering holds the
    request in the check for as long as the peer stays silent.
    """
    from django.conf import settings
    from psycopg_pool import ConnectionPool

    with guard_connection(conn, getattr(settings, "DB_CHECK_TIMEOUT_MS", 1000) / 1000):
        ConnectionPool.check_connection(conn)


class Breaker:
    """Fail fast while the database is known to be down; a background probe closes it when it answers.

    Open, it lowers every connection pool's wait to `FAIL_FAST_SECONDS`: a
    request that needs a connection gets psycopg_pool's PoolTimeout at once
    and answers as every code path already answers an unreachable database
    (the 503 page, the API's JSON problem), while cached pages are served as
    before. A connection drawn successfully, or the probe connecting, closes it.
    """

    FAIL_FAST_SECONDS = 0.01

    def __init__(self):
        self._lock = threading.Lock()
        self._open = False
        self._probe = None
        self._timeouts: dict[int, tuple[object, float]] = {}  # id(pool) -> (pool, its own timeout)
        self.opened = 0  # times tripped, for tests and metrics

    @property
    def is_open(self) -> bool:
        return self._open

    def trip(self) -> None:
        with self._lock:
            if not self._open:
                self.opened += 1
                logger.warning("Database unavailable: failing fast until it answers again")
            self._open = True
            for pool in _pools():
                if id(pool) not in self._timeouts:
                    self._timeouts[id(pool)] = (pool, pool.timeout)
                    pool.timeout = self.FAIL_FAST_SECONDS
            if self._probe is None or not self._probe.is_alive():
                self._probe = threading.Thread(target=self._probe_until_up, name="kb-db-probe", daemon=True)
                self._probe.start()

    def reset(self) -> None:
        if not self._open:
            return
        with self._lock:
            if self._open:
                self._open = False
                for pool, timeout in self._timeouts.values():
                    pool.timeout = timeout
                self._timeouts.clear()
                logger.warning("Database answers again")

    def _probe_until_up(self) -> None:
        while self._open:
            if probe():
                self.reset()
                return
            time.sleep(_probe_interval())


def _pools():
    from django.db.backends.postgresql.base import DatabaseWrapper

    return list(getattr(DatabaseWrapper, "_connection_pools", {}).values())


def _probe_interval() -> float:
    from django.conf import settings

    return getattr(settings, "DB_PROBE_INTERVAL_MS", 500) / 1000


def probe(alias: str = "default", timeout: float | None = None) -> bool:
    """Does the database answer `SELECT 1` on a fresh connection (outside the pool) within the timeout?"""
    import psycopg
    from django.conf import settings
    from django.db import connections

    timeout = getattr(settings, "DB_CHECK_TIMEOUT_MS", 1000) / 1000 if timeout is None else timeout
    wrapper = connections[alias]
    if wrapper.vendor != "postgresql":
        return True
    params = wrapper.get_connection_params()
    params.update(autocommit=True, connect_timeout=max(2, int(timeout)))
    try:
        with psycopg.connect(**params) as conn, guard_connection(conn, timeout):
            conn.execute("SELECT 1")
        return True
    except Exception as error:  # noqa: BLE001 (any failure means: not yet)
        logger.debug("Database probe failed: %s", type(error).__name__)  # every few hundred ms: not for the log
        return False


breaker = Breaker()


def install(pool) -> None:
    """Give the pool our bounded check in place of psycopg_pool's own, which Django passes it.

    Django builds the pool itself and passes `check=` explicitly, so the option
    cannot be given in settings; the pool keeps it in `_check` (psycopg_pool 3.3).
    """
    if pool is not None and getattr(pool, "_check", None) not in (None, check_connection):
        pool._check = check_connection


def connection_created(sender, connection, **kwargs) -> None:
    """A connection drawn (or opened) means the database answers: requests may use it again."""
    breaker.reset()
    if connection.vendor == "postgresql":
        install(connection.pool)
