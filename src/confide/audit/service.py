"""Appending to the audit trail, in the caller's transaction, hash-chained.

`record(db, ...)` adds one row in the transaction of the change it records, so the row and
the change commit (or roll back) together. Appends queue on the chain's head row
(`audit_head`, locked by an UPDATE first: a row lock on PostgreSQL, the writer's turn on
SQLite), so concurrent writers keep the chain one line; `prev_hash` is unique as well.

A row never holds a secret, a token or message content; every text field is neutralised
(control characters, line breaks included, escaped) so a log viewer cannot be fooled by a
forged line, and cut to its column's size.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from starlette.requests import HTTPConnection

from confide.audit.models import AuditEvent, AuditHead
from confide.db.base import utcnow
from confide.logs import request_id_var

if TYPE_CHECKING:
    from confide.db.engine import Database

GENESIS_HASH = "0" * 64
SUCCESS, FAILURE, DENIED = "success", "failure", "denied"
_LIMITS = {"actor": 320, "target_id": 200, "ip": 64, "user_agent": 300, "request_id": 64}


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a request came from, as the audit trail keeps it."""

    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None

    @classmethod
    def of(cls, connection: HTTPConnection | None) -> Origin:
        if connection is None:
            return cls(request_id=request_id_var.get(None))
        return cls(
            ip=connection.client.host if connection.client else None,
            user_agent=connection.headers.get("user-agent"),
            request_id=request_id_var.get(None),
        )


def neutralise(value: str | None, limit: int) -> str | None:
    """Control characters (CR and LF included) escaped, then cut to `limit`."""
    if value is None:
        return None
    cleaned = "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in value
    )
    return cleaned[:limit]


def _clean_detail(detail: dict[str, Any] | None) -> str:
    def clean(value: Any) -> Any:
        if isinstance(value, str):
            return neutralise(value, 500)
        if isinstance(value, list | tuple):
            return [clean(v) for v in value]
        if isinstance(value, dict):
            return {str(neutralise(str(k), 100)): clean(v) for k, v in value.items()}
        return value

    return json.dumps(clean(detail or {}), sort_keys=True, separators=(",", ":"))


def row_hash(row: dict[str, Any], prev_hash: str) -> str:
    """SHA-256 over the row's content (every column but id and the hashes) and the previous
    row's hash."""
    content = {
        "at": _iso(row["at"]),
        "actor_id": str(row["actor_id"]) if row["actor_id"] is not None else None,
        "actor": row["actor"],
        "action": row["action"],
        "target_type": row["target_type"],
        "target_id": row["target_id"],
        "outcome": row["outcome"],
        "ip": row["ip"],
        "user_agent": row["user_agent"],
        "request_id": row["request_id"],
        "detail": row["detail"],
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256((prev_hash + "\n" + canonical).encode()).hexdigest()


def _iso(at: datetime) -> str:
    # Microseconds kept: both backends store them (SQLite as text, PostgreSQL natively).
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


async def record(
    db: AsyncSession | AsyncConnection,
    *,
    action: str,
    outcome: str = SUCCESS,
    actor_id: uuid.UUID | None = None,
    actor: str | None = None,
    target_type: str | None = None,
    target_id: str | uuid.UUID | None = None,
    origin: Origin | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one event to the trail, in `db`'s transaction."""
    origin = origin or Origin.of(None)
    head = (
        await db.execute(
            update(AuditHead)
            .where(AuditHead.id == 1)
            .values(last_id=AuditHead.last_id)  # a no-op write: it takes the lock
            .returning(AuditHead.last_hash)
        )
    ).scalar_one()
    row: dict[str, Any] = {
        # Whole microseconds, UTC: what the database gives back, so `verify` recomputes it.
        "at": utcnow(),
        "actor_id": actor_id,
        "actor": neutralise(actor, _LIMITS["actor"]),
        "action": action,
        "target_type": target_type,
        "target_id": neutralise(str(target_id) if target_id is not None else None, 200),
        "outcome": outcome,
        "ip": neutralise(origin.ip, _LIMITS["ip"]),
        "user_agent": neutralise(origin.user_agent, _LIMITS["user_agent"]),
        "request_id": neutralise(origin.request_id, _LIMITS["request_id"]),
        "detail": _clean_detail(detail),
    }
    digest = row_hash(row, head)
    new_id = (
        await db.execute(
            insert(AuditEvent).values(**row, prev_hash=head, hash=digest).returning(AuditEvent.id)
        )
    ).scalar_one()
    await db.execute(
        update(AuditHead).where(AuditHead.id == 1).values(last_id=new_id, last_hash=digest)
    )


async def record_apart(
    database: Database,
    *,
    action: str,
    outcome: str = SUCCESS,
    actor_id: uuid.UUID | None = None,
    actor: str | None = None,
    target_type: str | None = None,
    target_id: str | uuid.UUID | None = None,
    origin: Origin | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """`record` in a transaction of its own, committed at once: for what a failing request
    must leave behind although its own transaction rolls back (a refused sign-in, a 403).

    Never call it while a transaction the same task waits on has called `record` (it holds
    the chain's head until it commits) or, on SQLite, has written at all (it holds the
    writer's turn): this one would wait for it for ever. End that transaction first."""
    async with database.begin() as conn:
        await record(
            conn,
            action=action,
            outcome=outcome,
            actor_id=actor_id,
            actor=actor,
            target_type=target_type,
            target_id=target_id,
            origin=origin,
            detail=detail,
        )
