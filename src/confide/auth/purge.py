"""The nightly purge of sign-ins that are over: sessions ended or expired (their refresh tokens
go with them, by the foreign key's ON DELETE CASCADE)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, or_, select

from confide.auth.models import AuthSession, RefreshToken
from confide.db.base import utcnow
from confide.db.engine import Database

# Kept a while after they end, so a refresh token used after its session ended is still
# recognised (and refused as such) rather than unknown.
KEEP_ENDED = timedelta(days=1)


async def purge_expired_sessions(database: Database) -> int:
    """Delete the sessions over for more than a day; the number deleted."""
    cutoff = utcnow() - KEEP_ENDED
    async with database.begin() as conn:
        over = or_(AuthSession.expires_at < cutoff, AuthSession.ended_at < cutoff)
        # Explicitly too: SQLite enforces the cascade only with foreign keys on.
        await conn.execute(
            delete(RefreshToken).where(
                RefreshToken.session_id.in_(select(AuthSession.id).where(over))
            )
        )
        result = await conn.execute(delete(AuthSession).where(over))
    return int(getattr(result, "rowcount", 0) or 0)
