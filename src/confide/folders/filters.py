"""The sidebar's filters on a listing of one owner's threads (`GET /api/threads`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TypeVarTuple

from sqlalchemy import Select

from confide.threads.models import Thread

Ts = TypeVarTuple("Ts")


@dataclass(frozen=True, slots=True)
class Shelf:
    """Which of the owner's threads a listing shows: archived ones or the others, and
    optionally only one folder's, only filed (or unfiled) ones, only pinned (or unpinned)."""

    archived: bool = False
    folder_id: uuid.UUID | None = None
    in_folder: bool | None = None
    pinned: bool | None = None

    def apply(self, stmt: Select[*Ts]) -> Select[*Ts]:
        # `archived_at IS NULL` first: with the owner, the leading columns of
        # ix_threads_owner_archived_activity, so the page still walks that index in order.
        archived = Thread.archived_at
        stmt = stmt.where(archived.is_not(None) if self.archived else archived.is_(None))
        if self.folder_id is not None:
            stmt = stmt.where(Thread.folder_id == self.folder_id)
        if self.in_folder is not None:
            folder = Thread.folder_id
            stmt = stmt.where(folder.is_not(None) if self.in_folder else folder.is_(None))
        if self.pinned is not None:
            pinned = Thread.pinned_at
            stmt = stmt.where(pinned.is_not(None) if self.pinned else pinned.is_(None))
        return stmt


EVERY_UNARCHIVED = Shelf()
