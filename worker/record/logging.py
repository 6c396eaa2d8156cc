"""structlog, configured once at the edge: JSON lines on stderr when not a TTY, console output on a TTY.

One canonical line per job outcome (`job.succeeded` at debug, `job.failed` and `job.rejected` at warning),
dotted event names, and a redaction processor so a token or secret can never reach a log line (nor a
server's 50 MB error body: strings are cut to a few KB).
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import orjson
import structlog
from structlog.typing import EventDict, WrappedLogger

from worker.redact import REDACTED, safe_message

_SECRET_KEY = re.compile(r"(authorization|token|secret|password|api[_-]?key|assertion)", re.IGNORECASE)


def redact_secrets(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """Mask values whose key names a secret; scrub every string of this process's secrets and bearer tokens
    (see `worker.redact`) and cut it to a few KB, however deep in dicts and lists it sits."""
    for key, value in event_dict.items():
        if _SECRET_KEY.search(key):
            event_dict[key] = REDACTED
        else:
            event_dict[key] = _clean(value)
    return event_dict


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return safe_message(value)
    if isinstance(value, MutableMapping):
        return redact_secrets(None, "", dict(value))
    if isinstance(value, list | tuple):
        return [_clean(item) for item in value]
    return value


def configure_logging(level: str = "info", fmt: str = "auto", stream: TextIO | None = None) -> None:
    """Configure structlog for the whole process. Call once, from the CLI."""
    out = stream or sys.stderr
    use_json = fmt == "json" or (fmt == "auto" and not out.isatty())
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_secrets,
    ]
    factory: Any
    if use_json and hasattr(out, "buffer"):
        processors = [*shared, structlog.processors.JSONRenderer(serializer=orjson.dumps)]
        factory = structlog.BytesLoggerFactory(file=out.buffer)
    elif use_json:  # a text-only stream (tests capture into StringIO)
        processors = [*shared, structlog.processors.JSONRenderer()]
        factory = structlog.PrintLoggerFactory(file=out)
    else:
        processors = [*shared, structlog.dev.ConsoleRenderer(colors=out.isatty())]
        factory = structlog.PrintLoggerFactory(file=out)
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=factory,
        cache_logger_on_first_use=True,
    )
