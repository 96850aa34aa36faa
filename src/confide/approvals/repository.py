"""Every query of the approvals feature. None commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update

from confide.approvals.models import PENDING, Approval
from confide.threads.repository import Executor

# Columns, not the entity: the runs feature reads these on a plain connection.
_COLUMNS = tuple(Approval.__table__.c)


async def insert_approvals(db: Executor, rows: list[dict[str, Any]]) -> None:
    if rows:
        await db.execute(insert(Approval), rows)


async def get(
    db: Executor, approval_id: uuid.UUID, *, user_id: uuid.UUID | None, lock: bool = False
) -> Any:
    stmt = select(*_COLUMNS).where(Approval.id == approval_id)
    if user_id is not None:
        stmt = stmt.where(Approval.user_id == user_id)
    if lock:
        stmt = stmt.with_for_update()
    return (await db.execute(stmt)).one_or_none()


async def of_run(db: Executor, run_id: uuid.UUID) -> Sequence[Any]:
    stmt = select(*_COLUMNS).where(Approval.run_id == run_id).order_by(Approval.created_at)
    return (await db.execute(stmt)).all()


async def listed(
    db: Executor,
    user_id: uuid.UUID,
    *,
    run_id: uuid.UUID | None = None,
    status: str | None = None,
    thread_id: uuid.UUID | None = None,
    after: tuple[datetime, uuid.UUID] | None = None,
    limit: int,
) -> Sequence[Any]:
    """A user's approvals, newest first, from after a (created_at, id) cursor."""
    stmt = select(*_COLUMNS).where(Approval.user_id == user_id)
    if run_id is not None:
        stmt = stmt.where(Approval.run_id == run_id)
    if status is not None:
        stmt = stmt.where(Approval.status == status)
    if thread_id is not None:
        stmt = stmt.where(Approval.thread_id == thread_id)
    if after is not None:
        at, last_id = after
        stmt = stmt.where(
            or_(Approval.created_at < at, and_(Approval.created_at == at, Approval.id < last_id))
        )
    stmt = stmt.order_by(Approval.created_at.desc(), Approval.id.desc()).limit(limit)
    return (await db.execute(stmt)).all()


async def decide(db: Executor, approval_id: uuid.UUID, values: dict[str, Any]) -> bool:
    """Record an answer if none was recorded yet; False if one was (or it is gone)."""
    result = await db.execute(
        update(Approval)
        .where(Approval.id == approval_id, Approval.status == PENDING)
        .values(**values)
    )
    return bool(getattr(result, "rowcount", 0))


async def pending_count(db: Executor, run_id: uuid.UUID) -> int:
    stmt = select(func.count()).where(Approval.run_id == run_id, Approval.status == PENDING)
    return int((await db.execute(stmt)).scalar_one())


async def cancel_pending(db: Executor, run_id: uuid.UUID, *, now: datetime) -> None:
    await db.execute(
        update(Approval)
        .where(Approval.run_id == run_id, Approval.status == PENDING)
        .values(status="cancelled", decided_at=now)
    )


async def expired(db: Executor, *, now: datetime, limit: int) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(approval id, user id) of pending approvals past their time, oldest first."""
    stmt = (
        select(Approval.id, Approval.user_id)
        .where(Approval.status == PENDING, Approval.expires_at < now)
        .order_by(Approval.expires_at)
        .limit(limit)
    )
    return [(row[0], row[1]) for row in (await db.execute(stmt)).all()]
