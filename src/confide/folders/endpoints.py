"""HTTP routes of /api/folders: parse, call the service, shape the response."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from confide.access.dependencies import ThreadReader, ThreadWriter
from confide.auth.cache import Principal
from confide.db.engine import SessionDep
from confide.folders.schemas import FolderCreate, FolderOut, FolderUpdate
from confide.folders.service import FolderService
from confide.pagination import (
    DEFAULT_LIMIT,
    CursorParam,
    InvalidCursor,
    LimitParam,
    Page,
    cursor_uuid,
    decode_cursor,
    encode_cursor,
)
from confide.storage.codec import Vault

router = APIRouter(prefix="/api/folders", tags=["folders"])


def _service(request: Request, db: SessionDep, principal: Principal) -> FolderService:
    vault: Vault = request.app.state.vault
    return FolderService(db, vault=vault, principal=principal)


# Reading folders needs what reading one's threads needs; changing them, writing threads.
async def folder_reader(request: Request, db: SessionDep, principal: ThreadReader) -> FolderService:
    return _service(request, db, principal)


async def folder_writer(request: Request, db: SessionDep, principal: ThreadWriter) -> FolderService:
    return _service(request, db, principal)


FolderReader = Annotated[FolderService, Depends(folder_reader)]
FolderWriter = Annotated[FolderService, Depends(folder_writer)]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "`folder_not_found`"}}


def _after(cursor: str | None) -> tuple[int, uuid.UUID] | None:
    if not cursor:
        return None
    position, raw_id = decode_cursor(cursor, length=2)
    if not isinstance(position, int) or isinstance(position, bool):
        raise InvalidCursor
    return position, cursor_uuid(raw_id)


@router.get(
    "", response_model=Page[FolderOut], responses={400: {"description": "`invalid_cursor`"}}
)
async def list_folders(
    folders: FolderReader, cursor: CursorParam = None, limit: LimitParam = DEFAULT_LIMIT
) -> Page[FolderOut]:
    """The caller's folders by position (then the order they were made in). Their names are
    sealed at rest, so the server cannot sort by name: the web app sorts a page itself."""
    items = await folders.list_folders(after=_after(cursor), limit=limit + 1)
    next_cursor = None
    if len(items) > limit:
        last = items[limit - 1]
        next_cursor = encode_cursor([last.position, str(last.id)])
    return Page[FolderOut](items=items[:limit], next_cursor=next_cursor)


@router.post(
    "",
    status_code=201,
    response_model=FolderOut,
    responses={409: {"description": "`too_many_folders`"}},
)
async def create_folder(body: FolderCreate, folders: FolderWriter) -> FolderOut:
    """Make a folder, placed after the caller's others."""
    return await folders.create(body.name)


@router.patch("/{folder_id}", response_model=FolderOut, responses=NOT_FOUND)
async def update_folder(
    folder_id: uuid.UUID, body: FolderUpdate, folders: FolderWriter
) -> FolderOut:
    """Rename a folder or move it in the list (its owner only)."""
    return await folders.update(folder_id, name=body.name, position=body.position)


@router.delete("/{folder_id}", status_code=204, response_class=Response, responses=NOT_FOUND)
async def delete_folder(folder_id: uuid.UUID, folders: FolderWriter) -> Response:
    """Delete a folder (its owner only). Its threads are kept, in no folder."""
    await folders.delete(folder_id)
    return Response(status_code=204)
