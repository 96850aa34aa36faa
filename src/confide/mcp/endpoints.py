"""HTTP routes: the MCP servers for admins, and each user's connections to them."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Annotated, TypeVar
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import RedirectResponse

from confide.access.dependencies import require
from confide.access.permissions import MCP_READ
from confide.account.endpoints import base_url
from confide.auth.cache import Principal
from confide.auth.dependencies import CurrentPrincipal
from confide.db.engine import SessionDep
from confide.errors import ConfideError
from confide.mcp.manager import McpManager
from confide.mcp.schemas import ConnectionOut, McpServerOut, OAuthStart, TokenIn
from confide.mcp.service import Connections, servers_out
from confide.pagination import (
    DEFAULT_LIMIT,
    CursorParam,
    InvalidCursor,
    LimitParam,
    Page,
    decode_cursor,
    encode_cursor,
)
from confide.storage.codec import Vault

T = TypeVar("T")

admin_router = APIRouter(prefix="/api/admin/mcp", tags=["mcp"])
router = APIRouter(prefix="/api/me/connections", tags=["mcp"])
SETTINGS_PAGE = "/settings/connections"
McpReader = Annotated[Principal, Depends(require(MCP_READ))]


async def connections(request: Request, principal: CurrentPrincipal, db: SessionDep) -> Connections:
    vault: Vault = request.app.state.vault
    return Connections(
        db,
        codec=await vault.codec(db, principal.user_id),
        principal=principal,
        agents=request.app.state.agents,
        environ=os.environ,
    )


ConnectionsDep = Annotated[Connections, Depends(connections)]


@admin_router.get("", response_model=Page[McpServerOut])
async def list_servers(
    request: Request, _: McpReader, cursor: CursorParam = None, limit: LimitParam = DEFAULT_LIMIT
) -> Page[McpServerOut]:
    """Every MCP server of the agents file, in its order: its state, last error and tools (as this
    process sees them)."""
    manager: McpManager = request.app.state.mcp
    return _page(servers_out(manager), lambda server: server.id, cursor, limit)


@router.get("", response_model=Page[ConnectionOut])
async def list_connections(
    service: ConnectionsDep, cursor: CursorParam = None, limit: LimitParam = DEFAULT_LIMIT
) -> Page[ConnectionOut]:
    """The servers that want the caller's own account, on agents the caller may use."""
    return _page(await service.list(), lambda item: item.server_id, cursor, limit)


def _page(items: list[T], key: Callable[[T], str], cursor: str | None, limit: int) -> Page[T]:
    """A page of a list the agents file bounds, in the file's order, after the cursor's item."""
    start = 0
    if cursor is not None:
        (after,) = decode_cursor(cursor, length=1)
        keys = [key(item) for item in items]
        if after not in keys:
            raise InvalidCursor
        start = keys.index(after) + 1
    page = items[start : start + limit]
    more = len(items) > start + limit
    return Page(items=page, next_cursor=encode_cursor([key(page[-1])]) if more else None)


@router.put(
    "/{server_id}",
    status_code=204,
    response_class=Response,
    responses={404: {"description": "`mcp_server_not_found`"}},
)
async def put_token(
    server_id: str, body: TokenIn, request: Request, service: ConnectionsDep
) -> Response:
    """Connect with a token (sealed, sent only to that server, never shown again)."""
    await service.put_token(server_id, body.token)
    manager: McpManager = request.app.state.mcp
    manager.learn_tools(server_id, body.token.strip())
    return Response(status_code=204)


@router.delete(
    "/{server_id}",
    status_code=204,
    response_class=Response,
    responses={404: {"description": "`mcp_server_not_found`"}},
)
async def delete_connection(server_id: str, service: ConnectionsDep) -> Response:
    """Forget the caller's credentials for the server."""
    await service.delete(server_id)
    return Response(status_code=204)


@router.post(
    "/{server_id}/oauth",
    response_model=OAuthStart,
    responses={
        400: {"description": "`oauth_not_offered`: the server takes a pasted token"},
        404: {"description": "`mcp_server_not_found`"},
    },
)
async def start_oauth(server_id: str, request: Request, service: ConnectionsDep) -> OAuthStart:
    """Begin connecting with OAuth 2.1 (PKCE, S256): open `authorize_url` in the browser; the
    server sends it back to the callback below."""
    return OAuthStart(
        authorize_url=await service.oauth_start(server_id, base_url=base_url(request))
    )


@router.get(
    "/{server_id}/oauth/callback",
    status_code=303,
    response_class=RedirectResponse,
    responses={303: {"description": f"To `{SETTINGS_PAGE}?connected=<id>` or `?error=<code>`"}},
)
async def oauth_callback(
    server_id: str,
    request: Request,
    service: ConnectionsDep,
    code: Annotated[str | None, Query(max_length=4000)] = None,
    state: Annotated[str | None, Query(max_length=512)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
) -> RedirectResponse:
    """Where the OAuth server sends the browser back: the code is exchanged for the caller's
    tokens, and the browser goes on to the Connections page, which says how it went."""
    if error is not None or code is None or state is None:
        return RedirectResponse(f"{SETTINGS_PAGE}?error=oauth_denied", status_code=303)
    try:
        token = await service.oauth_finish(server_id, code=code, state=state)
    except ConfideError as exc:  # the state stays spent (committed with the redirect)
        return RedirectResponse(f"{SETTINGS_PAGE}?error={exc.code}", status_code=303)
    manager: McpManager = request.app.state.mcp
    manager.learn_tools(server_id, token)
    return RedirectResponse(f"{SETTINGS_PAGE}?connected={quote(server_id)}", status_code=303)
