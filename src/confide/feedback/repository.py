"""Every query of the feedback feature (its two tables; other features' rows are read through
their repositories)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from confide.db.base import utcnow
from confide.feedback.models import QUEUED, ApprovalNotice, FeedbackChannels
from confide.storage.codec import Executor


def _insert(db: Executor) -> Any:
    return sqlite_insert if db.get_bind().dialect.name == "sqlite" else pg_insert  # type: ignore[union-attr]


async def channels_of(db: Executor, user_id: uuid.UUID) -> FeedbackChannels | None:
    found = await db.execute(select(FeedbackChannels).where(FeedbackChannels.user_id == user_id))
    return found.scalar_one_or_none()


async def save_channels(
    db: Executor, *, user_id: uuid.UUID, order: str, slack_user_id: bytes | None
) -> None:
    values = {"channel_order": order, "slack_user_id": slack_user_id, "updated_at": utcnow()}
    statement = _insert(db)(FeedbackChannels).values(user_id=user_id, **values)
    await db.execute(statement.on_conflict_do_update(index_elements=["user_id"], set_=values))


async def notices_of(db: Executor, approval_id: uuid.UUID) -> list[ApprovalNotice]:
    found = await db.execute(
        select(ApprovalNotice).where(ApprovalNotice.approval_id == approval_id)
    )
    return list(found.scalars())


async def claim_notice(
    db: Executor,
    *,
    approval_id: uuid.UUID,
    user_id: uuid.UUID,
    channel: str,
    status: str,
    token_hash: str | None = None,
) -> uuid.UUID | None:
    """Insert the channel's notice for the approval; None when there is one already (another
    run of the job sent it, or is sending it)."""
    notice_id = uuid.uuid4()
    now = utcnow()
    statement = (
        _insert(db)(ApprovalNotice)
        .values(
            id=notice_id,
            approval_id=approval_id,
            user_id=user_id,
            channel=channel,
            status=status,
            token_hash=token_hash,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["approval_id", "channel"])
    )
    result = await db.execute(statement)
    return notice_id if result.rowcount else None  # type: ignore[attr-defined]


async def set_notice(
    db: Executor,
    notice_id: uuid.UUID,
    *,
    status: str,
    ref: str | None = None,
    error: str | None = None,
    only_if: str | None = None,
) -> bool:
    """Record a notice's outcome (only while it is `only_if`, when given); whether it did."""
    statement = update(ApprovalNotice).where(ApprovalNotice.id == notice_id)
    if only_if is not None:
        statement = statement.where(ApprovalNotice.status == only_if)
    values: dict[str, Any] = {"status": status, "updated_at": utcnow()}
    if ref is not None:
        values["ref"] = ref
    if error is not None:
        values["error"] = error[:500]
    result = await db.execute(statement.values(**values))
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def queued_emails(db: Executor, *, limit: int) -> list[ApprovalNotice]:
    """Email notices whose delivery is not known yet (the sweep reads their outbox message)."""
    found = await db.execute(
        select(ApprovalNotice)
        .where(ApprovalNotice.channel == "email", ApprovalNotice.status == QUEUED)
        .order_by(ApprovalNotice.created_at)
        .limit(limit)
    )
    return list(found.scalars())


async def by_token_hash(db: Executor, token_hash: str) -> ApprovalNotice | None:
    found = await db.execute(select(ApprovalNotice).where(ApprovalNotice.token_hash == token_hash))
    return found.scalar_one_or_none()


async def spend_token(db: Executor, notice_id: uuid.UUID, *, at: datetime) -> bool:
    """Mark an email link used; False when it was used already (of two answers, one wins)."""
    result = await db.execute(
        update(ApprovalNotice)
        .where(ApprovalNotice.id == notice_id, ApprovalNotice.used_at.is_(None))
        .values(used_at=at, updated_at=at)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def slack_notice(db: Executor, approval_id: uuid.UUID) -> ApprovalNotice | None:
    found = await db.execute(
        select(ApprovalNotice).where(
            ApprovalNotice.approval_id == approval_id, ApprovalNotice.channel == "slack"
        )
    )
    return found.scalar_one_or_none()
