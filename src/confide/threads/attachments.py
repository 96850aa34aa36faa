"""What threads and runs need of the files feature (files/): attaching uploaded files to a
user's message, showing them on its messages, and giving them to the model.

A small Protocol, so the message path (`MessageLog`, `RunStore.start`) does not depend on how
files are stored; `NoAttachments` is what a deployment without the files feature answers.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, Protocol

from confide.errors import NotFound
from confide.threads.repository import Executor
from confide.threads.schemas import FileRef

__all__ = ["Attachments", "FileNotFound", "FileRef", "NoAttachments"]


class FileNotFound(NotFound):
    code = "file_not_found"
    title = "No such file"


class Attachments(Protocol):
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
        """Attach the owner's files to their message just stored, in the caller's
        transaction. Raises a domain error (nothing is attached) for a file that is not the
        owner's (`FileNotFound`, 404) or an image for an agent without `vision`."""

    async def refs(
        self, db: Executor, *, message_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, list[FileRef]]:
        """The files attached to each of these messages (only those that have any)."""

    async def model_parts(
        self,
        db: Executor,
        *,
        owner_id: uuid.UUID,
        message_ids: Sequence[uuid.UUID],
        vision: bool,
    ) -> dict[uuid.UUID, list[dict[str, Any]]]:
        """For each of these messages that has files: the OpenAI content parts the model gets
        after the message's own text (`{"type": "text", ...}`, `{"type": "image_url", ...}`)."""


class NoAttachments:
    """No files feature: nothing is ever attached."""

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
        if file_ids:
            raise FileNotFound
        return []

    async def refs(
        self, db: Executor, *, message_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, list[FileRef]]:
        return {}

    async def model_parts(
        self,
        db: Executor,
        *,
        owner_id: uuid.UUID,
        message_ids: Sequence[uuid.UUID],
        vision: bool,
    ) -> dict[uuid.UUID, list[dict[str, Any]]]:
        return {}
