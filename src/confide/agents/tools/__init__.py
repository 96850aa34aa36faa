"""Tools agents may call: the registry, the built-in tools and the tool-call log."""

from confide.agents.tools.builtin import builtin_tools
from confide.agents.tools.log import (
    FileToolCallLog,
    NullToolCallLog,
    ToolCallLog,
    ToolCallRecord,
    tool_call_log,
)
from confide.agents.tools.registry import (
    ToolContext,
    ToolOutcome,
    ToolRegistry,
    ToolSpec,
    ToolStatus,
)

__all__ = [
    "FileToolCallLog",
    "NullToolCallLog",
    "ToolCallLog",
    "ToolCallRecord",
    "ToolContext",
    "ToolOutcome",
    "ToolRegistry",
    "ToolSpec",
    "ToolStatus",
    "builtin_tools",
    "tool_call_log",
]
