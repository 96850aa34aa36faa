"""Approvals as the API shows them, the answer a user sends, and how rows are sealed."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from confide.storage.codec import ContentCodec

ApprovalKind = Literal["approval", "question"]
ApprovalStatus = Literal["pending", "approved", "denied", "answered", "expired", "cancelled"]
Channel = Literal["web", "email", "slack", "timeout"]
MAX_REASON = 2000
MAX_ANSWER = 10_000
SEALED = ("arguments", "decided_arguments", "reason", "answer")


class ApprovalOut(BaseModel):
    id: uuid.UUID
    run_id: uuid.UUID
    thread_id: uuid.UUID
    tool_call_id: str
    kind: ApprovalKind
    tool: str = Field(description="The tool, as the model named it.")
    server_id: str | None = Field(description="The MCP server of the tool, if any.")
    arguments: str = Field(description="The model's arguments, JSON text.")
    question: str | None = Field(description="What `ask_user` asks (kind `question`).")
    choices: list[str] | None
    status: ApprovalStatus
    decided_arguments: str | None = Field(
        description="The arguments the call was approved with, JSON text, when edited."
    )
    reason: str | None
    answer: str | None
    channel: Channel | None = Field(description="Where it was answered.")
    created_at: datetime
    expires_at: datetime
    decided_at: datetime | None


class Decision(BaseModel):
    """An answer to an approval: approve (optionally with edited arguments) or deny, with an
    optional reason; a question (`ask_user`) is answered with `answer`."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "deny"]
    arguments: dict[str, Any] | None = Field(
        default=None, description="Approve with these arguments instead of the model's."
    )
    reason: str | None = Field(default=None, max_length=MAX_REASON)
    answer: str | None = Field(default=None, min_length=1, max_length=MAX_ANSWER)


def question_of(arguments: str) -> tuple[str | None, list[str] | None]:
    """`ask_user`'s question and choices, from its arguments."""
    try:
        value = json.loads(arguments)
    except ValueError:
        return None, None
    if not isinstance(value, dict):
        return None, None
    question = value.get("question")
    choices = value.get("choices")
    return (
        question if isinstance(question, str) else None,
        [str(c) for c in choices] if isinstance(choices, list) and choices else None,
    )


def seal(
    codec: ContentCodec, approval_id: uuid.UUID, column: str, text: str | None
) -> bytes | None:
    if text is None:
        return None
    return codec.encode(text, table="approvals", column=column, row_id=str(approval_id))


def approval_out(codec: ContentCodec, row: Any) -> ApprovalOut:
    opened = {
        column: (
            None
            if getattr(row, column) is None
            else codec.decode(
                getattr(row, column), table="approvals", column=column, row_id=str(row.id)
            )
        )
        for column in SEALED
    }
    question, choices = (
        question_of(opened["arguments"] or "")
        if row.kind == "question"
        else (
            None,
            None,
        )
    )
    return ApprovalOut(
        id=row.id,
        run_id=row.run_id,
        thread_id=row.thread_id,
        tool_call_id=row.tool_call_id,
        kind=row.kind,
        tool=row.tool,
        server_id=row.server_id,
        arguments=opened["arguments"] or "{}",
        question=question,
        choices=choices,
        status=row.status,
        decided_arguments=opened["decided_arguments"],
        reason=opened["reason"],
        answer=opened["answer"],
        channel=row.channel,
        created_at=row.created_at,
        expires_at=row.expires_at,
        decided_at=row.decided_at,
    )
