"""Logs as one JSON object a line, so a log collector can index every field.

Every record logged while a request is being handled carries that request's id
(see `kb.middleware.RequestLogMiddleware`), so an error's traceback can be
found from the request line that a reader's bug report quotes.
"""

import json
import logging
import logging.config
import threading
import time
from contextvars import ContextVar
from datetime import UTC, datetime

current_request_id: ContextVar[str | None] = ContextVar("current_request_id", default=None)

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
# Django attaches the request object itself to its records: not JSON, and too much.
_DROPPED = {"request", "server_time"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = current_request_id.get() or getattr(getattr(record, "request", None), "request_id", None)
        if request_id:
            entry["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in _DROPPED:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure(config: dict) -> None:
    """LOGGING_CONFIG: Django's dictConfig, and Python's warnings as log records ("py.warnings").

    Without this, a warning (Pillow's DecompressionBombWarning, Django's
    UnorderedObjectListWarning) is printed to stderr as plain text, breaking
    the one-JSON-object-a-line contract of everything else.
    """
    # dictConfig replaces a logger's handlers but adds to its filters: configured twice (tests, a
    # reconfiguration), a logger would filter every record twice, counting it twice in a rate limit.
    for name in config.get("loggers", {}):
        logger = logging.getLogger(name)
        for existing in list(logger.filters):
            logger.removeFilter(existing)
    logging.config.dictConfig(config)
    logging.captureWarnings(True)


class DisallowedHostFilter(logging.Filter):
    """A request with a Host header not in ALLOWED_HOSTS: one WARNING line without a traceback, rate-limited.

    Django logs each one as an ERROR with the exception's traceback, though it
    is the client's mistake (or a scanner's) and already answered 400: an
    anonymous flood would fill the logs. At most `limit` lines per `window`
    seconds per process; the first line after a quiet spell says how many
    were left out.
    """

    def __init__(self, limit: int = 10, window: float = 60.0):
        super().__init__()
        self.limit, self.window = limit, window
        self._lock = threading.Lock()
        self._window_start = float("-inf")
        self._logged = 0
        self._suppressed = 0

    def filter(self, record: logging.LogRecord) -> bool:
        now = time.monotonic()
        with self._lock:
            if now - self._window_start >= self.window:
                self._window_start, self._logged = now, 0
            if self._logged >= self.limit:
                self._suppressed += 1
                return False
            self._logged += 1
            suppressed, self._suppressed = self._suppressed, 0
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        # The message quotes the Host header the client sent: keep it to a readable length.
        message = record.getMessage()
        record.msg, record.args = (message[:300] + "…" if len(message) > 300 else message), None
        if suppressed:
            record.suppressed = suppressed
        return True
