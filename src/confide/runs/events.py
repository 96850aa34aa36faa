"""Every event a run emits: one pydantic model each, in one discriminated union (`RunEvent`).

The same JSON goes out as an SSE event's `data:` (its `id:` and `event:` lines repeat `id` and
`type`) and as a WebSocket message, is stored in `run_events` (all but `message.delta`) and is
published in the OpenAPI schema, from which the web app's types are generated.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from confide.threads.schemas import MessageOut, ToolStatus


class EventBase(BaseModel):
    # Not frozen: the channel numbers an event (`id`) when it publishes it.
    # Serialized events always carry every field: the schema says so (generated types need
    # no `?` on `id` or `type`).
    model_config = ConfigDict(extra="ignore", json_schema_serialization_defaults_required=True)

    type: str
    id: int = Field(default=0, description="Numbered per run from 1: the SSE `id:`.")
    run_id: uuid.UUID


class RunStarted(EventBase):
    type: Literal["run.started"] = "run.started"
    thread_id: uuid.UUID
    agent_id: str


class MessageDelta(EventBase):
    """A piece of the assistant's text as the model streams it (never stored: the completed
    message carries the whole text)."""

    type: Literal["message.delta"] = "message.delta"
    delta: str


class ToolStarted(EventBase):
    type: Literal["tool.started"] = "tool.started"
    tool_call_id: str
    name: str
    arguments: str = Field(description="JSON text, as the model wrote it.")


class ToolFinished(EventBase):
    type: Literal["tool.finished"] = "tool.finished"
    tool_call_id: str
    name: str | None = None
    status: ToolStatus
    duration_ms: float | None = None
    result: str | None = None


class MessageCompleted(EventBase):
    """A message stored in the thread (the assistant's, or a tool's result)."""

    type: Literal["message.completed"] = "message.completed"
    message: MessageOut


class ApprovalRequested(EventBase):
    """The run waits before this tool call until its user answers (approve or deny; for
    `ask_user`, an answer): `POST /api/runs/{run_id}/approvals/{approval_id}`."""

    type: Literal["approval.requested"] = "approval.requested"
    approval_id: uuid.UUID
    tool_call_id: str
    name: str = Field(description="The tool, as the model named it.")
    server_id: str | None = Field(default=None, description="Its MCP server, if any.")
    arguments: str = Field(description="JSON text, as the model wrote it.")
    kind: Literal["approval", "question"]
    question: str | None = Field(default=None, description="What `ask_user` asks.")
    choices: list[str] | None = None
    expires_at: datetime = Field(description="Unanswered by then, it counts as denied.")


class ApprovalResolved(EventBase):
    type: Literal["approval.resolved"] = "approval.resolved"
    approval_id: uuid.UUID
    tool_call_id: str
    status: Literal["approved", "denied", "answered", "expired"]
    channel: str = Field(description="Where it was answered: web, email, slack or timeout.")


class RunWaiting(EventBase):
    """The run is paused until every approval it asked for is answered; its stream ends
    here. Once answered, the run goes on and its events continue after this id."""

    type: Literal["run.waiting"] = "run.waiting"
    status: Literal["waiting"] = "waiting"


class RunCompleted(EventBase):
    type: Literal["run.completed"] = "run.completed"
    status: Literal["completed"] = "completed"


class RunFailed(EventBase):
    type: Literal["run.failed"] = "run.failed"
    status: Literal["failed"] = "failed"
    code: str = Field(description="Stable reason code: model_timeout, empty_answer...")
    reason: str = Field(description="What went wrong, in words for the user.")


class RunCancelled(EventBase):
    type: Literal["run.cancelled"] = "run.cancelled"
    status: Literal["cancelled"] = "cancelled"
    code: str = "cancelled"
    reason: str = "The run was cancelled."


RunEvent = Annotated[
    RunStarted
    | MessageDelta
    | ToolStarted
    | ToolFinished
    | MessageCompleted
    | ApprovalRequested
    | ApprovalResolved
    | RunWaiting
    | RunCompleted
    | RunFailed
    | RunCancelled,
    Field(discriminator="type"),
]
EVENT_ADAPTER: TypeAdapter[RunEvent] = TypeAdapter(RunEvent)
RunEnded = RunCompleted | RunFailed | RunCancelled
TERMINAL = frozenset({"run.completed", "run.failed", "run.cancelled"})


def is_terminal(event: EventBase) -> bool:
    return isinstance(event, RunCompleted | RunFailed | RunCancelled)


def ends_stream(event: EventBase) -> bool:
    """The last event a follower hears now: the run ended, or it waits for its user."""
    return isinstance(event, RunCompleted | RunFailed | RunCancelled | RunWaiting)


def ending(status: str, code: str | None, reason: str | None, *, run_id: uuid.UUID) -> RunEnded:
    """The final event of a run that ended with this outcome."""
    if status == "completed":
        return RunCompleted(run_id=run_id)
    if status == "cancelled":
        return RunCancelled(
            run_id=run_id, code=code or "cancelled", reason=reason or "The run was cancelled."
        )
    return RunFailed(run_id=run_id, code=code or "run_failed", reason=reason or "The run failed.")


# What a WebSocket client sends, and the error a socket answers a bad message with.


class WsError(BaseModel):
    """Sent on the socket when a client message is refused (the socket stays open)."""

    type: Literal["error"] = "error"
    code: str
    detail: str
    errors: list[dict[str, object]] | None = None
    # Seconds to wait before sending again (`rate_limited`), as HTTP's Retry-After.
    retry_after: int | None = None
