"""File rules: what may be uploaded, the owner's quota, sealing, deleting. Never commits."""

from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from confide.config import Settings
from confide.db.base import utcnow
from confide.db.engine import on_commit
from confide.files import repository
from confide.files.errors import (
    FileNotFound,
    FileTooLarge,
    StorageQuotaExceeded,
    UnsupportedFileType,
)
from confide.files.extract import Extracted, pdf_file, text_file
from confide.files.schemas import FileOut, FileUsage
from confide.files.sniff import accepted_types, allowed, safe_name, sniff
from confide.files.storage import Blobs
from confide.storage.codec import ContentCodec, Vault

log = logging.getLogger("confide.files")


@dataclass(frozen=True, slots=True)
class FileLimits:
    max_bytes: int
    types: tuple[str, ...]
    quota_bytes: int
    context_tokens: int

    @classmethod
    def from_settings(cls, settings: Settings) -> FileLimits:
        return cls(
            max_bytes=settings.file_max_bytes,
            types=tuple(settings.file_types),
            quota_bytes=settings.file_quota_bytes,
            context_tokens=settings.file_context_tokens,
        )


@dataclass(frozen=True, slots=True)
class Download:
    """A file's bytes and how to serve them."""

    name: str
    content_type: str
    data: bytes


class FileService:
    def __init__(
        self,
        db: AsyncSession,
        *,
        vault: Vault,
        blobs: Blobs,
        limits: FileLimits,
        owner_id: uuid.UUID,
    ) -> None:
        self.db = db
        self.vault = vault
        self.blobs = blobs
        self.limits = limits
        self.owner_id = owner_id

    async def upload(self, *, name: str | None, data: bytes) -> FileOut:
        """Store an upload: its type read from its bytes, its text extracted, its content
        sealed and kept once per owner however often it is uploaded."""
        if len(data) > self.limits.max_bytes:
            raise FileTooLarge(f"Files may be at most {self.limits.max_bytes} bytes.")
        shown = safe_name(name)
        sniffed = sniff(data, name=shown)
        if sniffed is None or not allowed(sniffed, self.limits.types):
            raise UnsupportedFileType(
                f"Confide takes {', '.join(accepted_types(self.limits.types))}, recognised "
                "from the file's content (not its name)."
            )
        codec = await self.vault.codec(self.db, self.owner_id)
        digest = hashlib.sha256(data).hexdigest()
        blob_key = blob_key_of(codec, digest)
        copy = await repository.live_copy(self.db, owner_id=self.owner_id, blob_key=blob_key)
        file_id = uuid.uuid4()
        if copy is None:
            used = await repository.used_bytes(self.db, owner_id=self.owner_id)
            if used + len(data) > self.limits.quota_bytes:
                raise StorageQuotaExceeded(
                    f"Your files take {used} of {self.limits.quota_bytes} bytes; delete some "
                    "to upload this one."
                )
            extracted = await extract(sniffed.kind, data)
            text = None if extracted is None else extracted.text
            text_values = _text_values(extracted)
        else:
            text = None if copy.text is None else open_text(codec, copy.id, copy.text)
            text_values = {
                "text_chars": copy.text_chars,
                "lines": copy.lines,
                "pages": copy.pages,
            }
        # The blob is (re)written either way: a copy's blob may be on its way out.
        sealed = codec.encode_bytes(data, table="files", column="content", row_id=blob_key)
        await self.blobs.put(self.owner_id, blob_key, sealed)
        now = utcnow()
        await repository.insert_file(
            self.db,
            {
                "id": file_id,
                "owner_id": self.owner_id,
                "name": codec.encode(shown, table="files", column="name", row_id=file_id),
                "kind": sniffed.kind,
                "content_type": sniffed.content_type,
                "size": len(data),
                "sha256": codec.encode(digest, table="files", column="sha256", row_id=file_id),
                "blob_key": blob_key,
                "text": None
                if text is None
                else codec.encode(text, table="files", column="text", row_id=file_id),
                "created_at": now,
                **text_values,
            },
        )
        return FileOut(
            id=file_id,
            name=shown,
            content_type=sniffed.content_type,
            size=len(data),
            kind=sniffed.kind,
            sha256=digest,
            created_at=now,
            **text_values,
        )

    async def get(self, file_id: uuid.UUID) -> FileOut:
        row = await repository.get_live(self.db, owner_id=self.owner_id, file_id=file_id)
        if row is None:
            raise FileNotFound
        return file_out(await self.vault.codec(self.db, self.owner_id), row)

    async def list_files(
        self, *, after: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> list[FileOut]:
        """The owner's files, newest first."""
        rows = await repository.list_live(self.db, owner_id=self.owner_id, after=after, limit=limit)
        codec = await self.vault.codec(self.db, self.owner_id)
        return [file_out(codec, row) for row in rows]

    async def download(self, file_id: uuid.UUID) -> Download:
        """The file's bytes, opened with the owner's key."""
        row = await repository.get_live(self.db, owner_id=self.owner_id, file_id=file_id)
        if row is None:
            raise FileNotFound
        codec = await self.vault.codec(self.db, self.owner_id)
        data = await read_blob(self.blobs, codec, owner_id=self.owner_id, blob_key=row.blob_key)
        if data is None:
            raise FileNotFound
        return Download(
            name=open_name(codec, row.id, row.name), content_type=row.content_type, data=data
        )

    async def delete(self, file_id: uuid.UUID) -> None:
        """Delete a file: its content goes (the blob too, once no other file of the owner
        holds it), its name stays on the messages it was attached to."""
        blob_key = await repository.mark_deleted(
            self.db, owner_id=self.owner_id, file_id=file_id, now=utcnow()
        )
        if blob_key is None:
            raise FileNotFound
        if await repository.live_copy(self.db, owner_id=self.owner_id, blob_key=blob_key) is None:
            owner_id, blobs = self.owner_id, self.blobs
            on_commit(self.db, lambda: blobs.delete(owner_id, blob_key))

    async def usage(self) -> FileUsage:
        return FileUsage(
            used_bytes=await repository.used_bytes(self.db, owner_id=self.owner_id),
            quota_bytes=self.limits.quota_bytes,
            max_file_bytes=self.limits.max_bytes,
            types=list(self.limits.types),
            context_tokens=self.limits.context_tokens,
        )


async def extract(kind: str, data: bytes) -> Extracted | None:
    if kind == "text":
        return text_file(data)
    if kind == "pdf":
        return await pdf_file(data)
    return None


def _text_values(extracted: Extracted | None) -> dict[str, int | None]:
    if extracted is None:
        return {"text_chars": None, "lines": None, "pages": None}
    return {
        "text_chars": len(extracted.text),
        "lines": extracted.lines,
        "pages": extracted.pages,
    }


def blob_key_of(codec: ContentCodec, digest: str) -> str:
    """The blob's address: a keyed hash of the content under the owner's key (two owners'
    copies of one file have different addresses, and an address tells nothing)."""
    return codec.blind_token(f"confide/file/{digest}").hex()


async def read_blob(
    blobs: Blobs, codec: ContentCodec, *, owner_id: uuid.UUID, blob_key: str
) -> bytes | None:
    stored = await blobs.get(owner_id, blob_key)
    if stored is None:
        log.warning("the blob of a live file is missing (owner %s, key %s)", owner_id, blob_key)
        return None
    return codec.decode_bytes(stored, table="files", column="content", row_id=blob_key)


def open_name(codec: ContentCodec, file_id: uuid.UUID, stored: bytes) -> str:
    return codec.decode(stored, table="files", column="name", row_id=file_id)


def open_text(codec: ContentCodec, file_id: uuid.UUID, stored: bytes) -> str:
    return codec.decode(stored, table="files", column="text", row_id=file_id)


def file_out(codec: ContentCodec, row: Any) -> FileOut:
    return FileOut(
        id=row.id,
        name=open_name(codec, row.id, row.name),
        content_type=row.content_type,
        size=row.size,
        kind=row.kind,
        sha256=codec.decode(row.sha256, table="files", column="sha256", row_id=row.id),
        created_at=row.created_at,
        text_chars=row.text_chars,
        lines=row.lines,
        pages=row.pages,
    )
