"""Who may read a thread, and who may change it.

A thread is read by its owner, by the users its owner shared it with, and by holders of
`threads:read:any` (granted to no built-in role), each of whose reads of a thread neither
theirs nor shared with them is audited in the transaction of the read. Only the owner
changes a thread (or its runs, or its shares): anyone else who can read it is refused with
403 `read_only`, anyone who cannot with the same 404 as for a missing thread.

Nothing here is cached: a share revoked, a thread deleted, an account deleted, takes effect
on the very next request.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from confide.access.permissions import THREADS_READ_ANY
from confide.audit.service import Origin, record
from confide.auth.cache import Principal
from confide.errors import Forbidden, NotFound
from confide.threads import repository

READ_ANY_ACTION = "threads.read_any"


class ThreadNotFound(NotFound):
    code = "thread_not_found"
    title = "No such thread"


class ThreadReadOnly(Forbidden):
    code = "read_only"
    title = "This thread is read-only for you"

    def __init__(self) -> None:
        super().__init__("Only the thread's owner can change it, its runs or its shares.")


class Access(StrEnum):
    """Why the caller may read a thread."""

    OWNER = "owner"
    SHARED = "shared"  # its owner shared it with the caller
    ANY = "any"  # threads:read:any: audited


def reads_any(principal: Principal) -> bool:
    return principal.can(THREADS_READ_ANY)


def access_of(principal: Principal, *, owner_id: uuid.UUID, shared: bool) -> Access:
    if owner_id == principal.user_id:
        return Access.OWNER
    return Access.SHARED if shared else Access.ANY


async def audit_read(
    db: AsyncSession | AsyncConnection,
    principal: Principal,
    access: Access,
    *,
    thread_id: uuid.UUID,
    origin: Origin | None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Record a read under `threads:read:any` (nothing for the owner's or a recipient's)."""
    if access is not Access.ANY:
        return
    await record(
        db,
        action=READ_ANY_ACTION,
        actor_id=principal.user_id,
        actor=principal.email,
        target_type="thread",
        target_id=thread_id,
        origin=origin,
        detail=detail,
    )


async def audit_change(
    db: AsyncSession | AsyncConnection,
    principal: Principal,
    action: str,
    *,
    thread_id: uuid.UUID,
    origin: Origin | None,
    outcome: str,
    detail: dict[str, str],
) -> None:
    """Record what the caller did to a thread (shared it, made or revoked a link)."""
    await record(
        db,
        action=action,
        outcome=outcome,
        actor_id=principal.user_id,
        actor=principal.email,
        target_type="thread",
        target_id=thread_id,
        origin=origin,
        detail=detail,
    )


async def refuse_write(
    db: repository.Executor,
    principal: Principal,
    thread_id: uuid.UUID,
    not_found: NotFound | None = None,
) -> ThreadReadOnly | NotFound:
    """The error for a write on a thread the caller does not own: `read_only` when they can
    read it, else `not_found` (a missing thread's 404 by default). Not audited as a read:
    nothing of the thread is shown."""
    seen = await repository.reader_access(
        db, user_id=principal.user_id, thread_id=thread_id, any_thread=reads_any(principal)
    )
    if seen is not None:
        return ThreadReadOnly()
    return not_found if not_found is not None else ThreadNotFound()
