"""HTTP route of /api/me/search: parse, call the service, shape the page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from confide.access.dependencies import ThreadReader
from confide.db.engine import SessionDep
from confide.pagination import (
    DEFAULT_LIMIT,
    CursorParam,
    InvalidCursor,
    LimitParam,
    Page,
    decode_cursor,
    encode_cursor,
)
from confide.search.schemas import SearchHit
from confide.search.service import SearchService
from confide.storage.codec import Vault

router = APIRouter(prefix="/api/me/search", tags=["search"])


async def search_service(request: Request, db: SessionDep) -> SearchService:
    vault: Vault = request.app.state.vault
    return SearchService(db, vault=vault)


Search = Annotated[SearchService, Depends(search_service)]


@router.get("", response_model=Page[SearchHit])
async def search(
    principal: ThreadReader,
    service: Search,
    q: Annotated[str, Query(min_length=1, max_length=200, description="Words to find.")],
    cursor: CursorParam = None,
    limit: LimitParam = DEFAULT_LIMIT,
) -> Page[SearchHit]:
    """Whole words in the caller's own threads (titles, their and the agents' messages),
    best first: most query words matched, then rarer words, then newest."""
    offset = 0
    if cursor:
        (offset,) = decode_cursor(cursor, length=1)
        if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
            raise InvalidCursor
    hits = await service.search(principal.user_id, q, offset=offset, limit=limit + 1)
    next_cursor = encode_cursor([offset + limit]) if len(hits) > limit else None
    return Page[SearchHit](items=hits[:limit], next_cursor=next_cursor)
