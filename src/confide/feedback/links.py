"""Answering by an email's link: the token names one approval's email notice; GET only shows
it, POST answers (once) through the approvals service, on channel `email`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

from confide.approvals import repository as approvals_repository
from confide.approvals.models import PENDING
from confide.approvals.schemas import ApprovalOut, Decision, approval_out
from confide.db.base import utcnow
from confide.feedback import repository
from confide.feedback.notices import Feedback, token_hash

LinkState = Literal["open", "answered", "expired", "unknown"]
# A token is 43 URL-safe characters (32 bytes); anything much longer is not one of ours.
MAX_TOKEN_CHARS = 100


@dataclass(frozen=True, slots=True)
class Link:
    state: LinkState
    notice_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None
    approval: ApprovalOut | None = None


UNKNOWN = Link(state="unknown")


async def open_link(feedback: Feedback, token: str) -> Link:
    """What the token's link shows: the open approval, its answer, or that it is unknown or
    expired. Changes nothing."""
    if len(token) > MAX_TOKEN_CHARS:
        return UNKNOWN
    async with feedback.database.session() as session:
        notice = await repository.by_token_hash(session, token_hash(token))
        if notice is None:
            return UNKNOWN
        row = await approvals_repository.get(session, notice.approval_id, user_id=notice.user_id)
        if row is None:
            return UNKNOWN
        approval = approval_out(await feedback.vault.codec(session, notice.user_id), row)
    if approval.status != PENDING or notice.used_at is not None:
        state: LinkState = "answered"
    elif approval.expires_at <= utcnow():
        state = "expired"
    else:
        state = "open"
    return Link(state=state, notice_id=notice.id, user_id=notice.user_id, approval=approval)


def decision_from_form(approval: ApprovalOut, form: dict[str, str]) -> Decision:
    """The form's answer as the approvals service takes it (pydantic checks the sizes)."""
    decision = form.get("decision")
    reason = (form.get("reason") or "").strip() or None
    answer = (form.get("answer") or "").strip() or None
    if approval.kind == "question":
        if decision == "approve" and approval.choices and answer not in approval.choices:
            answer = None  # only one of the choices answers it (the service asks for one)
        return Decision.model_validate(
            {"decision": decision, "answer": answer if decision == "approve" else None}
        )
    return Decision.model_validate({"decision": decision, "reason": reason})


async def spend(feedback: Feedback, link: Link) -> None:
    """Mark the link used (after its answer was taken)."""
    assert link.notice_id is not None
    async with feedback.database.session() as session:
        await repository.spend_token(session, link.notice_id, at=utcnow())
