"""The per-user budgets where requests and runs meet them.

- `count_api_request`: every authenticated HTTP request (called by `current_principal`
  through `app.state.on_principal`, once the caller is known; once per request);
- `RunBudget`: the HTTP route that starts a run; `count_websocket_run`: the WebSocket's
  `send`. Both count the same three budgets (`RateLimits.run`), by channel.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.requests import HTTPConnection

from confide.access.dependencies import ThreadWriter
from confide.auth.cache import Principal
from confide.ratelimit.errors import RateLimited
from confide.ratelimit.headers import record, record_refusal
from confide.ratelimit.service import RateLimits

_API_COUNTED = "confide.rate_limit.api"


def rate_limits(connection: HTTPConnection) -> RateLimits:
    limits: RateLimits = connection.app.state.rate_limits
    return limits


async def count_api_request(request: Request, principal: Principal) -> None:
    """One request against the caller's API budget (429 `rate_limited` past it)."""
    state = request.scope.setdefault("state", {})
    if _API_COUNTED in state:  # a route resolving its caller twice counts once
        return
    state[_API_COUNTED] = True
    try:
        quota = await rate_limits(request).api(principal)
    except RateLimited as refused:
        record_refusal(state, refused)
        raise
    if quota is not None:
        record(state, quota)


async def _count_http_run(request: Request, principal: ThreadWriter) -> None:
    state = request.scope.setdefault("state", {})
    try:
        quota = await rate_limits(request).run(principal, "http")
    except RateLimited as refused:
        record_refusal(state, refused)
        raise
    if quota is not None:
        record(state, quota)


# On the route that starts a run over HTTP (after its permission check).
RunBudget = Annotated[None, Depends(_count_http_run)]


async def count_websocket_run(connection: HTTPConnection, principal: Principal) -> None:
    """A run started over the WebSocket (RateLimited becomes the socket's error frame)."""
    await rate_limits(connection).run(principal, "websocket")
