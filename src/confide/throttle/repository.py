"""Every query of the `ip_rules` table (the throttle's counters are in store.py)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from confide.db.keyset import newest_first_page
from confide.throttle.models import IpRule

# Rules are an administrator's short list, not a growing log: one page holds them all.
MAX_RULES = 10_000


async def list_rules(db: AsyncSession) -> list[IpRule]:
    stmt = select(IpRule).order_by(IpRule.created_at.desc(), IpRule.id).limit(MAX_RULES)
    return list((await db.execute(stmt)).scalars().all())


async def rules_page(
    db: AsyncSession, *, after: tuple[datetime, uuid.UUID] | None, limit: int
) -> list[IpRule]:
    """One page of the rules, newest first."""
    stmt = newest_first_page(
        select(IpRule), time=IpRule.created_at, key=IpRule.id, after=after, limit=limit
    )
    return list((await db.execute(stmt)).scalars().all())


async def get_rule(db: AsyncSession, rule_id: uuid.UUID) -> IpRule | None:
    return await db.get(IpRule, rule_id)
