"""Retention: threads left untouched for longer than their owner's retention are deleted by a
daily job (`purge_idle_threads`).

A user's retention is the shorter of the deployment's (CONFIDE_RETENTION_DAYS; unset: keep
for ever) and their own setting (`retention_days` of `PATCH /api/me/settings`; unset: the
deployment's). A thread's age is its `last_activity_at` (a message added, a title changed).
A thread with a run in progress is never touched; deletion goes in batches, each its own
transaction, and its messages, runs and shares go with each thread.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Select

from confide.db.base import utcnow
from confide.db.engine import Database
from confide.privacy import repository

log = logging.getLogger("confide.privacy")

RETENTION_JOB = "purge_idle_threads"
RETENTION_CRON = "43 3 * * *"  # daily, 03:43 UTC (after the other nightly purges)
BATCH = 500


class Retention:
    """Deletes the threads past their owner's retention."""

    def __init__(self, database: Database, *, days: int | None, batch: int = BATCH) -> None:
        self.database = database
        self.days = days
        self.batch = batch

    async def purge(self, now: datetime | None = None) -> int:
        """Delete every thread past its retention, in batches; the number deleted."""
        now = now or utcnow()
        deleted = 0
        async with self.database.connect() as conn:
            own = await repository.user_retentions(conn, below=self.days)
            await conn.commit()
        # Users who chose a retention shorter than the deployment's (or any, without one).
        for days in own:
            deleted += await self._purge_group(
                now - timedelta(days=days), owners=repository.owners_with_days(days)
            )
        # Everyone else, under the deployment's retention.
        if self.days is not None:
            deleted += await self._purge_group(
                now - timedelta(days=self.days),
                not_owners=repository.owners_below_days(self.days),
            )
        if deleted:
            log.info("retention deleted %d idle threads", deleted)
        return deleted

    async def _purge_group(
        self,
        cutoff: datetime,
        *,
        owners: Select[uuid.UUID] | None = None,
        not_owners: Select[uuid.UUID] | None = None,
    ) -> int:
        deleted = 0
        while True:
            async with self.database.begin() as conn:
                found: Sequence[uuid.UUID] = await repository.expired_threads(
                    conn, cutoff=cutoff, owners=owners, not_owners=not_owners, limit=self.batch
                )
                if found:
                    deleted += await repository.delete_threads(conn, found, cutoff=cutoff)
            if len(found) < self.batch:
                return deleted
