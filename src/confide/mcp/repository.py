"""Every query of the MCP feature. Each read takes the owner and filters by it: another
user's credentials are never found."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update

from confide.mcp.models import McpCredential, McpOAuthState
from confide.storage.codec import Executor


async def credential(db: Executor, *, user_id: uuid.UUID, server_id: str) -> Any:
    found = await db.execute(
        select(McpCredential.__table__).where(
            McpCredential.user_id == user_id, McpCredential.server_id == server_id
        )
    )
    return found.one_or_none()


async def credentials(db: Executor, *, user_id: uuid.UUID) -> Sequence[Any]:
    """The user's connections (without their secrets)."""
    found = await db.execute(
        select(McpCredential.server_id, McpCredential.kind, McpCredential.connected_at).where(
            McpCredential.user_id == user_id
        )
    )
    return found.all()


async def latest_user(db: Executor, *, server_id: str) -> uuid.UUID | None:
    """The user who connected the server most recently."""
    found = await db.execute(
        select(McpCredential.user_id)
        .where(McpCredential.server_id == server_id)
        .order_by(McpCredential.connected_at.desc())
        .limit(1)
    )
    return found.scalar_one_or_none()


async def insert_credential(db: Executor, **values: Any) -> None:
    await db.execute(insert(McpCredential).values(**values))


async def update_secret(
    db: Executor, *, credential_id: uuid.UUID, user_id: uuid.UUID, secret: bytes, at: datetime
) -> None:
    await db.execute(
        update(McpCredential)
        .where(McpCredential.id == credential_id, McpCredential.user_id == user_id)
        .values(secret=secret, updated_at=at)
    )


async def delete_credential(db: Executor, *, user_id: uuid.UUID, server_id: str) -> int:
    done = await db.execute(
        delete(McpCredential).where(
            McpCredential.user_id == user_id, McpCredential.server_id == server_id
        )
    )
    return int(getattr(done, "rowcount", 0) or 0)


async def insert_state(db: Executor, **values: Any) -> None:
    await db.execute(insert(McpOAuthState).values(**values))


async def take_state(db: Executor, *, state_hash: str, user_id: uuid.UUID, now: datetime) -> Any:
    """The unexpired flow of `state_hash` begun by the user, deleted as it is read: a state
    is good once (of two callbacks racing, the second finds nothing)."""
    found = (
        await db.execute(
            select(McpOAuthState.__table__).where(
                McpOAuthState.state_hash == state_hash, McpOAuthState.user_id == user_id
            )
        )
    ).one_or_none()
    if found is None:
        return None
    done = await db.execute(delete(McpOAuthState).where(McpOAuthState.id == found.id))
    if not getattr(done, "rowcount", 0) or found.expires_at <= now:
        return None
    return found


async def purge_states(db: Executor, *, now: datetime) -> None:
    await db.execute(delete(McpOAuthState).where(McpOAuthState.expires_at <= now))
