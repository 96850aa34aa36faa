"""Confide's own thread format: what `GET /api/threads/{id}/export?format=json` writes, and what
`POST /api/imports` reads back (one thread, a list of them, or the threads of an account
export, `GET /api/me/export`).

Every message names its parent, so a file of a whole tree (`?all=true`) recreates its
branches, and `active_leaf_id` says which path the thread shows. Ids are the exporting
server's; an import gives every thread and message a new one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from confide.imports.plan import PlannedMessage, ThreadPlan
from confide.threads.schemas import ToolCallOut
from confide.threads.service import NewMessage

THREAD_FORMAT: Literal["confide.thread"] = "confide.thread"
ACCOUNT_EXPORT_FORMAT = "confide-export/1"  # privacy/schemas.py EXPORT_FORMAT
MAX_CONTENT = 1_000_000  # characters of one message


class ExportedThreadHead(BaseModel):
    title: str | None = Field(default=None, max_length=1000)
    agent_id: str | None = Field(
        default=None,
        description="The agent it was with (on import, threads get the importing user's choice).",
    )
    created_at: datetime | None = None


class ExportedMessage(BaseModel):
    id: str = Field(min_length=1, max_length=128)
    parent_id: str | None = Field(
        default=None, max_length=128, description="The message it follows (None: a first one)."
    )
    role: Literal["user", "assistant", "tool", "system"]
    content: str | None = Field(default=None, max_length=MAX_CONTENT)
    tool_calls: list[ToolCallOut] | None = None
    tool_call_id: str | None = Field(default=None, max_length=128)
    name: str | None = Field(default=None, max_length=128)
    interrupted: bool = False
    created_at: datetime | None = None


class ThreadExport(BaseModel):
    """One thread: its head, its messages (parents before children), its active path."""

    format: Literal["confide.thread"] = THREAD_FORMAT
    version: Literal[1] = 1
    exported_at: datetime | None = None
    thread: ExportedThreadHead
    active_leaf_id: str | None = Field(
        default=None, description="The last message of the path the thread shows."
    )
    messages: list[ExportedMessage]


def is_thread(value: Any) -> bool:
    return isinstance(value, dict) and value.get("format") == THREAD_FORMAT


def from_account_export(thread: Any) -> Any:
    """A thread of an account export (privacy/schemas.py ExportThread) in this format, still
    unchecked. Its messages name their parents; an export made before threads were trees
    does not, and each message then follows the one before it."""
    if not isinstance(thread, dict):
        return thread
    messages = thread.get("messages")
    converted = []
    previous = None
    for message in messages if isinstance(messages, list) else []:
        if isinstance(message, dict):
            message = {"parent_id": previous, **message}
            previous = message.get("id")
        converted.append(message)
    return {
        "format": THREAD_FORMAT,
        "version": 1,
        "thread": {key: thread.get(key) for key in ("title", "agent_id", "created_at")},
        "active_leaf_id": thread.get("active_leaf_id", previous),
        "messages": converted,
    }


def plan_thread(value: Any, index: int) -> ThreadPlan:
    """The thread one exported thread becomes (no messages, and a reason, if it is not one)."""
    name = _name(value, index)
    plan = ThreadPlan(name=name, title=None, created_at=None, messages=[], active=None)
    try:
        exported = ThreadExport.model_validate(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        plan.skip(f"not a Confide thread: {where}: {first['msg']}")
        return plan
    plan.title = exported.thread.title
    plan.created_at = exported.thread.created_at
    for message in exported.messages:
        plan.messages.append(
            PlannedMessage(
                key=message.id,
                parent=message.parent_id,
                message=NewMessage(
                    role=message.role,
                    content=message.content,
                    tool_calls=[call.model_dump() for call in message.tool_calls]
                    if message.tool_calls
                    else None,
                    tool_call_id=message.tool_call_id,
                    name=message.name,
                    interrupted=message.interrupted,
                ),
                created_at=message.created_at,
            )
        )
    plan.active = exported.active_leaf_id
    return plan


def _name(value: Any, index: int) -> str:
    head = value.get("thread") if isinstance(value, dict) else None
    title = head.get("title") if isinstance(head, dict) else None
    if isinstance(title, str) and title.strip():
        return title.strip()[:200]
    return f"thread {index + 1}"
