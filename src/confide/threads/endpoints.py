"""HTTP routes of /api/threads: parse, call the service, shape the response."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from confide.access.dependencies import ThreadReader, ThreadSharer, ThreadWriter
from confide.audit.service import Origin
from confide.db.engine import SessionDep
from confide.folders.filters import Shelf
from confide.folders.service import update_thread as organise_thread
from confide.pagination import (
    DEFAULT_LIMIT,
    CursorParam,
    InvalidCursor,
    LimitParam,
    Page,
    cursor_datetime,
    cursor_uuid,
    decode_cursor,
    encode_cursor,
)
from confide.storage.codec import Vault
from confide.threads.schemas import (
    ActivePath,
    MessageOut,
    ShareAccepted,
    ShareCreate,
    ShareOut,
    ThreadCreate,
    ThreadOut,
    ThreadUpdate,
)
from confide.threads.service import AgentCatalog, Readable, ThreadService, owner_of
from confide.threads.sharing import ShareService
from confide.threads.visibility import Access

router = APIRouter(prefix="/api/threads", tags=["threads"])


# Dependencies are `async def` so FastAPI calls them on the loop, not in a worker thread.
async def thread_service(request: Request, db: SessionDep) -> ThreadService:
    vault: Vault = request.app.state.vault
    return ThreadService(
        db, vault=vault, origin=Origin.of(request), attachments=request.app.state.attachments
    )


async def share_service(request: Request, db: SessionDep) -> ShareService:
    return ShareService(db, origin=Origin.of(request))


async def agent_catalog(request: Request) -> AgentCatalog:
    catalog: AgentCatalog = request.app.state.agents
    return catalog


Threads = Annotated[ThreadService, Depends(thread_service)]
Agents = Annotated[AgentCatalog, Depends(agent_catalog)]
Shares = Annotated[ShareService, Depends(share_service)]


@router.post("", status_code=201, response_model=ThreadOut)
async def create_thread(
    body: ThreadCreate, principal: ThreadWriter, threads: Threads, agents: Agents
) -> ThreadOut:
    """Start a thread with an agent (the default agent when none is named)."""
    thread = await threads.create(
        principal, agents=agents, agent_id=body.agent_id, title=body.title
    )
    return await threads.thread_out(thread, owner=owner_of(principal))


@router.get("", response_model=Page[ThreadOut])
async def list_threads(
    principal: ThreadReader,
    threads: Threads,
    cursor: CursorParam = None,
    limit: LimitParam = DEFAULT_LIMIT,
    agent_id: Annotated[str | None, Query(max_length=64)] = None,
    q: Annotated[
        str | None, Query(min_length=1, max_length=200, description="Search titles and text.")
    ] = None,
    scope: Annotated[
        Literal["own", "shared"],
        Query(description="`own`: the caller's threads; `shared`: those shared with them."),
    ] = "own",
    archived: Annotated[
        bool, Query(description="Own threads: `true` lists only the archived ones.")
    ] = False,
    folder_id: Annotated[
        uuid.UUID | None, Query(description="Own threads: only those in this folder.")
    ] = None,
    in_folder: Annotated[
        bool | None,
        Query(description="Own threads: `true` only those in a folder, `false` those in none."),
    ] = None,
    pinned: Annotated[
        bool | None, Query(description="Own threads: `true` only pinned ones, `false` the rest.")
    ] = None,
) -> Page[ThreadOut]:
    """The caller's threads (or those shared with them), newest activity first. Archived
    threads are left out unless `archived=true` (then only they are listed)."""
    after = None
    if cursor:
        activity_raw, id_raw = decode_cursor(cursor, length=2)
        after = (cursor_datetime(activity_raw), cursor_uuid(id_raw))
    rows = await threads.list_threads(
        principal,
        shared=scope == "shared",
        agent_id=agent_id,
        q=q,
        after=after,
        limit=limit + 1,
        shelf=Shelf(archived=archived, folder_id=folder_id, in_folder=in_folder, pinned=pinned),
    )
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1].thread
        next_cursor = encode_cursor([last.last_activity_at.isoformat(), str(last.id)])
    return Page[ThreadOut](items=await threads.threads_out(rows[:limit]), next_cursor=next_cursor)


@router.get("/{thread_id}", response_model=ThreadOut)
async def get_thread(thread_id: uuid.UUID, principal: ThreadReader, threads: Threads) -> ThreadOut:
    """A thread's metadata, with the run in progress on it (if any)."""
    (out,) = await threads.threads_out([await threads.readable(principal, thread_id)])
    return out


@router.patch(
    "/{thread_id}",
    response_model=ThreadOut,
    responses={404: {"description": "`thread_not_found`, `folder_not_found`"}},
)
async def update_thread(
    thread_id: uuid.UUID, body: ThreadUpdate, principal: ThreadWriter, threads: Threads
) -> ThreadOut:
    """Rename a thread, move it into one of the caller's folders or out of its folder, pin
    or archive it (its owner only; any of these, at least one)."""
    thread = await organise_thread(threads, principal, thread_id, body)
    (out,) = await threads.threads_out(
        [Readable(thread=thread, owner=owner_of(principal), access=Access.OWNER)]
    )
    return out


@router.delete("/{thread_id}", status_code=204, response_class=Response)
async def delete_thread(
    thread_id: uuid.UUID, principal: ThreadWriter, threads: Threads
) -> Response:
    """Delete a thread and all its messages, runs and shares (its owner only)."""
    await threads.delete(principal, thread_id)
    return Response(status_code=204)


@router.get("/{thread_id}/messages", response_model=Page[MessageOut])
async def list_messages(
    thread_id: uuid.UUID,
    principal: ThreadReader,
    threads: Threads,
    cursor: CursorParam = None,
    limit: LimitParam = DEFAULT_LIMIT,
    order: Annotated[
        Literal["asc", "desc"], Query(description="`desc`: newest first (a chat's last page).")
    ] = "asc",
    path: Annotated[
        uuid.UUID | None,
        Query(
            description="Another path than the active one: the path through this message (and "
            "on through its newest replies)."
        ),
    ] = None,
) -> Page[MessageOut]:
    """One path of a thread's messages (its active path by default) in OpenAI chat format,
    oldest first by default; each message says how many siblings it has (edited questions,
    regenerated answers) and its place among them."""
    after_seq = None
    if cursor:
        (seq,) = decode_cursor(cursor, length=1)
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
            raise InvalidCursor
        after_seq = seq
    items = await threads.messages(
        principal,
        thread_id,
        path=path,
        after_seq=after_seq,
        newest_first=order == "desc",
        limit=limit + 1,
    )
    next_cursor = encode_cursor([items[limit - 1].seq]) if len(items) > limit else None
    return Page[MessageOut](items=items[:limit], next_cursor=next_cursor)


@router.put("/{thread_id}/active", response_model=ThreadOut)
async def set_active_path(
    thread_id: uuid.UUID, body: ActivePath, principal: ThreadWriter, threads: Threads
) -> ThreadOut:
    """Switch the path the thread shows and continues (its owner only): to the one through
    `leaf_id`, any message of the thread, on through its newest replies to a leaf."""
    thread = await threads.set_active(principal, thread_id, body.leaf_id)
    (out,) = await threads.threads_out(
        [Readable(thread=thread, owner=owner_of(principal), access=Access.OWNER)]
    )
    return out


@router.post("/{thread_id}/shares", status_code=202, response_model=ShareAccepted)
async def share_thread(
    request: Request,
    thread_id: uuid.UUID,
    body: ShareCreate,
    principal: ThreadSharer,
    shares: Shares,
) -> ShareAccepted:
    """Share the thread, read-only, with the user of this email (its owner only). The answer
    is the same whether or not the email names an account (or one not verified yet, which
    receives no shares unless CONFIDE_UNVERIFIED_USERS=full)."""
    verified_only = request.app.state.settings.unverified_users != "full"
    await shares.share(principal, thread_id, body.email, verified_only=verified_only)
    return ShareAccepted(email=body.email)


# Seeing and revoking one's own shares needs no more than reading one's own threads: a role
# that loses `threads:share` can still take back what it shared.
@router.get("/{thread_id}/shares", response_model=Page[ShareOut])
async def list_shares(
    thread_id: uuid.UUID,
    principal: ThreadReader,
    shares: Shares,
    cursor: CursorParam = None,
    limit: LimitParam = DEFAULT_LIMIT,
) -> Page[ShareOut]:
    """Who the thread is shared with, newest first (its owner only)."""
    after = None
    if cursor:
        created_raw, id_raw = decode_cursor(cursor, length=2)
        after = (cursor_datetime(created_raw), cursor_uuid(id_raw))
    items = await shares.shares(principal, thread_id, after=after, limit=limit + 1)
    next_cursor = None
    if len(items) > limit:
        last = items[limit - 1]
        next_cursor = encode_cursor([last.created_at.isoformat(), str(last.id)])
    return Page[ShareOut](items=items[:limit], next_cursor=next_cursor)


@router.delete("/{thread_id}/shares/{share_id}", status_code=204, response_class=Response)
async def revoke_share(
    thread_id: uuid.UUID, share_id: uuid.UUID, principal: ThreadReader, shares: Shares
) -> Response:
    """Stop sharing the thread with one user, from their very next request (its owner
    only)."""
    await shares.revoke(principal, thread_id, share_id)
    return Response(status_code=204)
