"""`GET /api/me/export`: all of a user's data as one JSON document, streamed as it is read.

The document (schemas.AccountExport) is written piece by piece: the profile, settings, then
each thread with its messages a page at a time, memories, sessions, the user's own audit
events and shares. Each page is a short read of its own (no transaction is held open for a
slow download), so nothing larger than a page is ever in memory; a thread added while the
download runs may or may not be in it. Content is opened with the user's codec (a title of a
thread shared with them, with its owner's). Nothing secret is written: no password hash, MFA
secret, backup code, token or its hash, passkey key.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from confide.access import repository as access_repository
from confide.approvals import repository as approvals_repository
from confide.approvals.schemas import approval_out
from confide.audit.models import AuditEvent
from confide.audit.schemas import audit_event_out
from confide.audit.service import Origin, record
from confide.auth import repository as auth_repository
from confide.auth.cache import Principal
from confide.db.base import utcnow
from confide.db.engine import Database
from confide.folders import repository as folders_repository
from confide.folders.service import folder_out
from confide.links import repository as links_repository
from confide.links.models import ShareLink
from confide.links.service import export_link_out
from confide.memories.models import ACTIVE, SUPERSEDED
from confide.memories.schemas import MemoryOut
from confide.memories.service import MemoryService
from confide.preferences.schemas import SettingsOut
from confide.preferences.service import preferences_of
from confide.privacy import repository
from confide.privacy.schemas import (
    EXPORT_FORMAT,
    ExportProfile,
    ExportSession,
    ExportShareGiven,
    ExportShareReceived,
    ExportThreadHead,
)
from confide.storage.codec import ContentCodec, Vault
from confide.threads.models import Message, Thread
from confide.threads.service import message_out, open_title

ACCOUNT_EXPORTED = "account.exported"
PAGE_SIZE = 200
T = TypeVar("T")


def _json(value: Any) -> bytes:
    if isinstance(value, BaseModel):
        return value.model_dump_json().encode()
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def _joined(items: Iterable[BaseModel]) -> bytes:
    return b",".join(_json(item) for item in items)


async def record_export(db: AsyncSession, principal: Principal, *, origin: Origin) -> None:
    """The export in the audit trail, in the request's transaction (committed before the
    first byte is streamed)."""
    await record(
        db,
        action=ACCOUNT_EXPORTED,
        actor_id=principal.user_id,
        actor=principal.email,
        target_type="user",
        target_id=principal.user_id,
        origin=origin,
    )


class AccountExporter:
    """Writes one user's export, page by page (`stream`)."""

    def __init__(
        self,
        *,
        database: Database,
        vault: Vault,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self.database = database
        self.vault = vault
        self.page_size = page_size

    async def stream(self, user_id: uuid.UUID) -> AsyncIterator[bytes]:
        """The document's bytes, a piece at a time."""
        async with self.database.session() as db:
            profile = await self._profile(db, user_id)
            preferences = await preferences_of(db, user_id)
            codec = await self.vault.codec(db, user_id)
        settings = SettingsOut(
            memory_enabled=preferences.memory_enabled,
            retention_days=preferences.retention_days,
            updated_at=preferences.updated_at,
        )
        yield b"".join(
            (
                b'{"format":',
                _json(EXPORT_FORMAT),
                b',"exported_at":',
                _json(utcnow().isoformat()),
                b',"profile":',
                _json(profile),
                b',"settings":',
                _json(settings),
            )
        )
        for key, pieces in (
            (b"threads", self._threads(codec, user_id)),
            (b"memories", self._memories(codec)),
            (b"approvals", self._approvals(codec, user_id)),
            (b"sessions", self._sessions(user_id)),
            (b"audit_events", self._audit_events(user_id)),
            (b"share_links", self._share_links(user_id)),
            (b"folders", self._folders(codec, user_id)),
        ):
            yield b',"' + key + b'":['
            async for piece in pieces:
                yield piece
            yield b"]"
        yield b',"shares":' + await self._shares(codec, user_id) + b"}"

    async def _profile(self, db: AsyncSession, user_id: uuid.UUID) -> ExportProfile:
        user = await auth_repository.get_user(db, user_id)
        if user is None:  # deleted between the request's check and now
            raise LookupError(user_id)
        roles = await access_repository.users_role_names(db, [user_id])
        return ExportProfile(
            id=user.id,
            email=user.email,
            display_name=user.display_name,
            status=user.status,
            roles=roles[user_id],
            created_at=user.created_at,
            email_verified_at=user.email_verified_at,
        )

    async def _pages(
        self, read: Callable[[AsyncSession, T | None], Awaitable[Sequence[T]]]
    ) -> AsyncIterator[Sequence[T]]:
        """Pages of `read(db, last item of the page before)`, each read in a session of its
        own, until one comes back short."""
        last: T | None = None
        while True:
            async with self.database.session() as db:
                page = await read(db, last)
            if page:
                yield page
                last = page[-1]
            if len(page) < self.page_size:
                return

    async def _items(
        self,
        read: Callable[[AsyncSession, T | None], Awaitable[Sequence[T]]],
        render: Callable[[T], BaseModel],
    ) -> AsyncIterator[bytes]:
        """The items of every page, rendered, comma-separated: one piece a page."""
        first = True
        async for page in self._pages(read):
            yield (b"" if first else b",") + _joined(render(item) for item in page)
            first = False

    async def _threads(self, codec: ContentCodec, user_id: uuid.UUID) -> AsyncIterator[bytes]:
        def read(db: AsyncSession, last: Thread | None) -> Awaitable[Sequence[Thread]]:
            after = None if last is None else (last.created_at, last.id)
            return repository.threads_page(db, owner_id=user_id, after=after, limit=self.page_size)

        first = True
        async for page in self._pages(read):
            for thread in page:
                stored = thread.title
                head = ExportThreadHead(
                    id=thread.id,
                    agent_id=thread.agent_id,
                    title=None if stored is None else open_title(codec, thread.id, stored),
                    created_at=thread.created_at,
                    last_activity_at=thread.last_activity_at,
                    folder_id=thread.folder_id,
                    pinned_at=thread.pinned_at,
                    archived_at=thread.archived_at,
                )
                # The head's object, left open for its messages.
                yield (b"" if first else b",") + _json(head)[:-1] + b',"messages":['
                first = False
                async for piece in self._messages(codec, thread.id):
                    yield piece
                yield b"]}"

    def _messages(self, codec: ContentCodec, thread_id: uuid.UUID) -> AsyncIterator[bytes]:
        def read(db: AsyncSession, last: Message | None) -> Awaitable[Sequence[Message]]:
            after_seq = 0 if last is None else last.seq
            return repository.messages_page(
                db, thread_id=thread_id, after_seq=after_seq, limit=self.page_size
            )

        return self._items(read, lambda message: message_out(codec, message))

    def _memories(self, codec: ContentCodec) -> AsyncIterator[bytes]:
        def read(db: AsyncSession, last: MemoryOut | None) -> Awaitable[list[MemoryOut]]:
            after = None if last is None else (last.created_at, last.id)
            return MemoryService(db, codec).list_memories(
                statuses=(ACTIVE, SUPERSEDED), after=after, limit=self.page_size
            )

        return self._items(read, lambda memory: memory)

    def _approvals(self, codec: ContentCodec, user_id: uuid.UUID) -> AsyncIterator[bytes]:
        def read(db: AsyncSession, last: Any) -> Awaitable[Sequence[Any]]:
            after = None if last is None else (last.created_at, last.id)
            return approvals_repository.listed(db, user_id, after=after, limit=self.page_size)

        return self._items(read, lambda row: approval_out(codec, row))

    async def _sessions(self, user_id: uuid.UUID) -> AsyncIterator[bytes]:
        async with self.database.session() as db:
            sessions = await repository.sessions_of(db, user_id)
        yield _joined(ExportSession.model_validate(s, from_attributes=True) for s in sessions)

    def _audit_events(self, user_id: uuid.UUID) -> AsyncIterator[bytes]:
        def read(db: AsyncSession, last: AuditEvent | None) -> Awaitable[Sequence[AuditEvent]]:
            after_id = 0 if last is None else last.id
            return repository.audit_page(
                db, actor_id=user_id, after_id=after_id, limit=self.page_size
            )

        return self._items(read, audit_event_out)

    def _share_links(self, user_id: uuid.UUID) -> AsyncIterator[bytes]:
        def read(db: AsyncSession, last: ShareLink | None) -> Awaitable[Sequence[ShareLink]]:
            after = None if last is None else (last.created_at, last.id)
            return links_repository.owned_page(
                db, owner_id=user_id, after=after, limit=self.page_size
            )

        return self._items(read, export_link_out)

    def _folders(self, codec: ContentCodec, user_id: uuid.UUID) -> AsyncIterator[bytes]:
        def read(db: AsyncSession, last: Any) -> Awaitable[Sequence[Any]]:
            after = None if last is None else (last.position, last.id)
            return folders_repository.list_owned(
                db, owner_id=user_id, after=after, limit=self.page_size
            )

        return self._items(read, lambda row: folder_out(codec, row))

    async def _shares(self, codec: ContentCodec, user_id: uuid.UUID) -> bytes:
        async with self.database.session() as db:
            given = [
                ExportShareGiven(
                    thread_id=thread_id,
                    title=None if title is None else open_title(codec, thread_id, title),
                    shared_with=email,
                    created_at=at,
                )
                for thread_id, title, email, at in await repository.shares_given(db, user_id)
            ]
            received: list[ExportShareReceived] = []
            owners: dict[uuid.UUID, ContentCodec] = {}
            for thread_id, title, owner_id, email, at in await repository.shares_received(
                db, user_id
            ):
                if title is not None and owner_id not in owners:
                    owners[owner_id] = await self.vault.codec(db, owner_id)
                received.append(
                    ExportShareReceived(
                        thread_id=thread_id,
                        title=None
                        if title is None
                        else open_title(owners[owner_id], thread_id, title),
                        owner=email,
                        created_at=at,
                    )
                )
        return b'{"given":[' + _joined(given) + b'],"received":[' + _joined(received) + b"]}"
