"""Reading the audit trail straight from the database, for the tests' assertions."""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI
from sqlalchemy import select, update

from confide.audit.models import AuditEvent
from confide.auth.models import User


async def events(app: FastAPI, action: str | None = None) -> list[AuditEvent]:
    """Every recorded event (or those of one action), oldest first."""
    stmt = select(AuditEvent).order_by(AuditEvent.id)
    if action is not None:
        stmt = stmt.where(AuditEvent.action == action)
    async with app.state.database.session() as db:
        return list((await db.execute(stmt)).scalars().all())


async def only(app: FastAPI, action: str) -> AuditEvent:
    """The one event of `action` (asserts there is exactly one)."""
    found = await events(app, action)
    assert len(found) == 1, [(e.action, e.outcome, e.detail) for e in found]
    return found[0]


def detail(event: AuditEvent) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(event.detail)
    return value


async def set_status(app: FastAPI, user_id: str, status: str) -> None:
    import uuid

    async with app.state.database.begin() as conn:
        await conn.execute(update(User).where(User.id == uuid.UUID(user_id)).values(status=status))
