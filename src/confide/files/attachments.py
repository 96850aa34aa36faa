"""Files on messages: `FileAttachments`, the files feature's `threads.attachments.Attachments`.

A user's message gets their files in the transaction that stores it (`attach`: all of them
or none). What the model reads of a text file or a PDF is decided then: the files' text
shares CONFIDE_FILE_CONTEXT_TOKENS per message, in the order given, and what does not fit is
cut, with a line telling the model so (and the file's `truncated` telling the user). Images
go to an agent with `vision = true` as `image_url` parts (a data URL of the bytes); one
without vision is refused the image when it is attached, and told about it in words if a
thread with images is later answered by such an agent.
"""

from __future__ import annotations

import base64
import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from confide.files import repository
from confide.files.errors import FileNotFound, VisionUnsupported
from confide.files.service import open_name, open_text, read_blob
from confide.files.storage import Blobs
from confide.storage.codec import ContentCodec, Executor, Vault
from confide.threads.schemas import FileRef
from confide.threads.service import CHARS_PER_TOKEN

TRUNCATED = "[... truncated: the rest of the file ({rest} more characters) was not sent]"
NO_TEXT = "[no text could be read from this file]"
NO_VISION = "[The image {name} is attached, but this agent does not accept images.]"
DELETED = "[The file {name} was attached here, but it has since been deleted.]"


class FileAttachments:
    def __init__(self, *, vault: Vault, blobs: Blobs, context_tokens: int) -> None:
        self.vault = vault
        self.blobs = blobs
        self.budget_chars = context_tokens * CHARS_PER_TOKEN

    async def attach(
        self,
        db: Executor,
        *,
        owner_id: uuid.UUID,
        thread_id: uuid.UUID,
        message_id: uuid.UUID,
        file_ids: Sequence[uuid.UUID],
        vision: bool,
    ) -> list[FileRef]:
        """Attach the owner's files to their message (see the Protocol)."""
        wanted = list(dict.fromkeys(file_ids))  # once each, in the order given
        if not wanted:
            return []
        rows = {
            row.id: row
            for row in await repository.live_by_ids(db, owner_id=owner_id, file_ids=wanted)
        }
        if len(rows) != len(wanted):
            raise FileNotFound("One of the files is not among your files.")
        if not vision and any(rows[file_id].kind == "image" for file_id in wanted):
            raise VisionUnsupported(
                "This agent does not accept images: attach text or PDF files, or ask an "
                "agent that can see images."
            )
        codec = await self.vault.codec(db, owner_id)
        left = self.budget_chars
        attachments, refs = [], []
        for position, file_id in enumerate(wanted):
            row = rows[file_id]
            sent: int | None = None
            if row.kind != "image":
                sent = min(row.text_chars or 0, left)
                left -= sent
            attachments.append(
                {
                    "message_id": message_id,
                    "position": position,
                    "file_id": file_id,
                    "thread_id": thread_id,
                    "owner_id": owner_id,
                    "sent_chars": sent,
                }
            )
            refs.append(
                file_ref(
                    id=file_id,
                    name=open_name(codec, file_id, row.name),
                    content_type=row.content_type,
                    size=row.size,
                    kind=row.kind,
                    text_chars=row.text_chars,
                    sent_chars=sent,
                    deleted=False,
                )
            )
        await repository.insert_attachments(db, attachments)
        return refs

    async def refs(
        self, db: Executor, *, message_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, list[FileRef]]:
        """The files attached to each of these messages (only those that have any)."""
        if not message_ids:
            return {}
        rows = await repository.attached(db, message_ids=list(message_ids))
        codecs: dict[uuid.UUID, ContentCodec] = {}
        found: dict[uuid.UUID, list[FileRef]] = defaultdict(list)
        for row in rows:
            codec = codecs.get(row.owner_id)
            if codec is None:
                codec = codecs[row.owner_id] = await self.vault.codec(db, row.owner_id)
            found[row.message_id].append(
                file_ref(
                    id=row.id,
                    name=open_name(codec, row.id, row.name),
                    content_type=row.content_type,
                    size=row.size,
                    kind=row.kind,
                    text_chars=row.text_chars,
                    sent_chars=row.sent_chars,
                    deleted=row.deleted_at is not None,
                )
            )
        return dict(found)

    async def model_parts(
        self,
        db: Executor,
        *,
        owner_id: uuid.UUID,
        message_ids: Sequence[uuid.UUID],
        vision: bool,
    ) -> dict[uuid.UUID, list[dict[str, Any]]]:
        """For each of these messages that has files: the content parts the model gets
        after the message's own text."""
        if not message_ids:
            return {}
        rows = await repository.attached_content(
            db, owner_id=owner_id, message_ids=list(message_ids)
        )
        if not rows:
            return {}
        codec = await self.vault.codec(db, owner_id)
        parts: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            name = open_name(codec, row.id, row.name)
            parts[row.message_id].append(await self._part(codec, row, name, owner_id, vision))
        return dict(parts)

    async def _part(
        self, codec: ContentCodec, row: Any, name: str, owner_id: uuid.UUID, vision: bool
    ) -> dict[str, Any]:
        if row.deleted_at is not None:
            return text_part(DELETED.format(name=name))
        if row.kind == "image":
            if not vision:
                return text_part(NO_VISION.format(name=name))
            data = await read_blob(self.blobs, codec, owner_id=owner_id, blob_key=row.blob_key)
            if data is None:
                return text_part(DELETED.format(name=name))
            url = f"data:{row.content_type};base64,{base64.b64encode(data).decode('ascii')}"
            return {"type": "image_url", "image_url": {"url": url}}
        text = "" if row.text is None else open_text(codec, row.id, row.text)
        return text_part(file_text(name, row, text))


def text_part(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def file_text(name: str, row: Any, text: str) -> str:
    """`File <name> (N lines):` and the text the budget lets through (the scripted model
    reads this header: agents/models/scripted.py)."""
    lines = row.lines or 0
    described = f"{lines} line{'' if lines == 1 else 's'}"
    if row.pages is not None:
        described = f"PDF, {row.pages} page{'' if row.pages == 1 else 's'}, {described}"
    sent = len(text) if row.sent_chars is None else min(row.sent_chars, len(text))
    body = text[:sent] if text else NO_TEXT
    if sent < len(text):
        body += "\n" + TRUNCATED.format(rest=len(text) - sent)
    return f"File {name} ({described}):\n{body}"


def file_ref(
    *,
    id: uuid.UUID,
    name: str,
    content_type: str,
    size: int,
    kind: str,
    text_chars: int | None,
    sent_chars: int | None,
    deleted: bool,
) -> FileRef:
    return FileRef.model_validate(
        {
            "id": id,
            "name": name,
            "content_type": content_type,
            "size": size,
            "kind": kind,
            "truncated": sent_chars is not None and sent_chars < (text_chars or 0),
            "deleted": deleted,
        }
    )
