"""The per-user budgets where requests and runs meet them.

- `count_api_request`: every authenticated HTTP request (called by `current_principal`
  through `app.state.on_principal`, once the caller is known; once per request);
- `RunBudget`: the HTTP route that starts a run; `count_websocket_run`: the WebSocket's
  `send`. Both count the same three budgets (`RateLimits.run`), by channel. A route marked
  `@starts_run` has its request's API budget and its run budgets counted together when its
  caller is known (`RateLimits.api_and_run`: one round trip), before its permission check, as
  a run to a thread that does not exist counts already; `RunBudget` then counts nothing more.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from starlette.requests import HTTPConnection

from confide.access.dependencies import ThreadWriter
from confide.auth.cache import Principal
from confide.ratelimit.errors import RateLimited
from confide.ratelimit.headers import record, record_refusal
from confide.ratelimit.service import RateLimits

_API_COUNTED = "confide.rate_limit.api"
_RUN_COUNTED = "confide.rate_limit.run"
_STARTS_RUN = "__confide_starts_run__"

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def starts_run(endpoint: Endpoint) -> Endpoint:
    """Mark an HTTP route that starts a run (under its `@router.post`; it takes `RunBudget`
    too): its API and run budgets are counted in one call."""
    setattr(endpoint, _STARTS_RUN, True)
    return endpoint


def _starts_run(request: Request) -> bool:
    route = request.scope.get("route")
    return getattr(getattr(route, "endpoint", None), _STARTS_RUN, False) is True


def rate_limits(connection: HTTPConnection) -> RateLimits:
    limits: RateLimits = connection.app.state.rate_limits
    return limits


async def count_api_request(request: Request, principal: Principal) -> None:
    """One request against the caller's API budget (429 `rate_limited` past it)."""
    state = request.scope.setdefault("state", {})
    if _API_COUNTED in state:  # a route resolving its caller twice counts once
        return
    state[_API_COUNTED] = True
    limits = rate_limits(request)
    try:
        if _starts_run(request):
            state[_RUN_COUNTED] = True
            quota = await limits.api_and_run(principal, "http")
        else:
            quota = await limits.api(principal)
    except RateLimited as refused:
        record_refusal(state, refused)
        raise
    if quota is not None:
        record(state, quota)


async def _count_http_run(request: Request, principal: ThreadWriter) -> None:
    state = request.scope.setdefault("state", {})
    if _RUN_COUNTED in state:  # counted with the API request (`starts_run`)
        return
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
