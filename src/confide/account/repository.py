"""Every query of the account-link feature."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from confide.account.models import AccountToken


def add_token(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    purpose: str,
    token_hash: str,
    now: datetime,
    expires_at: datetime,
    email_key: str | None = None,
) -> None:
    db.add(
        AccountToken(
            user_id=user_id,
            purpose=purpose,
            token_hash=token_hash,
            email_key=email_key,
            created_at=now,
            expires_at=expires_at,
        )
    )


async def spend_token(
    db: AsyncSession, *, token_hash: str, purposes: Sequence[str], now: datetime
) -> AccountToken | None:
    """Mark a live token used, in one statement (two requests racing with the same token: one
    wins); the token as it was, or None when it is unknown, spent, expired or of another kind."""
    stmt = (
        update(AccountToken)
        .where(
            AccountToken.token_hash == token_hash,
            AccountToken.purpose.in_(purposes),
            AccountToken.used_at.is_(None),
            AccountToken.expires_at > now,
        )
        .values(used_at=now)
        .returning(AccountToken)
    )
    return (await db.execute(stmt)).scalars().first()


async def void_tokens(
    db: AsyncSession, *, user_id: uuid.UUID, purposes: Sequence[str], now: datetime
) -> None:
    """Spend every live token of these kinds of a user (a newer link replaces older ones; a
    reset voids every other reset link)."""
    await db.execute(
        update(AccountToken)
        .where(
            AccountToken.user_id == user_id,
            AccountToken.purpose.in_(purposes),
            AccountToken.used_at.is_(None),
        )
        .values(used_at=now)
    )


async def live_token(
    db: AsyncSession, *, user_id: uuid.UUID, purpose: str, now: datetime
) -> AccountToken | None:
    """The user's newest unspent, unexpired token of this kind (a pending email change)."""
    stmt = (
        select(AccountToken)
        .where(
            AccountToken.user_id == user_id,
            AccountToken.purpose == purpose,
            AccountToken.used_at.is_(None),
            AccountToken.expires_at > now,
        )
        .order_by(AccountToken.created_at.desc())
        .limit(1)
    )
    return (await db.execute(stmt)).scalars().first()
