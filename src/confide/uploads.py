"""Reading an uploaded file (multipart) under a size limit: shared by every upload route."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import UploadFile

from confide.errors import ConfideError

READ_CHUNK = 1024 * 1024


async def read_capped(
    upload: UploadFile, *, limit: int, too_large: Callable[[], ConfideError]
) -> bytes:
    """The upload's bytes, refused (`too_large()`) as soon as they pass `limit`: a declared
    size over it is refused before anything is read."""
    if upload.size is not None and upload.size > limit:
        raise too_large()
    chunks: list[bytes] = []
    size = 0
    while chunk := await upload.read(READ_CHUNK):
        size += len(chunk)
        if size > limit:
            raise too_large()
        chunks.append(chunk)
    return b"".join(chunks)
