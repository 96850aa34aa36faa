"""Structured JSON logs carrying the request id; secrets never reach a log line.

Query strings are secrets until shown otherwise (a WebSocket ticket travels in one): only the
values of `LOGGED_QUERY_PARAMETERS` are logged, in Confide's access line and in uvicorn's own
lines (its WebSocket lines print the request target), which `configure_logging` filters.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from contextvars import ContextVar
from typing import Any
from urllib.parse import unquote_plus

request_id_var: ContextVar[str | None] = ContextVar("confide_request_id", default=None)

_SECRET_KEY = re.compile(
    r"pass(word)?|token|secret|cookie|authorization|csrf|code|otp|key|credential", re.IGNORECASE
)
# Values that look like a bearer token or JWT are masked even under an innocent key.
_SECRET_VALUE = re.compile(r"(Bearer\s+)?eyJ[\w-]+\.[\w-]+\.[\w-]*|Bearer\s+\S+")
REDACTED = "[redacted]"

# Query parameters of Confide's endpoints whose values say nothing secret. Any other value is
# logged as [redacted] (a WebSocket `ticket`, a search text `q`, whatever a client adds).
LOGGED_QUERY_PARAMETERS = frozenset({"mode", "cursor", "limit", "after", "order", "agent_id"})
# The name of a parameter that is not logged is shown only when it looks like a name (a client
# may put a bare token in the query string).
_PARAMETER_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,31}$")
# A request target in a message: a path, then a query string (up to a space or a quote).
_TARGET = re.compile(r"(/[^\s?#\"']*)\?([^\s#\"']*)")
# A path whose next segment is a secret: a share link's token, in its page and its API.
_SECRET_PATH = re.compile(r"(/s/|/api/shared/)[^/\s?#\"']+")
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")

RESERVED_FIELDS = set(vars(logging.makeLogRecord({})).keys()) | {
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
        return _mask(value)
    return value


def redact_query(query: str) -> str:
    """A raw query string with the value of every parameter not allow-listed replaced."""
    kept: list[str] = []
    for item in query.split("&"):
        if not item:
            continue
        name, _, _ = item.partition("=")
        name = unquote_plus(name)
        if name in LOGGED_QUERY_PARAMETERS:
            kept.append(item)
        elif _PARAMETER_NAME.match(name):
            kept.append(f"{name}={REDACTED}")
        else:
            kept.append(REDACTED)
    return "&".join(kept)


def redact_path(text: str) -> str:
    """`text` with the token of every share-link path in it (`/s/<token>`,
    `/api/shared/<token>`: links/) replaced: the path is the secret there."""
    if "/s" not in text:
        return text
    return _SECRET_PATH.sub(lambda match: f"{match.group(1)}{REDACTED}", text)


def redact_targets(text: str) -> str:
    """`text` with the query string of every request target in it (`/path?...`), and the
    token of every share-link path, redacted."""
    text = redact_path(text)
    if "?" not in text:
        return text
    return _TARGET.sub(lambda match: f"{match.group(1)}?{redact_query(match.group(2))}", text)


def _mask(text: str) -> str:
    return redact_targets(_SECRET_VALUE.sub(REDACTED, text))


class RequestTargetFilter(logging.Filter):
    """Redacts the query strings in uvicorn's records before any handler formats them.

    uvicorn logs `'%s - "WebSocket %s" [accepted]'` (and `... 403`, `... %d` for a refused
    handshake) on `uvicorn.error`, and its access line on `uvicorn.access`, with the request
    target, query string included, as an argument.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact_targets(arg) if isinstance(arg, str) else arg for arg in record.args
            )
        elif not record.args and isinstance(record.msg, str):
            record.msg = redact_targets(record.msg)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id and extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": _mask(record.getMessage()),
        }
        request_id = request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        for name, value in record.__dict__.items():
            if name not in RESERVED_FIELDS and not name.startswith("_"):
                entry[name] = redact(value, name)
        if record.exc_info and record.exc_info[0] is not None:
            entry["exc_type"] = record.exc_info[0].__name__
            entry["exc"] = _mask(self.formatException(record.exc_info))
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(level: str = "INFO") -> None:
    """Send confide's and uvicorn's logs to stderr as JSON lines, query strings redacted."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    for name in ("confide", "uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level)
        logger.propagate = False
    # On the loggers, not the handler: whatever handler a deployment adds gets clean records.
    for name in UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RequestTargetFilter) for f in logger.filters):
            logger.addFilter(RequestTargetFilter())
    # Confide writes its own access line (with the request id); uvicorn's would repeat it.
    logging.getLogger("uvicorn.access").disabled = True
