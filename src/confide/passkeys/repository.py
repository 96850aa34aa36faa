"""Every query of the passkeys feature."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import CursorResult, and_, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from confide.passkeys.models import Passkey, PasskeyChallenge


async def list_for_user(db: AsyncSession, user_id: uuid.UUID) -> Sequence[Passkey]:
    found = await db.execute(
        select(Passkey).where(Passkey.user_id == user_id).order_by(Passkey.created_at, Passkey.id)
    )
    return found.scalars().all()


async def page_for_user(
    db: AsyncSession,
    user_id: uuid.UUID,
    *,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[Passkey]:
    """The user's passkeys, oldest first, after the keyset cursor `(created_at, id)`."""
    query = select(Passkey).where(Passkey.user_id == user_id)
    if after is not None:
        created_at, passkey_id = after
        query = query.where(
            or_(
                Passkey.created_at > created_at,
                and_(Passkey.created_at == created_at, Passkey.id > passkey_id),
            )
        )
    found = await db.execute(query.order_by(Passkey.created_at, Passkey.id).limit(limit))
    return found.scalars().all()


async def has_passkey(db: AsyncSession, user_id: uuid.UUID) -> bool:
    found = await db.execute(select(Passkey.id).where(Passkey.user_id == user_id).limit(1))
    return found.first() is not None


async def get_owned(db: AsyncSession, user_id: uuid.UUID, passkey_id: uuid.UUID) -> Passkey | None:
    """The caller's passkey with this id; another user's is None, like a missing one."""
    found = await db.execute(
        select(Passkey).where(Passkey.id == passkey_id, Passkey.user_id == user_id)
    )
    return found.scalar_one_or_none()


async def get_by_credential_id(db: AsyncSession, credential_id: bytes) -> Passkey | None:
    found = await db.execute(select(Passkey).where(Passkey.credential_id == credential_id))
    return found.scalar_one_or_none()


async def credential_exists(db: AsyncSession, credential_id: bytes) -> bool:
    found = await db.execute(select(Passkey.id).where(Passkey.credential_id == credential_id))
    return found.first() is not None


async def delete_owned(db: AsyncSession, user_id: uuid.UUID, passkey_id: uuid.UUID) -> bool:
    result = await db.execute(
        delete(Passkey).where(Passkey.id == passkey_id, Passkey.user_id == user_id)
    )
    assert isinstance(result, CursorResult)
    return result.rowcount == 1


async def advance_sign_count(
    db: AsyncSession, passkey_id: uuid.UUID, *, seen: int, new: int, now: datetime
) -> bool:
    """Store the authenticator's new counter if it is still the one checked (`seen`): two
    requests racing with one counter value cannot both win."""
    result = await db.execute(
        update(Passkey)
        .where(Passkey.id == passkey_id, Passkey.sign_count == seen)
        .values(sign_count=new, last_used_at=now)
    )
    assert isinstance(result, CursorResult)
    return result.rowcount == 1


async def add_challenge(db: AsyncSession, challenge: PasskeyChallenge) -> None:
    await db.execute(
        delete(PasskeyChallenge).where(PasskeyChallenge.expires_at < challenge.created_at)
    )
    db.add(challenge)
    await db.flush()


async def get_challenge(db: AsyncSession, challenge_hash: str) -> PasskeyChallenge | None:
    found = await db.execute(
        select(PasskeyChallenge).where(PasskeyChallenge.challenge_hash == challenge_hash)
    )
    return found.scalar_one_or_none()


async def spend_challenge(db: AsyncSession, challenge_id: uuid.UUID, now: datetime) -> bool:
    """Mark a challenge used; False when another request used it first."""
    result = await db.execute(
        update(PasskeyChallenge)
        .where(PasskeyChallenge.id == challenge_id, PasskeyChallenge.used_at.is_(None))
        .values(used_at=now)
    )
    assert isinstance(result, CursorResult)
    return result.rowcount == 1
