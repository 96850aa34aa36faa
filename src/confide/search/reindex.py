"""Rebuilding the index from the stored text (`confide search reindex`): what was written
before the index existed, or after a bug. One transaction per thread, each replacing that
thread's rows, so it can be stopped and run again at any point."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from confide.db.engine import Database
from confide.search import repository
from confide.search.index import INDEXED_ROLES, term_rows
from confide.search.models import TITLE_SEQ
from confide.storage.codec import ContentCodec, Vault
from confide.threads.service import open_content, open_title

THREAD_PAGE = 100
MESSAGE_PAGE = 500


async def users_to_index(database: Database, *, only: uuid.UUID | None = None) -> list[uuid.UUID]:
    """The users owning threads (or just `only`)."""
    async with database.connect() as conn:
        return await repository.user_ids(conn, only=only)


async def reindex_user(
    database: Database,
    vault: Vault,
    user_id: uuid.UUID,
    *,
    on_thread: Callable[[], None] = lambda: None,
) -> int:
    """Rebuild the index of every thread the user owns; the number of index rows written."""
    async with database.begin() as conn:
        codec = await vault.codec(conn, user_id)
    written = 0
    after: uuid.UUID | None = None
    while True:
        async with database.connect() as conn:
            threads = await repository.owned_thread_page(
                conn, owner_id=user_id, after=after, limit=THREAD_PAGE
            )
        for thread in threads:
            async with database.begin() as conn:
                written += await reindex_thread(conn, codec, thread)
            on_thread()
        if len(threads) < THREAD_PAGE:
            return written
        after = threads[-1].id


async def reindex_thread(conn: repository.Executor, codec: ContentCodec, thread: Any) -> int:
    """Replace one thread's rows (thread: id, title, created_at); the rows written."""
    await repository.delete_thread(conn, thread_id=thread.id)
    rows = []
    if thread.title is not None:
        title = open_title(codec, thread.id, thread.title)
        rows += term_rows(
            codec,
            title,
            thread_id=thread.id,
            seq=TITLE_SEQ,
            message_id=None,
            created_at=thread.created_at,
        )
    after_seq = 0
    while True:
        page = await repository.message_page(
            conn, thread_id=thread.id, roles=INDEXED_ROLES, after_seq=after_seq, limit=MESSAGE_PAGE
        )
        for message in page:
            text = open_content(codec, message.id, message.content)
            rows += term_rows(
                codec,
                text,
                thread_id=thread.id,
                seq=message.seq,
                message_id=message.id,
                created_at=message.created_at,
            )
        if len(page) < MESSAGE_PAGE:
            break
        after_seq = page[-1].seq
    await repository.insert_terms(conn, rows)
    return len(rows)


async def thread_total(database: Database, *, only: uuid.UUID | None = None) -> int:
    """How many threads there are to index (for a progress bar)."""
    async with database.connect() as conn:
        return await repository.count_threads(conn, only=only)
