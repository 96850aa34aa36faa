"""The `import_threads` job: an import's conversations, one transaction each.

Each conversation becomes a thread in a transaction of its own, which also counts it done on
the import's row (only if the row still says the conversations before it were done), so:
a second delivery of a finished import does nothing; a try that dies midway is resumed by the
next one after the last conversation it finished; and two deliveries at once never import a
conversation twice (the one behind finds the count moved and stops, its thread rolled back).
The file is read from the database (sealed), so any worker, on any host, can do the job; once
the import ends, completed or failed, the file is deleted.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

from sqlalchemy import insert

from confide.db.base import utcnow
from confide.db.engine import Database
from confide.imports import detect, repository
from confide.imports.errors import InvalidImport
from confide.imports.plan import Skip, ThreadPlan, in_writing_order, repaired
from confide.imports.service import REPORT_LIMIT, open_skipped, seal_skipped
from confide.search import index as search_index
from confide.storage.codec import ContentCodec, Executor, Vault
from confide.threads import paths
from confide.threads.models import Thread
from confide.threads.service import MessageLog, seal_title

log = logging.getLogger("confide.imports")

# Tries of the job in all (the queue's); the last one that fails marks the import failed.
IMPORT_TRIES = 3
# Tries begun (resumed after a restart included) past which an import is given up.
MAX_ATTEMPTS = 10
# The longest one try may take: a large export is many thousands of conversations.
IMPORT_TIMEOUT_SECONDS = 3600.0


class _Overtaken(Exception):
    """Another delivery of the job counted this conversation first."""


class ImportJob:
    def __init__(self, *, database: Database, vault: Vault) -> None:
        self.database = database
        self.vault = vault

    async def run(self, import_id: uuid.UUID) -> None:
        """Import what is left of the file (nothing, if the import is over)."""
        async with self.database.session() as db:
            row = await repository.claim(db, import_id=import_id)
            if row is None:
                return
            codec = await self.vault.codec(db, row.owner_id)
        if row.attempts > MAX_ATTEMPTS or row.upload is None:
            await self._finish(import_id, failed="The import stopped and could not be resumed.")
            return
        try:
            await self._import(row, codec)
        except _Overtaken:
            return
        except Exception:
            if row.attempts < IMPORT_TRIES:
                raise  # the queue tries again, from the last conversation done
            log.exception("import failed", extra={"import_id": str(import_id)})
            await self._finish(import_id, failed="The import failed on our side; try it again.")

    async def _import(self, row: Any, codec: ContentCodec) -> None:
        text = await asyncio.to_thread(
            codec.decode, row.upload, table="imports", column="upload", row_id=row.id
        )
        try:
            parsed = await asyncio.to_thread(detect.parse, text)
        except InvalidImport as exc:
            await self._finish(row.id, failed=exc.detail)
            return
        report = [
            Skip(item["conversation"], item["reason"], item.get("message_id"))
            for item in open_skipped(codec, row)
        ]
        for index in range(row.done, len(parsed.items)):
            plan = _planned(parsed, index)
            async with self.database.session() as db:
                created = 0
                if plan.messages:
                    await write_thread(
                        db, self.vault, owner_id=row.owner_id, agent_id=row.agent_id, plan=plan
                    )
                    created = 1
                room = max(REPORT_LIMIT - len(report), 0)
                report.extend(plan.skipped[:room])
                moved = await repository.record_progress(
                    db,
                    import_id=row.id,
                    done=index,
                    threads_created=created,
                    skipped_count=len(plan.skipped),
                    skipped=seal_skipped(codec, row.id, report) if room and plan.skipped else None,
                )
                if not moved:
                    raise _Overtaken
        await self._finish(row.id, failed=None)

    async def _finish(self, import_id: uuid.UUID, *, failed: str | None) -> None:
        async with self.database.session() as db:
            await repository.finish(db, import_id=import_id, failed=failed, now=utcnow())


def _planned(parsed: detect.Parsed, index: int) -> ThreadPlan:
    """The conversation's plan, repaired; one the planner chokes on is reported, not fatal."""
    try:
        plan = repaired(parsed.plan(index))
    except Exception:
        log.exception("a conversation could not be read", extra={"index": index})
        plan = ThreadPlan(
            name=f"conversation {index + 1}", title=None, created_at=None, messages=[], active=None
        )
        plan.skip("could not be read")
        return plan
    if not plan.messages and not plan.skipped:
        plan.skip("no messages")
    return plan


async def write_thread(
    db: Executor, vault: Vault, *, owner_id: uuid.UUID, agent_id: str, plan: ThreadPlan
) -> uuid.UUID:
    """A new thread of the owner's holding the plan's tree, its active path the plan's,
    each message stored through `MessageLog` (sealed, indexed, numbered) with its own time."""
    codec = await vault.codec(db, owner_id)
    ordered = in_writing_order(plan)
    started = plan.created_at or next((m.created_at for m in ordered if m.created_at), None)
    started = started or utcnow()
    thread_id = uuid.uuid4()
    await db.execute(
        insert(Thread).values(
            id=thread_id,
            owner_id=owner_id,
            agent_id=agent_id,
            title=seal_title(codec, thread_id, plan.title) if plan.title else None,
            created_at=started,
            last_activity_at=started,
            message_count=0,
        )
    )
    await search_index.set_title(db, codec, thread_id=thread_id, title=plan.title, now=started)
    messages = MessageLog(vault)
    ids: dict[str, uuid.UUID] = {}
    when = started
    for planned in ordered:
        when = planned.created_at or when
        stored = await messages.append(
            db,
            owner_id=owner_id,
            thread_id=thread_id,
            messages=[planned.message],
            run_id=None,
            now=when,
            parent_id=None if planned.parent is None else ids[planned.parent],
        )
        assert stored, "the thread was made in this transaction"
        ids[planned.key] = stored[0].id
    leaf = ids.get(plan.active) if plan.active is not None else None
    await paths.set_active(db, thread_id=thread_id, leaf_id=leaf)
    return thread_id
