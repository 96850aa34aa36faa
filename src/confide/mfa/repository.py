"""Every query of the MFA feature."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import CursorResult, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from confide.auth.models import User
from confide.mfa.models import MfaBackupCode, MfaChallenge, MfaTotp


async def get_totp(db: AsyncSession, user_id: uuid.UUID) -> MfaTotp | None:
    return await db.get(MfaTotp, user_id)


async def totp_enabled(db: AsyncSession, user_id: uuid.UUID) -> bool:
    found = await db.execute(
        select(MfaTotp.user_id).where(MfaTotp.user_id == user_id, MfaTotp.confirmed_at.is_not(None))
    )
    return found.first() is not None


async def delete_totp(db: AsyncSession, user_id: uuid.UUID) -> None:
    await db.execute(delete(MfaTotp).where(MfaTotp.user_id == user_id))


async def accept_step(db: AsyncSession, user_id: uuid.UUID, step: int) -> bool:
    """Record `step` as the user's last accepted one; False when it (or a later one) already
    was: the compare is the UPDATE's, so two requests racing with one code cannot both win."""
    result = await db.execute(
        update(MfaTotp)
        .where(MfaTotp.user_id == user_id, MfaTotp.last_step < step)
        .values(last_step=step)
    )
    assert isinstance(result, CursorResult)
    return result.rowcount == 1


async def replace_backup_codes(
    db: AsyncSession, user_id: uuid.UUID, hashes: Sequence[str], now: datetime
) -> None:
    """Void every backup code of the user and store these."""
    await db.execute(delete(MfaBackupCode).where(MfaBackupCode.user_id == user_id))
    db.add_all(MfaBackupCode(user_id=user_id, code_hash=h, created_at=now) for h in hashes)
    await db.flush()


async def delete_backup_codes(db: AsyncSession, user_id: uuid.UUID) -> None:
    await db.execute(delete(MfaBackupCode).where(MfaBackupCode.user_id == user_id))


async def use_backup_code(
    db: AsyncSession, user_id: uuid.UUID, code_hash: str, now: datetime
) -> bool:
    """Spend an unused backup code of this user; False when there is none such."""
    result = await db.execute(
        update(MfaBackupCode)
        .where(
            MfaBackupCode.user_id == user_id,
            MfaBackupCode.code_hash == code_hash,
            MfaBackupCode.used_at.is_(None),
        )
        .values(used_at=now)
    )
    assert isinstance(result, CursorResult)
    return result.rowcount == 1


async def backup_codes_left(db: AsyncSession, user_id: uuid.UUID) -> int:
    count = await db.scalar(
        select(func.count())
        .select_from(MfaBackupCode)
        .where(MfaBackupCode.user_id == user_id, MfaBackupCode.used_at.is_(None))
    )
    return int(count or 0)


async def get_challenge(db: AsyncSession, token_hash: str) -> MfaChallenge | None:
    found = await db.execute(select(MfaChallenge).where(MfaChallenge.token_hash == token_hash))
    return found.scalar_one_or_none()


async def spend_challenge(db: AsyncSession, challenge_id: uuid.UUID, now: datetime) -> bool:
    """Mark a challenge used; False when another request used (or ended) it first."""
    result = await db.execute(
        update(MfaChallenge)
        .where(MfaChallenge.id == challenge_id, MfaChallenge.used_at.is_(None))
        .values(used_at=now)
    )
    assert isinstance(result, CursorResult)
    return result.rowcount == 1


async def count_failure(
    db: AsyncSession, challenge_id: uuid.UUID, *, sent_code: bool, max_attempts: int, now: datetime
) -> int:
    """One more wrong code on a challenge (and on its sent code); the challenge ends at
    `max_attempts`. The attempts so far."""
    values: dict[str, object] = {"attempts": MfaChallenge.attempts + 1}
    if sent_code:
        values["code_attempts"] = MfaChallenge.code_attempts + 1
    attempts = (
        await db.execute(
            update(MfaChallenge)
            .where(MfaChallenge.id == challenge_id)
            .values(**values)
            .returning(MfaChallenge.attempts)
        )
    ).scalar_one()
    if attempts >= max_attempts:
        await db.execute(
            update(MfaChallenge)
            .where(MfaChallenge.id == challenge_id, MfaChallenge.used_at.is_(None))
            .values(used_at=now)
        )
    return int(attempts)


async def delete_expired_challenges(db: AsyncSession, before: datetime) -> None:
    await db.execute(delete(MfaChallenge).where(MfaChallenge.expires_at < before))


async def lock_user(db: AsyncSession, user_id: uuid.UUID) -> None:
    """Lock the user's row until the transaction ends (PostgreSQL; SQLite runs one writer at
    a time anyway): checks of the user's second factors made after it are not raced. `FOR NO
    KEY UPDATE`, which rows inserted with a foreign key to the user (their `KEY SHARE`) do
    not wait for, so two such transactions cannot deadlock on it."""
    await db.execute(select(User.id).where(User.id == user_id).with_for_update(key_share=True))
