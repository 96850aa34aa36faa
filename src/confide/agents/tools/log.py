"""The tool-call log: every execution, as JSON lines and as a line a person can read.

Both files live in the data directory (`tool_calls.jsonl`, `tool_calls.log`), mode 0600 since
they hold what users asked for. `CONFIDE_TOOL_LOG=false` swaps in `NullToolCallLog`.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from confide.agents.tools.registry import ToolContext, ToolOutcome
from confide.config import Settings

JSONL_FILE = "tool_calls.jsonl"
TEXT_FILE = "tool_calls.log"
REDACTED = "[redacted]"
_SECRET_KEY = re.compile(r"password|passwd|token|key|secret|authorization|cookie", re.IGNORECASE)
# Everything that would end or garble a line of the text log (str.splitlines boundaries too).
_LINE_BREAKING = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")
# Left raw by json.dumps(ensure_ascii=False), yet line breaks to str.splitlines; only ever
# inside JSON strings, where the \u escape means the same character.
_JSON_UNSAFE = re.compile(r"[\x85\u2028\u2029]")

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ToolCallRecord:
    """One tool execution as the log stores it."""

    tool_name: str
    arguments: dict[str, Any]
    status: str
    duration_ms: float
    result: str
    run_id: str | None = None
    thread_id: str | None = None
    user_id: str | None = None
    agent_id: str | None = None
    model: str | None = None
    # The MCP server the tool belongs to (None: a built-in tool).
    server_id: str | None = None
    timestamp: datetime = field(default_factory=lambda: datetime.now(UTC))

    @classmethod
    def from_outcome(
        cls,
        tool_name: str,
        outcome: ToolOutcome,
        *,
        context: ToolContext,
        server_id: str | None = None,
    ) -> ToolCallRecord:
        """The record of a finished `ToolRegistry.execute` call (timestamped now, its end)."""
        return cls(
            tool_name=tool_name,
            arguments=outcome.arguments,
            status=outcome.status,
            duration_ms=outcome.duration_ms,
            result=outcome.content,
            run_id=context.run_id,
            thread_id=context.thread_id,
            user_id=context.user_id,
            agent_id=context.agent_id,
            model=context.model,
            server_id=server_id,
        )


class ToolCallLog(Protocol):
    """Where tool executions are recorded."""

    def record(self, entry: ToolCallRecord) -> None:
        """Append one execution; never raises for a storage problem (the run goes on)."""
        ...


class NullToolCallLog:
    """Records nothing (`CONFIDE_TOOL_LOG=false`)."""

    def record(self, entry: ToolCallRecord) -> None:
        return None


class FileToolCallLog:
    """Appends to `tool_calls.jsonl` and `tool_calls.log` in `data_dir`.

    Each line goes out in one `write` on a file opened with O_APPEND, so lines from several
    processes never interleave; the lock keeps this process's threads in the same order in both
    files. Writes are synchronous: a line of a few KiB to a local file takes microseconds, less
    than handing it to a thread would cost, so the event loop is not held up.
    """

    def __init__(self, data_dir: Path, *, result_limit: int) -> None:
        if result_limit < 1:
            raise ValueError("result_limit must be positive")
        self.data_dir = data_dir
        self.result_limit = result_limit
        self.jsonl_path = data_dir / JSONL_FILE
        self.text_path = data_dir / TEXT_FILE
        self._lock = threading.Lock()
        self._ready = False

    def record(self, entry: ToolCallRecord) -> None:
        json_line, text_line = self.format(entry)
        try:
            with self._lock:
                if not self._ready:
                    self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
                _append(self.jsonl_path, json_line, fix_mode=not self._ready)
                _append(self.text_path, text_line, fix_mode=not self._ready)
                self._ready = True
        except OSError:
            # A full disk must not fail the user's run; the application log says what happened.
            logger.exception("tool call log: could not append to %s", self.data_dir)

    def format(self, entry: ToolCallRecord) -> tuple[str, str]:
        """The JSON line and the text line for `entry`, each ending in a newline."""
        arguments = _clean(entry.arguments, limit=self.result_limit)
        result = truncate(entry.result, self.result_limit)
        timestamp = entry.timestamp.astimezone(UTC)
        document = {
            "timestamp": timestamp.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "run_id": entry.run_id,
            "thread_id": entry.thread_id,
            "user_id": entry.user_id,
            "agent_id": entry.agent_id,
            "tool_name": entry.tool_name,
            "server_id": entry.server_id,
            "arguments": arguments,
            "status": entry.status,
            "duration_ms": round(entry.duration_ms, 3),
            "result": result,
            "result_chars": len(entry.result),
            "model": entry.model,
        }
        json_line = _JSON_UNSAFE.sub(
            lambda match: _escape(match.group()),
            json.dumps(document, ensure_ascii=False, default=str, allow_nan=False),
        )
        args_text = json.dumps(arguments, ensure_ascii=False, default=str, allow_nan=False)
        text_line = " ".join(
            [
                timestamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
                f"run={_text(entry.run_id)}",
                f"thread={_text(entry.thread_id)}",
                f"user={_text(entry.user_id)}",
                f"agent={_text(entry.agent_id)}",
                f"model={_text(entry.model)}",
                f"tool={_text(entry.tool_name)}",
                f"server={_text(entry.server_id)}",
                f"status={_text(entry.status)}",
                f"{entry.duration_ms:.1f} ms",
                f"args={_one_line(args_text)}",
                f"-> {_one_line(result)}",
            ]
        )
        return json_line + "\n", text_line + "\n"


def tool_call_log(settings: Settings) -> ToolCallLog:
    """The log the settings ask for: files in the data directory, or nothing."""
    if not settings.tool_log:
        return NullToolCallLog()
    return FileToolCallLog(settings.data_dir, result_limit=settings.tool_result_log_limit)


def redact(value: Any) -> Any:
    """`value` with the value of every key that looks secret replaced, at any depth."""
    return _clean(value, limit=None)


def truncate(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, saying how much was cut."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}…[truncated {len(text) - limit} chars]"


def _clean(value: Any, *, limit: int | None) -> Any:
    """Redact secret keys, cut long strings to `limit`, and make floats valid JSON."""
    if isinstance(value, dict):
        return {
            str(key): REDACTED if _SECRET_KEY.search(str(key)) else _clean(item, limit=limit)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_clean(item, limit=limit) for item in value]
    if isinstance(value, str) and limit is not None:
        return truncate(value, limit)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def _text(value: str | None) -> str:
    return "-" if value is None else _one_line(value).replace(" ", "_")


def _one_line(text: str) -> str:
    return _LINE_BREAKING.sub(lambda match: _escape(match.group()), text)


def _escape(char: str) -> str:
    return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(char, f"\\u{ord(char):04x}")


def _append(path: Path, line: str, *, fix_mode: bool) -> None:
    data = line.encode("utf-8")
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags, 0o600)
    try:
        if fix_mode:
            os.fchmod(fd, 0o600)  # a file created earlier by hand may be wider
        written = os.write(fd, data)
        # A regular file takes the whole line at once; finish a short write all the same.
        while written < len(data):
            written += os.write(fd, data[written:])
    finally:
        os.close(fd)
