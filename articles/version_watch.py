"""This process's copy of the content version, kept current by Redis itself.

Asking Redis for the content version on every cached page costs a network
round trip, which measured as a third of the throughput of serving a cached
page (bench/results.md). Instead, each process keeps one connection on which
Redis *pushes* a message whenever the version key changes (client-side caching
invalidation: `CLIENT TRACKING ... BCAST PREFIX <key>`, redirected to the same
connection's `__redis__:invalidate` subscription). Before every use the
connection is polled without blocking, so a change that Redis has pushed is
seen by the very next request; the version is then read again.

Why that is as good as asking: Redis writes the invalidation to every watching
connection in the same turn of its event loop as its reply to the INCR that
made the change, before it reads another command. By the time the editor's
save has returned and anybody has made another request, the push is already
on its way, and it travels the same network as that request.

A connection that silently died (a NAT dropping an idle flow) would stop the
pushes without anybody noticing, so the watch sends a PING every
`PING_EVERY` seconds and trusts its copy only while a PING sent within the
last `TRUST_FOR` seconds has been answered: every push queued before Redis
answered that PING has arrived before the answer. Otherwise, and whenever
anything goes wrong, `version()` returns None and the caller asks Redis the
ordinary way, so the worst a failure costs is speed.
"""

import logging
import os
import threading
import time

from redis.exceptions import RedisError
from redis.maint_notifications import MaintNotificationsConfig

logger = logging.getLogger("articles.caching")

INVALIDATE_CHANNEL = "__redis__:invalidate"


class VersionWatch:
    PING_EVERY = 0.1
    TRUST_FOR = 0.5
    # A PING without an answer for this long means the connection is gone.
    DEAD_AFTER = 2.0
    # After a failure, requests ask Redis directly for this long before the watch reconnects.
    RETRY_AFTER = 1.0

    def __init__(self, client, key: str, read, clock=time.monotonic, on_lost=None):
        """`client` is a redis.Redis; `key` the full Redis key of the version; `read()` reads it (a round trip).

        `on_lost(error)` is called when the connection fails: changes may have
        been made meanwhile that Redis never heard of (articles.caching recovers).
        """
        self._pool = client.connection_pool
        self._on_lost = on_lost
        self._key = key
        self._read = read
        self._clock = clock
        self._lock = threading.Lock()
        self._conn = None
        self._pid = None
        self.client_id = None
        self._failing = False
        self._version = None
        self._ping_sent_at = None
        self._answered_ping_sent_at = float("-inf")
        self._retry_at = float("-inf")

    def version(self) -> int | None:
        """The current content version, or None if the caller must ask Redis itself."""
        with self._lock:
            now = self._clock()
            if self._pid != os.getpid():
                # A forked child must not read from its parent's socket.
                self._conn, self._version, self._pid = None, None, os.getpid()
            try:
                if self._conn is None:
                    if now < self._retry_at:
                        return None
                    self._connect(now)
                self._drain()
                if self._ping_sent_at is None:
                    if now - self._answered_ping_sent_at >= self.PING_EVERY:
                        self._conn.send_command("PING")
                        self._ping_sent_at = now
                elif now - self._ping_sent_at > self.DEAD_AFTER:
                    raise ConnectionError("no answer to PING")
                if now - self._answered_ping_sent_at > self.TRUST_FOR:
                    return None
                if self._version is None:
                    self._version = self._read()
                return self._version
            except (RedisError, OSError) as error:
                if not self._failing:  # once, not at every retry while Redis stays away
                    logger.warning("Content version watch lost (%s); asking Redis on every request for now", error)
                self._failing = True
                if self._on_lost is not None:
                    self._on_lost(error)
                self._close(now)
                return None

    def _connect(self, now: float) -> None:
        # The pool's address, credentials and timeouts, in RESP2, so that invalidations arrive
        # as ordinary pub/sub messages (and without redis-py's RESP3-only maintenance notifications).
        kwargs = {name: value for name, value in self._pool.connection_kwargs.items() if not name.startswith("maint_")}
        kwargs.update(protocol=2, maint_notifications_config=MaintNotificationsConfig(enabled=False))
        conn = self._pool.connection_class(**kwargs)
        try:
            conn.connect()
            conn.send_command("CLIENT", "ID")
            client_id = conn.read_response()
            # Redis 6 or later; an older one answers with an error, and pages ask Redis every time.
            conn.send_command("CLIENT", "TRACKING", "ON", "REDIRECT", client_id, "BCAST", "PREFIX", self._key)
            conn.read_response()
            conn.send_command("SUBSCRIBE", INVALIDATE_CHANNEL)
            conn.read_response()
        except BaseException:
            conn.disconnect()
            raise
        # Subscribed: every change from now on is pushed. The answer to SUBSCRIBE
        # counts as the answer to a PING sent when connecting began.
        self._conn, self._version, self._ping_sent_at = conn, None, None
        self._answered_ping_sent_at = now
        self.client_id = client_id
        if self._failing:
            logger.info("Content version watch restored")
            self._failing = False

    def _drain(self) -> None:
        while self._conn.can_read(timeout=0):
            message = self._conn.read_response()
            kind = message[0] if isinstance(message, list) and message else None
            if kind in (b"message", "message"):  # the key changed (or the database was flushed)
                self._version = None
            elif kind in (b"pong", "pong"):
                self._answered_ping_sent_at, self._ping_sent_at = self._ping_sent_at, None

    def _close(self, now: float) -> None:
        conn, self._conn, self._version, self._ping_sent_at = self._conn, None, None, None
        self._answered_ping_sent_at = float("-inf")
        self._retry_at = now + self.RETRY_AFTER
        if conn is not None:
            try:
                conn.disconnect()
            except (RedisError, OSError):
                pass

    def close(self) -> None:
        with self._lock:
            self._close(self._clock())
