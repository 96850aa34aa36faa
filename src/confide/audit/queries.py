"""Reading the audit trail: the auditor's search and a user's own account activity."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from confide.audit import repository
from confide.audit.actions import ACCOUNT_PREFIX
from confide.audit.models import AuditEvent
from confide.auth import repository as auth_repository
from confide.auth.emails import email_key
from confide.pagination import InvalidCursor, decode_cursor


async def search_events(
    db: AsyncSession,
    *,
    actor: str | None = None,
    action: str | None = None,
    target: str | None = None,
    outcome: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before_id: int | None = None,
    limit: int,
) -> Sequence[AuditEvent]:
    """The trail as an auditor filters it, newest first.

    `actor`: a user id, or an email (that account's events and every event naming the email,
    refused sign-ins with it included); `action`: a name, or a prefix ending in `*`
    (`auth.*`); `target`: `<type>:<id>` or a bare id; `since` / `until`: a time range
    (inclusive / exclusive; a time without a zone is UTC)."""
    actor_ids, actor_text = await _actor(db, actor)
    target_type, target_id = _target(target)
    prefix = action is not None and action.endswith("*")
    where = repository.EventFilter(
        actor_ids=actor_ids,
        actor_text=actor_text,
        action=None if prefix else action,
        action_prefix=action[:-1] if action is not None and prefix else None,
        target_type=target_type,
        target_id=target_id,
        outcome=outcome,
        since=_utc(since),
        until=_utc(until),
    )
    return await repository.events_page(db, where=where, before_id=before_id, limit=limit)


async def account_events(
    db: AsyncSession, *, user_id: uuid.UUID, before_id: int | None = None, limit: int
) -> Sequence[AuditEvent]:
    """The account events a user is the actor of (a refused sign-in into their account
    names it too), newest first; never anyone else's."""
    return await repository.account_events_page(
        db, user_id=user_id, prefix=ACCOUNT_PREFIX, before_id=before_id, limit=limit
    )


def decode_id_cursor(cursor: str) -> int:
    """The event id a `next_cursor` of these lists stands for; InvalidCursor otherwise."""
    (value,) = decode_cursor(cursor, length=1)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InvalidCursor
    return value


async def _actor(db: AsyncSession, actor: str | None) -> tuple[tuple[uuid.UUID, ...], str | None]:
    """(account ids, recorded text) an `actor` filter matches: an id, or an email."""
    if actor is None:
        return (), None
    try:
        return (uuid.UUID(actor),), None
    except ValueError:
        pass
    user = await auth_repository.get_user_by_email_key(db, email_key(actor))
    return ((user.id,) if user is not None else ()), actor.strip().lower()


def _target(target: str | None) -> tuple[str | None, str | None]:
    """(type, id) of a `<type>:<id>` filter, or (None, id) of a bare id."""
    if target is None:
        return None, None
    kind, colon, ident = target.partition(":")
    if colon and kind and ident:
        return kind, ident
    return None, target


def _utc(at: datetime | None) -> datetime | None:
    if at is None:
        return None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
