"""HTTP routes of share links: the owner's (/api/threads/{id}/links) and the public read
(/api/shared/{token}), which needs no account and is counted per client IP."""

from __future__ import annotations

import logging
import uuid
from functools import lru_cache
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from redis.exceptions import RedisError

from confide.access.dependencies import ThreadReader, ThreadSharer, public_route
from confide.audit.service import Origin
from confide.db.engine import SessionDep
from confide.error_handlers import unavailable_part
from confide.links.schemas import LinkCreate, LinkCreated, LinkOut, SharedMessage, SharedThread
from confide.links.service import LinkService
from confide.pagination import (
    DEFAULT_LIMIT,
    CursorParam,
    InvalidCursor,
    LimitParam,
    Page,
    after_time_and_id,
    decode_cursor,
    encode_cursor,
    next_time_and_id,
)
from confide.ratelimit.budgets import parse_budget
from confide.ratelimit.clients import client_group
from confide.ratelimit.errors import RateLimited
from confide.ratelimit.headers import record, record_refusal
from confide.ratelimit.service import IpBudget, RateLimits

log = logging.getLogger("confide.links")

router = APIRouter(prefix="/api/threads", tags=["links"])
shared_router = APIRouter(prefix="/api/shared", tags=["links"])

# What a shared page's answers add (the API's Cache-Control: no-store and Referrer-Policy:
# no-referrer are on every API answer already): search engines keep nothing of it.
NOINDEX = {"X-Robots-Tag": "noindex, nofollow"}
TokenParam = Annotated[str, Path(min_length=1, max_length=128)]


async def link_service(request: Request, db: SessionDep) -> LinkService:
    state = request.app.state
    agents = state.agents.agents

    def agent_name(agent_id: str) -> str | None:
        agent = agents.get(agent_id)
        return None if agent is None else str(agent.name)

    return LinkService(
        db,
        vault=state.vault,
        enabled=state.settings.share_links,
        agent_name=agent_name,
        origin=Origin.of(request),
    )


Links = Annotated[LinkService, Depends(link_service)]


@lru_cache(maxsize=8)
def _budget(limit: str) -> IpBudget:
    return IpBudget(name="shared", item=parse_budget(limit), what="shared conversation views")


async def _count_view(request: Request) -> None:
    """One view of a shared link against the client IP's budget (429 `rate_limited` past it).
    The budget is about fair use (a token has 256 bits: nothing to guess), so, like the
    per-user budgets, a Redis outage lets views through uncounted."""
    limits: RateLimits = request.app.state.rate_limits
    state = request.scope.setdefault("state", {})
    client = request.client
    budget = _budget(request.app.state.settings.rate_limit_shared_per_ip)
    try:
        record(state, await limits.ip(budget, client_group(client.host if client else None)))
    except RateLimited as refused:
        record_refusal(state, refused)
        raise
    except RedisError as exc:
        if unavailable_part(exc) is None:
            raise
        log.warning("rate-limit storage unavailable: view not counted")


ViewBudget = Annotated[None, Depends(_count_view)]


def _after_seq(cursor: str | None) -> int | None:
    if not cursor:
        return None
    (seq,) = decode_cursor(cursor, length=1)
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise InvalidCursor
    return seq


@router.post(
    "/{thread_id}/links",
    status_code=201,
    response_model=LinkCreated,
    responses={403: {"description": "`share_links_disabled`, `read_only`"}},
)
async def create_link(
    thread_id: uuid.UUID, body: LinkCreate, principal: ThreadSharer, links: Links
) -> LinkCreated:
    """A public, read-only link to the conversation the thread shows now (its owner only).
    Messages added later never appear in it. The token is in this answer only."""
    return await links.create(principal, thread_id, body)


# As with shares: a role that loses `threads:share` can still see and take back its links.
@router.get("/{thread_id}/links", response_model=Page[LinkOut])
async def list_links(
    thread_id: uuid.UUID,
    principal: ThreadReader,
    links: Links,
    cursor: CursorParam = None,
    limit: LimitParam = DEFAULT_LIMIT,
) -> Page[LinkOut]:
    """The thread's share links, newest first, without their tokens (its owner only)."""
    items = await links.links(
        principal, thread_id, after=after_time_and_id(cursor), limit=limit + 1
    )
    return Page[LinkOut](items=items[:limit], next_cursor=next_time_and_id(items, limit))


@router.delete("/{thread_id}/links/{link_id}", status_code=204, response_class=Response)
async def revoke_link(
    thread_id: uuid.UUID, link_id: uuid.UUID, principal: ThreadReader, links: Links
) -> Response:
    """Revoke a share link: it answers 404 from the very next request (its owner only)."""
    await links.revoke(principal, thread_id, link_id)
    return Response(status_code=204)


@shared_router.get(
    "/{token}",
    response_model=SharedThread,
    responses={404: {"description": "`link_not_found`"}, 429: {"description": "`rate_limited`"}},
)
@public_route
async def shared_thread(
    token: TokenParam,
    response: Response,
    links: Links,
    _budget: ViewBudget,
    limit: LimitParam = DEFAULT_LIMIT,
) -> SharedThread:
    """A shared conversation, as it was when the link was made: its title, agent, the
    display name its owner chose, and its first page of messages. No account needed; a
    missing, revoked or expired link is a 404 `link_not_found`."""
    response.headers.update(NOINDEX)
    return await links.shared(token, after_seq=None, limit=limit)


@shared_router.get(
    "/{token}/messages",
    response_model=Page[SharedMessage],
    responses={404: {"description": "`link_not_found`"}, 429: {"description": "`rate_limited`"}},
)
@public_route
async def shared_messages(
    token: TokenParam,
    response: Response,
    links: Links,
    _budget: ViewBudget,
    cursor: CursorParam = None,
    limit: LimitParam = DEFAULT_LIMIT,
) -> Page[SharedMessage]:
    """The next page of a shared conversation's messages (from `next_cursor`)."""
    response.headers.update(NOINDEX)
    items, next_seq = await links.shared_messages(token, after_seq=_after_seq(cursor), limit=limit)
    return Page[SharedMessage](
        items=items, next_cursor=None if next_seq is None else encode_cursor([next_seq])
    )
