"""Folder rules, and where a thread sits (folder, pinned, archived). Never commits."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from confide.auth.cache import Principal
from confide.db.base import utcnow
from confide.folders import repository
from confide.folders.errors import FolderNotFound, TooManyFolders
from confide.folders.schemas import FolderOut
from confide.storage.codec import ContentCodec, Vault
from confide.threads.models import Thread
from confide.threads.schemas import ThreadUpdate
from confide.threads.service import ThreadService

# Folders one account may have: the sidebar shows them all, so the list stays short.
MAX_FOLDERS = 200


def seal_name(codec: ContentCodec, folder_id: uuid.UUID, name: str) -> bytes:
    return codec.encode(name, table="folders", column="name", row_id=folder_id)


def open_name(codec: ContentCodec, folder_id: uuid.UUID, stored: bytes) -> str:
    return codec.decode(stored, table="folders", column="name", row_id=folder_id)


def folder_out(codec: ContentCodec, row: Any) -> FolderOut:
    return FolderOut(
        id=row.id,
        name=open_name(codec, row.id, bytes(row.name)),
        position=row.position,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class FolderService:
    """The caller's folders. Names are user content: sealed with the owner's codec."""

    def __init__(self, db: AsyncSession, *, vault: Vault, principal: Principal) -> None:
        self.db = db
        self.vault = vault
        self.owner_id = principal.user_id

    async def list_folders(
        self, *, after: tuple[int, uuid.UUID] | None, limit: int
    ) -> list[FolderOut]:
        """A page of the caller's folders, in their order."""
        rows = await repository.list_owned(
            self.db, owner_id=self.owner_id, after=after, limit=limit
        )
        codec = await self.vault.codec(self.db, self.owner_id)
        return [folder_out(codec, row) for row in rows]

    async def create(self, name: str) -> FolderOut:
        """A new folder at the end of the caller's list (names need not be unique: sealed,
        they cannot be compared in the database, and a duplicate harms no one)."""
        if await repository.count_owned(self.db, owner_id=self.owner_id) >= MAX_FOLDERS:
            raise TooManyFolders(f"An account may have at most {MAX_FOLDERS} folders.")
        codec = await self.vault.codec(self.db, self.owner_id)
        folder_id, now = uuid.uuid4(), utcnow()
        row = {
            "id": folder_id,
            "owner_id": self.owner_id,
            "name": seal_name(codec, folder_id, name),
            "position": await repository.next_position(self.db, owner_id=self.owner_id),
            "created_at": now,
            "updated_at": now,
        }
        await repository.insert_folder(self.db, row)
        return FolderOut(
            id=folder_id, name=name, position=row["position"], created_at=now, updated_at=now
        )

    async def update(
        self, folder_id: uuid.UUID, *, name: str | None, position: int | None
    ) -> FolderOut:
        """Rename or move the caller's folder; anyone else's is a 404 `folder_not_found`."""
        codec = await self.vault.codec(self.db, self.owner_id)
        values: dict[str, Any] = {"updated_at": utcnow()}
        if name is not None:
            values["name"] = seal_name(codec, folder_id, name)
        if position is not None:
            values["position"] = position
        row = await repository.update_folder(
            self.db, owner_id=self.owner_id, folder_id=folder_id, values=values
        )
        if row is None:
            raise FolderNotFound
        return folder_out(codec, row)

    async def delete(self, folder_id: uuid.UUID) -> None:
        """Delete the caller's folder; its threads stay, in no folder."""
        if not await repository.delete_folder(self.db, owner_id=self.owner_id, folder_id=folder_id):
            raise FolderNotFound


async def update_thread(
    threads: ThreadService, principal: Principal, thread_id: uuid.UUID, changes: ThreadUpdate
) -> Thread:
    """`PATCH /api/threads/{id}`: any of a new title, a folder (None: out of its folder),
    pinned, archived, for the caller's own thread. A folder that is not the caller's is a
    404 `folder_not_found`, and nothing changes."""
    given = changes.model_fields_set
    if "title" in given and changes.title is not None:
        thread = await threads.rename(principal, thread_id, changes.title)
    else:
        thread = await threads.owned(principal, thread_id)
    if "folder_id" in given:
        if changes.folder_id is not None:
            found = await repository.get_owned(
                threads.db, owner_id=principal.user_id, folder_id=changes.folder_id
            )
            if found is None:
                raise FolderNotFound
        thread.folder_id = changes.folder_id
    now = utcnow()
    if changes.pinned is not None:
        thread.pinned_at = _stamp(thread.pinned_at, on=changes.pinned, now=now)
    if changes.archived is not None:
        thread.archived_at = _stamp(thread.archived_at, on=changes.archived, now=now)
    await threads.db.flush()
    return thread


def _stamp(current: datetime | None, *, on: bool, now: datetime) -> datetime | None:
    """Set when turned on (kept if it was on already), cleared when turned off."""
    if not on:
        return None
    return current or now
