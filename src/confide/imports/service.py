"""Import rules for requests: accept an upload (checked, sealed, queued), show progress.
Never commits."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from confide.auth.cache import Principal
from confide.db.base import utcnow
from confide.imports import repository
from confide.imports.detect import Parsed
from confide.imports.errors import ImportNotFound
from confide.imports.models import QUEUED, Import
from confide.imports.plan import Skip
from confide.imports.schemas import ImportOut, SkippedItem
from confide.storage.codec import ContentCodec, Vault, decode_json, encode_json

IMPORT_JOB = "import_threads"
# Skipped items kept in an import's report (all are counted in `skipped_count`).
REPORT_LIMIT = 1000


def import_job_key(import_id: uuid.UUID) -> str:
    return f"import:{import_id}"


class ImportService:
    def __init__(self, db: AsyncSession, *, vault: Vault) -> None:
        self.db = db
        self.vault = vault

    async def create(
        self, principal: Principal, *, text: str, parsed: Parsed, agent_id: str
    ) -> ImportOut:
        """A queued import of the file `text` (already parsed as `parsed`), its text sealed
        with the caller's key until the job is done with it."""
        codec = await self.vault.codec(self.db, principal.user_id)
        import_id = uuid.uuid4()
        sealed = await asyncio.to_thread(
            codec.encode, text, table="imports", column="upload", row_id=import_id
        )
        row = Import(
            id=import_id,
            owner_id=principal.user_id,
            status=QUEUED,
            format=parsed.format,
            agent_id=agent_id,
            total=len(parsed.items),
            done=0,
            threads_created=0,
            skipped_count=0,
            attempts=0,
            upload=sealed,
            created_at=utcnow(),
        )
        self.db.add(row)
        await self.db.flush()
        return import_out(codec, row)

    async def get(self, principal: Principal, import_id: uuid.UUID) -> ImportOut:
        """The caller's import (another user's is indistinguishable from a missing one)."""
        row = await repository.get_owned(self.db, owner_id=principal.user_id, import_id=import_id)
        if row is None:
            raise ImportNotFound
        return import_out(await self.vault.codec(self.db, principal.user_id), row)

    async def list_imports(
        self, principal: Principal, *, after: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> list[ImportOut]:
        """The caller's imports, newest first."""
        rows = await repository.list_owned(
            self.db, owner_id=principal.user_id, after=after, limit=limit
        )
        codec = await self.vault.codec(self.db, principal.user_id)
        return [import_out(codec, row) for row in rows]


def import_out(codec: ContentCodec, row: Any) -> ImportOut:
    return ImportOut(
        id=row.id,
        status=row.status,
        format=row.format,
        agent_id=row.agent_id,
        total=row.total,
        done=row.done,
        threads_created=row.threads_created,
        skipped_count=row.skipped_count,
        skipped=[SkippedItem.model_validate(item) for item in open_skipped(codec, row)],
        error=row.error,
        created_at=row.created_at,
        finished_at=row.finished_at,
    )


def open_skipped(codec: ContentCodec, row: Any) -> list[dict[str, Any]]:
    if row.skipped is None:
        return []
    found: list[dict[str, Any]] = decode_json(
        codec, row.skipped, table="imports", column="skipped", row_id=row.id
    )
    return found


def seal_skipped(codec: ContentCodec, import_id: uuid.UUID, items: list[Skip]) -> bytes:
    """The report's items as stored: sealed JSON (titles are the user's content)."""
    value = [
        {"conversation": s.conversation, "message_id": s.message_id, "reason": s.reason}
        for s in items
    ]
    return encode_json(codec, value, table="imports", column="skipped", row_id=import_id)
