"""Logging: one JSON object a line, with ids and exception classes only.

Texts, names and phone numbers are never logged: messages carry ids, counts and classes, and an exception is logged
as its class and the frames it passed through, never its message (a database error can quote the row it refused).
`SUGGESTIONS_LOG_FORMAT=text` gives plain lines for a person at a terminal; `SUGGESTIONS_LOG_LEVEL` the least level
written (both read into `Settings`).
"""

from __future__ import annotations

import logging
import traceback
from datetime import UTC, datetime
from typing import Any

import msgspec

# Attributes every LogRecord has; anything else on a record came from `extra=` and is logged as a field.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName", "color_message"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and isinstance(value, str | int | float | bool | None):
                entry[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            entry["exception"] = record.exc_info[0].__name__
            frames = traceback.extract_tb(record.exc_info[2])
            entry["frames"] = [f"{frame.filename}:{frame.lineno} {frame.name}" for frame in frames]
        return msgspec.json.encode(entry).decode()


def configure_logging(level: str = "INFO", log_format: str = "json") -> None:
    handler = logging.StreamHandler()
    if log_format == "text":
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    else:
        handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # arq logs every job and cron tick; the worker logs its own batches instead.
    logging.getLogger("arq.worker").setLevel(logging.WARNING)
    # uvicorn's loggers write through the root handler, in the same format; its access log never: it would hold
    # residents' addresses and the paths they asked for (tracking codes). /metrics counts requests instead. The app
    # factory runs after uvicorn has set up its loggers, so this is where the access log stays off.
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    access = logging.getLogger("uvicorn.access")
    access.handlers[:] = []
    access.propagate = False
    access.disabled = True
