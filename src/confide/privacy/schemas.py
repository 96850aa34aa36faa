"""The export document, piece by piece: `export.py` streams each piece as it reads it, and
`AccountExport` (the whole document) is what OpenAPI publishes and what a reader may
validate a download against."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from confide.approvals.schemas import ApprovalOut
from confide.audit.schemas import AuditEventOut
from confide.folders.schemas import FolderOut
from confide.links.schemas import ExportShareLink
from confide.memories.schemas import MemoryOut
from confide.preferences.schemas import SettingsOut
from confide.threads.schemas import MessageOut

EXPORT_FORMAT: Literal["confide-export/1"] = "confide-export/1"


class ExportProfile(BaseModel):
    id: uuid.UUID
    email: str
    display_name: str | None
    status: str
    roles: list[str]
    created_at: datetime
    email_verified_at: datetime | None


class ExportThreadHead(BaseModel):
    """A thread's own fields; its messages follow it in the stream."""

    id: uuid.UUID
    agent_id: str
    title: str | None
    created_at: datetime
    last_activity_at: datetime
    folder_id: uuid.UUID | None = Field(default=None, description="One of `folders`.")
    pinned_at: datetime | None = None
    archived_at: datetime | None = None


class ExportThread(ExportThreadHead):
    messages: list[MessageOut] = Field(description="Every message, oldest first, decoded.")


class ExportSession(BaseModel):
    """A sign-in, without anything that would let it be used (no token or its hash)."""

    id: uuid.UUID
    mode: str
    label: str
    ip: str | None
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    ended_at: datetime | None
    end_reason: str | None


class ExportShareGiven(BaseModel):
    """One of the user's threads, shared with another user."""

    thread_id: uuid.UUID
    title: str | None
    shared_with: str = Field(description="The email of the user it is shared with.")
    created_at: datetime


class ExportShareReceived(BaseModel):
    """A thread another user shared with this one (its content is theirs: not exported)."""

    thread_id: uuid.UUID
    title: str | None
    owner: str = Field(description="The email of the thread's owner.")
    created_at: datetime


class ExportShares(BaseModel):
    given: list[ExportShareGiven]
    received: list[ExportShareReceived]


class AccountExport(BaseModel):
    """Everything Confide holds about one user, as `GET /api/me/export` streams it."""

    format: Literal["confide-export/1"] = EXPORT_FORMAT
    exported_at: datetime
    profile: ExportProfile
    settings: SettingsOut = Field(description="As `GET /api/me/settings` gives them.")
    threads: list[ExportThread]
    memories: list[MemoryOut] = Field(description="Every memory, superseded ones too.")
    approvals: list[ApprovalOut] = Field(
        description="Every approval and question runs asked the user, newest first."
    )
    sessions: list[ExportSession]
    audit_events: list[AuditEventOut] = Field(description="The events the user is the actor of.")
    share_links: list[ExportShareLink] = Field(
        description="Every share link of the user's (never its token: only its hash is kept)."
    )
    folders: list[FolderOut] = Field(description="The user's folders, in their order.")
    shares: ExportShares


class DeleteAccount(BaseModel):
    """The account's email, typed again: a deletion is not undone."""

    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=320, examples=["alice@example.org"])
