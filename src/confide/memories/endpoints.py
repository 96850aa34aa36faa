"""HTTP routes of the caller's memories (/api/me/memories)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from confide.auth.dependencies import CurrentPrincipal
from confide.db.base import utcnow
from confide.db.engine import SessionDep
from confide.memories.models import ACTIVE, SUPERSEDED
from confide.memories.schemas import MemoryCreate, MemoryExport, MemoryOut, MemoryPatch
from confide.memories.service import MemoryService
from confide.pagination import (
    DEFAULT_LIMIT,
    CursorParam,
    LimitParam,
    Page,
    after_time_and_id,
    next_time_and_id,
)
from confide.storage.codec import Vault

router = APIRouter(prefix="/api/me/memories", tags=["memories"])
EXPORT_FILENAME = "confide-memories.json"
_STATUSES = {"active": (ACTIVE,), "superseded": (SUPERSEDED,), "all": (ACTIVE, SUPERSEDED)}


async def memory_service(
    request: Request, principal: CurrentPrincipal, db: SessionDep
) -> MemoryService:
    vault: Vault = request.app.state.vault
    return MemoryService(db, await vault.codec(db, principal.user_id))


Memories = Annotated[MemoryService, Depends(memory_service)]


@router.get(
    "",
    response_model=Page[MemoryOut],
    responses={
        200: {
            "description": "A page of memories, or with `format=export` every memory as a "
            f"download ({EXPORT_FILENAME}, a MemoryExport)."
        },
        400: {"description": "`invalid_cursor`"},
    },
)
async def list_memories(
    memories: Memories,
    status: Literal["active", "superseded", "all"] = "active",
    format: Annotated[
        Literal["page", "export"], Query(description="`export`: all of them, as a file.")
    ] = "page",
    cursor: CursorParam = None,
    limit: LimitParam = DEFAULT_LIMIT,
) -> Page[MemoryOut] | Response:
    """The caller's memories, newest first, each with the message it came from."""
    if format == "export":
        export = MemoryExport(exported_at=utcnow(), memories=await memories.export())
        return JSONResponse(
            export.model_dump(mode="json"),
            headers={"Content-Disposition": f'attachment; filename="{EXPORT_FILENAME}"'},
        )
    rows = await memories.list_memories(
        statuses=_STATUSES[status], after=after_time_and_id(cursor), limit=limit + 1
    )
    return Page(items=rows[:limit], next_cursor=next_time_and_id(rows, limit))


@router.post(
    "",
    status_code=201,
    response_model=MemoryOut,
    responses={
        409: {"description": "`memory_exists`"},
        422: {"description": "`validation_error`, `empty_memory`"},
    },
)
async def create_memory(body: MemoryCreate, memories: Memories) -> MemoryOut:
    """Remember something by hand (no source message). A name or location supersedes the
    one remembered before."""
    return await memories.add(key=body.key, content=body.content)


@router.patch(
    "/{memory_id}",
    response_model=MemoryOut,
    responses={
        404: {"description": "`memory_not_found`"},
        422: {"description": "`validation_error`, `empty_memory`"},
    },
)
async def patch_memory(memory_id: uuid.UUID, body: MemoryPatch, memories: Memories) -> MemoryOut:
    """Change a memory's text or key."""
    return await memories.edit(memory_id, key=body.key, content=body.content)


@router.delete(
    "/{memory_id}",
    status_code=204,
    response_class=Response,
    responses={404: {"description": "`memory_not_found`"}},
)
async def delete_memory(memory_id: uuid.UUID, memories: Memories) -> Response:
    """Forget a memory."""
    await memories.delete(memory_id)
    return Response(status_code=204)
