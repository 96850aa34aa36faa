"""Writing the blind index: the threads feature calls these as messages arrive and titles
change, in the same transaction; `confide search reindex` rebuilds it from the stored text.

Only what people read is indexed: the text of user and assistant messages, and titles. Tool
calls and tool results (JSON for the model) are not."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Protocol

from confide.db.base import utcnow
from confide.search import repository
from confide.search.models import TITLE_SEQ
from confide.search.tokens import term_frequencies
from confide.storage.codec import ContentCodec

Executor = repository.Executor
INDEXED_ROLES = ("user", "assistant")


class IndexedMessage(Protocol):
    """A stored message as the index needs it (MessageOut is one)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def seq(self) -> int: ...
    @property
    def role(self) -> str: ...
    @property
    def content(self) -> str | None: ...
    @property
    def created_at(self) -> datetime: ...


def term_rows(
    codec: ContentCodec,
    text: str,
    *,
    thread_id: uuid.UUID,
    seq: int,
    message_id: uuid.UUID | None,
    created_at: datetime,
) -> list[dict[str, Any]]:
    """The index rows of one document: a row per distinct word, under the user's key."""
    user_id = codec.user_id
    return [
        {
            "user_id": user_id,
            "token": codec.blind_token(word),
            "thread_id": thread_id,
            "seq": seq,
            "message_id": message_id,
            "tf": count,
            "created_at": created_at,
        }
        for word, count in term_frequencies(text).items()
    ]


def message_rows(
    codec: ContentCodec, *, thread_id: uuid.UUID, messages: Iterable[IndexedMessage]
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for message in messages:
        if message.role in INDEXED_ROLES and message.content:
            rows += term_rows(
                codec,
                message.content,
                thread_id=thread_id,
                seq=message.seq,
                message_id=message.id,
                created_at=message.created_at,
            )
    return rows


async def add_messages(
    db: Executor,
    codec: ContentCodec,
    *,
    thread_id: uuid.UUID,
    messages: Iterable[IndexedMessage],
    title: str | None = None,
    now: datetime | None = None,
) -> None:
    """Index messages just appended to a thread of the codec's user, and `title` if the
    append gave the thread its first title, in one statement. (A thread without a title has
    no title rows to replace: it is indexed with none, and a title is never cleared.)

    Speed: the title was a read of the stored title, a delete and an insert of its own, on
    every chat turn to a new thread: two round trips of a tool turn's 31 on PostgreSQL
    (bench/hosts_bench.py, 2026-12-05)."""
    rows = message_rows(codec, thread_id=thread_id, messages=messages)
    if title:
        rows += term_rows(
            codec,
            title,
            thread_id=thread_id,
            seq=TITLE_SEQ,
            message_id=None,
            created_at=now or utcnow(),
        )
    await repository.insert_terms(db, rows)


async def set_title(
    db: Executor,
    codec: ContentCodec,
    *,
    thread_id: uuid.UUID,
    title: str | None,
    now: datetime | None = None,
) -> None:
    """Index a thread's new title in place of its old one."""
    await repository.delete_title(db, thread_id=thread_id)
    if title:
        rows = term_rows(
            codec,
            title,
            thread_id=thread_id,
            seq=TITLE_SEQ,
            message_id=None,
            created_at=now or utcnow(),
        )
        await repository.insert_terms(db, rows)
