"""HTTP routes of /api/imports, and the export of a thread (/api/threads/{id}/export)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile
from fastapi.responses import JSONResponse

from confide.access.dependencies import ThreadReader, ThreadWriter
from confide.agents.registry import AgentRegistry
from confide.audit.service import Origin
from confide.db.engine import Database, SessionDep
from confide.errors import ValidationFailed
from confide.imports import detect
from confide.imports.confide_format import ThreadExport
from confide.imports.errors import ImportTooLarge, InvalidImport
from confide.imports.export import content_disposition, markdown, thread_export
from confide.imports.schemas import ImportOut
from confide.imports.service import IMPORT_JOB, ImportService, import_job_key
from confide.jobs import JobQueue
from confide.pagination import (
    DEFAULT_LIMIT,
    CursorParam,
    LimitParam,
    Page,
    after_time_and_id,
    next_time_and_id,
)
from confide.storage.codec import Vault
from confide.threads.service import ThreadService
from confide.uploads import read_capped

log = logging.getLogger("confide.imports")

router = APIRouter(prefix="/api/imports", tags=["imports"])
export_router = APIRouter(prefix="/api/threads", tags=["threads"])
# The multipart framing around the file, on top of CONFIDE_IMPORT_MAX_BYTES (the body limit of
# POST /api/imports, http.py); the file's own size is checked as it is read.
UPLOAD_OVERHEAD_BYTES = 64 * 1024


async def _queue(request: Request, import_id: uuid.UUID) -> None:
    jobs: JobQueue = request.app.state.jobs
    try:
        await jobs.enqueue(IMPORT_JOB, key=import_job_key(import_id), import_id=str(import_id))
    except Exception:  # stored all the same: the next look at it queues it again
        log.warning("import not queued", extra={"import_id": str(import_id)})


@router.post(
    "",
    status_code=202,
    response_model=ImportOut,
    responses={
        404: {"description": "`agent_not_found`"},
        413: {"description": "`import_too_large`"},
        422: {"description": "`invalid_import`, `validation_error`"},
    },
)
async def create_import(
    request: Request,
    principal: ThreadWriter,
    file: Annotated[UploadFile, File(description="conversations.json, or a Confide export.")],
    agent_id: Annotated[
        str | None,
        Form(max_length=64, description="The agent imported threads get (default: yours)."),
    ] = None,
) -> ImportOut:
    """Import threads from a ChatGPT export (`conversations.json`: branches kept) or a Confide
    export, in the background: the answer is the queued import, to poll for its progress and
    report. Imported threads are new threads of the caller's, with `agent_id` (or the
    caller's default agent) whatever agent or model the file names."""
    agents: AgentRegistry = request.app.state.agents
    agent = agents.get_for(principal, agent_id) if agent_id else agents.default_for(principal)
    limit = request.app.state.settings.import_max_bytes
    data = await read_capped(
        file,
        limit=limit,
        too_large=lambda: ImportTooLarge(f"Imports may be at most {limit} bytes."),
    )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidImport("The file is not UTF-8 text.") from exc
    parsed = await asyncio.to_thread(detect.parse, text)
    database: Database = request.app.state.database
    # A session of its own, committed before the job is queued: the job always finds the row.
    async with database.session() as db:
        created = await ImportService(db, vault=request.app.state.vault).create(
            principal, text=text, parsed=parsed, agent_id=agent.id
        )
    await _queue(request, created.id)
    return created


@router.get(
    "", response_model=Page[ImportOut], responses={400: {"description": "`invalid_cursor`"}}
)
async def list_imports(
    request: Request,
    principal: ThreadReader,
    db: SessionDep,
    cursor: CursorParam = None,
    limit: LimitParam = DEFAULT_LIMIT,
) -> Page[ImportOut]:
    """The caller's imports, newest first."""
    rows = await ImportService(db, vault=request.app.state.vault).list_imports(
        principal, after=after_time_and_id(cursor), limit=limit + 1
    )
    return Page(items=rows[:limit], next_cursor=next_time_and_id(rows, limit))


@router.get(
    "/{import_id}", response_model=ImportOut, responses={404: {"description": "`import_not_found`"}}
)
async def get_import(
    request: Request, import_id: uuid.UUID, principal: ThreadReader, db: SessionDep
) -> ImportOut:
    """An import's progress and, once it is over, its report (the caller's own only). An
    unfinished import whose job is gone (a restart) is queued again: it resumes where it
    stopped."""
    found = await ImportService(db, vault=request.app.state.vault).get(principal, import_id)
    if found.status in ("queued", "running"):
        jobs: JobQueue = request.app.state.jobs
        if await jobs.state(import_job_key(import_id)) == "missing":
            await _queue(request, import_id)
    return found


@export_router.get(
    "/{thread_id}/export",
    response_class=Response,
    responses={
        200: {
            "model": ThreadExport,
            "description": "The thread as a file: Markdown, or JSON in the Confide format.",
            "content": {"text/markdown": {"schema": {"type": "string"}}},
        },
        404: {"description": "`thread_not_found`, `message_not_found`"},
        422: {"description": "`validation_error`"},
    },
)
async def export_thread(
    request: Request,
    thread_id: uuid.UUID,
    principal: ThreadReader,
    db: SessionDep,
    format: Annotated[
        Literal["md", "json"], Query(description="`md` to read, `json` to import again.")
    ] = "md",
    path: Annotated[
        uuid.UUID | None,
        Query(description="A message of the thread: the path through it (default: the active)."),
    ] = None,
    every_branch: Annotated[
        bool, Query(alias="all", description="JSON only: every branch, not one path.")
    ] = False,
) -> Response:
    """A thread the caller may read, as a download: its active path (or the path through
    `path`) as Markdown or JSON, or (`format=json&all=true`) every branch as JSON, which an
    import turns back into the same tree."""
    if every_branch and format == "md":
        raise ValidationFailed("A Markdown export is one path: ask for JSON to get every branch.")
    vault: Vault = request.app.state.vault
    readable = await ThreadService(db, vault=vault, origin=Origin.of(request)).readable(
        principal, thread_id
    )
    exported = await thread_export(db, vault, readable.thread, path=path, every_branch=every_branch)
    disposition = content_disposition(exported.thread.title, format)
    if format == "json":
        return JSONResponse(
            exported.model_dump(mode="json"), headers={"Content-Disposition": disposition}
        )
    agents: AgentRegistry = request.app.state.agents
    agent = next((a for a in agents.agents if a.id == readable.thread.agent_id), None)
    body = markdown(exported, agent_name=agent.name if agent else readable.thread.agent_id)
    return Response(
        body,
        media_type="text/markdown; charset=utf-8",
        headers={"Content-Disposition": disposition},
    )
