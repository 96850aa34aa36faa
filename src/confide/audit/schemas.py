"""Response bodies of the audit trail's routes."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any, Literal, cast

from pydantic import BaseModel, Field

from confide.audit.models import AuditEvent
from confide.auth.service import session_label

Outcome = Literal["success", "failure", "denied"]


class AuditEventOut(BaseModel):
    """One recorded action, as an auditor reads it."""

    id: int = Field(description="The event's place in the hash chain.")
    at: datetime
    actor_id: uuid.UUID | None = Field(description="The account that acted, when known.")
    actor: str | None = Field(description="The actor's email as recorded (as typed, if refused).")
    action: str = Field(examples=["auth.signed_in"])
    target_type: str | None
    target_id: str | None
    outcome: Outcome
    ip: str | None
    user_agent: str | None = Field(description="Control characters escaped.")
    request_id: str | None
    detail: dict[str, Any] = Field(description="What else the action names; never a secret.")


class AccountEventOut(BaseModel):
    """One event of the caller's own account."""

    id: int
    at: datetime
    action: str = Field(examples=["auth.signed_in", "auth.password_changed"])
    outcome: Outcome
    ip: str | None
    device: str = Field(description="A label from the user agent (`Firefox on Linux`).")
    detail: dict[str, Any] = Field(
        description='`{"reason": ...}` for a refused sign-in, session counts for sign-outs.'
    )


def audit_event_out(row: AuditEvent) -> AuditEventOut:
    return AuditEventOut(
        id=row.id,
        at=row.at,
        actor_id=row.actor_id,
        actor=row.actor,
        action=row.action,
        target_type=row.target_type,
        target_id=row.target_id,
        outcome=cast(Outcome, row.outcome),
        ip=row.ip,
        user_agent=row.user_agent,
        request_id=row.request_id,
        detail=json.loads(row.detail),
    )


def account_event_out(row: AuditEvent) -> AccountEventOut:
    return AccountEventOut(
        id=row.id,
        at=row.at,
        action=row.action,
        outcome=cast(Outcome, row.outcome),
        ip=row.ip,
        device=session_label(row.user_agent),
        detail=json.loads(row.detail),
    )
