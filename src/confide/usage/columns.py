"""The usage columns of a `messages` row, in and out (the threads feature writes the row)."""

from __future__ import annotations

from typing import Any

from confide.threads.schemas import MessageUsage, ToolOutcome


def usage_columns(usage: MessageUsage | None, tool: ToolOutcome | None) -> dict[str, Any]:
    """The usage columns of a row to insert: every key, NULL where nothing is known (rows
    are inserted many in one statement, which takes the same keys in each)."""
    return {
        "input_tokens": usage.input_tokens if usage else None,
        "output_tokens": usage.output_tokens if usage else None,
        "model_ms": usage.model_ms if usage else None,
        "first_token_ms": usage.first_token_ms if usage else None,
        "model": usage.model if usage else None,
        "tool_ms": tool.duration_ms if tool else None,
        "tool_status": tool.status if tool else None,
    }


def usage_of(row: Any) -> MessageUsage | None:
    """An assistant message's stored usage (None: another role, or nothing was recorded)."""
    if row.role != "assistant" or (
        row.input_tokens is None and row.output_tokens is None and row.model_ms is None
    ):
        return None
    return MessageUsage(
        input_tokens=row.input_tokens,
        output_tokens=row.output_tokens,
        model_ms=row.model_ms,
        first_token_ms=row.first_token_ms,
        model=row.model,
    )


def tool_of(row: Any) -> ToolOutcome | None:
    """A tool message's stored outcome (None: another role, or stored before it was kept)."""
    if row.role != "tool" or row.tool_status is None:
        return None
    return ToolOutcome(status=row.tool_status, duration_ms=row.tool_ms)
