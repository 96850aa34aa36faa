"""HTTP routes of the caller's files (/api/files)."""

from __future__ import annotations

import uuid
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Request, Response, UploadFile

from confide.access.dependencies import ThreadReader, ThreadWriter
from confide.auth.cache import Principal
from confide.db.engine import SessionDep
from confide.files.errors import FileTooLarge
from confide.files.schemas import FileOut, FileUsage
from confide.files.service import Download, FileService
from confide.files.sniff import IMAGE_TYPES
from confide.pagination import (
    DEFAULT_LIMIT,
    CursorParam,
    LimitParam,
    Page,
    after_time_and_id,
    next_time_and_id,
)
from confide.uploads import read_capped

router = APIRouter(prefix="/api/files", tags=["files"])
# What a multipart body may hold beside the file itself (boundaries, part headers, the name).
UPLOAD_OVERHEAD_BYTES = 64 * 1024
# An upload is never shown by the browser from our origin: a download, in a sandbox.
DOWNLOAD_CSP = "sandbox; default-src 'none'"


def _service(request: Request, db: SessionDep, principal: Principal) -> FileService:
    state = request.app.state
    return FileService(
        db,
        vault=state.vault,
        blobs=state.blobs,
        limits=state.file_limits,
        owner_id=principal.user_id,
    )


async def file_reader(request: Request, principal: ThreadReader, db: SessionDep) -> FileService:
    return _service(request, db, principal)


async def file_writer(request: Request, principal: ThreadWriter, db: SessionDep) -> FileService:
    return _service(request, db, principal)


FilesReader = Annotated[FileService, Depends(file_reader)]
FilesWriter = Annotated[FileService, Depends(file_writer)]


@router.post(
    "",
    status_code=201,
    response_model=FileOut,
    responses={
        413: {"description": "`file_too_large`"},
        415: {"description": "`unsupported_file_type`"},
        422: {"description": "`validation_error` (no `file` field), `unreadable_pdf`"},
        507: {"description": "`storage_quota_exceeded`"},
    },
)
async def upload_file(
    files: FilesWriter,
    file: Annotated[UploadFile, File(description="The file (multipart/form-data).")],
) -> FileOut:
    """Upload a file: text (UTF-8: plain, Markdown, code), a PDF, or a PNG, JPEG, GIF or
    WebP image, told apart by its content. Attach it to a message with `file_ids`."""
    limit = files.limits.max_bytes
    data = await read_capped(
        file, limit=limit, too_large=lambda: FileTooLarge(f"Files may be at most {limit} bytes.")
    )
    return await files.upload(name=file.filename, data=data)


@router.get("", response_model=Page[FileOut], responses={400: {"description": "`invalid_cursor`"}})
async def list_files(
    files: FilesReader, cursor: CursorParam = None, limit: LimitParam = DEFAULT_LIMIT
) -> Page[FileOut]:
    """The caller's files, newest first."""
    rows = await files.list_files(after=after_time_and_id(cursor), limit=limit + 1)
    return Page(items=rows[:limit], next_cursor=next_time_and_id(rows, limit))


@router.get("/usage", response_model=FileUsage)
async def file_usage(files: FilesReader) -> FileUsage:
    """How much of the caller's file storage is used, and the upload limits."""
    return await files.usage()


@router.get(
    "/{file_id}", response_model=FileOut, responses={404: {"description": "`file_not_found`"}}
)
async def get_file(file_id: uuid.UUID, files: FilesReader) -> FileOut:
    """One of the caller's files."""
    return await files.get(file_id)


@router.get(
    "/{file_id}/content",
    response_class=Response,
    responses={
        200: {
            "description": "The file's bytes, as a download (`Content-Disposition: "
            "attachment`), never rendered from Confide's origin.",
            "content": {"application/octet-stream": {}},
        },
        404: {"description": "`file_not_found` (also a deleted file)"},
    },
)
async def file_content(file_id: uuid.UUID, files: FilesReader) -> Response:
    """Download one of the caller's files."""
    return download_response(await files.download(file_id))


@router.delete(
    "/{file_id}",
    status_code=204,
    response_class=Response,
    responses={404: {"description": "`file_not_found`"}},
)
async def delete_file(file_id: uuid.UUID, files: FilesWriter) -> Response:
    """Delete a file. Messages it was attached to still name it (`deleted: true`); its
    content is gone, for the user and for the model."""
    await files.delete(file_id)
    return Response(status_code=204)


def download_response(download: Download) -> Response:
    """Bytes a browser saves rather than shows: an attachment, in a sandbox, with a type
    that renders nothing active (`nosniff` comes with every response: http.py)."""
    if download.content_type in IMAGE_TYPES:
        media_type = download.content_type
    elif download.content_type.startswith("text/"):
        media_type = "text/plain; charset=utf-8"
    else:
        media_type = "application/octet-stream"
    return Response(
        download.data,
        media_type=media_type,
        headers={
            "Content-Disposition": content_disposition(download.name),
            "Content-Security-Policy": DOWNLOAD_CSP,
            "Cross-Origin-Resource-Policy": "same-origin",
        },
    )


def content_disposition(name: str) -> str:
    """`attachment` with the name as RFC 6266 gives it: an ASCII fallback, and UTF-8."""
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name
    )
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
