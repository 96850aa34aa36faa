"""Structured JSON logs carrying the request id; secrets never reach a log line."""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from contextvars import ContextVar
from typing import Any

request_id_var: ContextVar[str | None] = ContextVar("confide_request_id", default=None)

_SECRET_KEY = re.compile(
    r"pass(word)?|token|secret|cookie|authorization|csrf|code|otp|key|credential", re.IGNORECASE
)
# Values that look like a bearer token or JWT are masked even under an innocent key.
_SECRET_VALUE = re.compile(r"(Bearer\s+)?eyJ[\w-]+\.[\w-]+\.[\w-]*|Bearer\s+\S+")
REDACTED = "[redacted]"

_RESERVED = set(vars(logging.makeLogRecord({})).keys()) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}


def redact(value: Any, key: str | None = None) -> Any:
    """Return `value` with anything that may be a secret replaced by a marker."""
    if key is not None and _SECRET_KEY.search(key):
        return REDACTED
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return _SECRET_VALUE.sub(REDACTED, value)
    return value


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id and extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": _SECRET_VALUE.sub(REDACTED, record.getMessage()),
        }
        request_id = request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        for name, value in record.__dict__.items():
            if name not in _RESERVED and not name.startswith("_"):
                entry[name] = redact(value, name)
        if record.exc_info and record.exc_info[0] is not None:
            entry["exc_type"] = record.exc_info[0].__name__
            entry["exc"] = _SECRET_VALUE.sub(REDACTED, self.formatException(record.exc_info))
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(level: str = "INFO") -> None:
    """Send confide's and uvicorn's logs to stderr as JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    for name in ("confide", "uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level)
        logger.propagate = False
    # Confide writes its own access line (with the request id); uvicorn's would repeat it.
    logging.getLogger("uvicorn.access").disabled = True
