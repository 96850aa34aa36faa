"""Where files' bytes live: a `Blobs` Protocol (put, get, delete), on the filesystem here.

A blob is addressed by its owner and its key (a keyed hash of the content, models.py), never
by anything a client sent: the path is `<root>/<owner id hex>/<key>`, both parts checked
against their exact shapes. The bytes given are already sealed with the owner's key (the
service seals them), so a blob on disk, or in a bucket later, tells nothing of the file.
Directories are 0700 and files 0600 like the rest of the data directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import uuid
from pathlib import Path
from typing import Protocol

from confide.datadir import DIR_MODE, FILE_MODE

BLOB_KEY = re.compile(r"[0-9a-f]{32,64}")


class Blobs(Protocol):
    """Sealed file contents, per owner."""

    async def put(self, owner_id: uuid.UUID, key: str, data: bytes) -> None:
        """Store `data` under the key (replacing a blob there: the same content)."""

    async def get(self, owner_id: uuid.UUID, key: str) -> bytes | None:
        """The blob, or None when there is none."""

    def delete(self, owner_id: uuid.UUID, key: str) -> None:
        """Remove the blob (no error when it is gone already). Synchronous: it runs once
        the transaction that deleted its last file has committed (db/engine.py on_commit)."""

    def delete_owner(self, owner_id: uuid.UUID) -> None:
        """Remove every blob of an owner (their account is deleted). Synchronous, as `delete`."""


class FileBlobs:
    """Blobs as files under a directory (`$CONFIDE_DATA_DIR/files`)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, owner_id: uuid.UUID, key: str) -> Path:
        if not isinstance(owner_id, uuid.UUID) or not BLOB_KEY.fullmatch(key):
            raise ValueError("not a blob address")
        return self.root / owner_id.hex / key

    async def put(self, owner_id: uuid.UUID, key: str, data: bytes) -> None:
        await asyncio.to_thread(self._write, self.path(owner_id, key), data)

    async def get(self, owner_id: uuid.UUID, key: str) -> bytes | None:
        return await asyncio.to_thread(self._read, self.path(owner_id, key))

    def delete(self, owner_id: uuid.UUID, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path(owner_id, key).unlink()

    def delete_owner(self, owner_id: uuid.UUID) -> None:
        if not isinstance(owner_id, uuid.UUID):
            raise ValueError("not an owner id")
        shutil.rmtree(self.root / owner_id.hex, ignore_errors=True)

    def _write(self, path: Path, data: bytes) -> None:
        for directory in (self.root, path.parent):
            directory.mkdir(mode=DIR_MODE, exist_ok=True)
        # Written beside and renamed: a reader never sees half a blob.
        partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            partial.replace(path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()
            raise

    @staticmethod
    def _read(path: Path) -> bytes | None:
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None
