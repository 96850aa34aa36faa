"""A pure-ASGI middleware: the per-IP budgets of the sign-in routes, and the headers.

The per-IP budgets are keyed by route path (`IP_ROUTES`), so a route counts from the moment it
exists, whichever feature adds it; only POSTs count (those routes take nothing else).
"""

from __future__ import annotations

import logging
from typing import Any

from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from confide.error_handlers import problem_response, unavailable_part
from confide.errors import ConfideError, Unavailable
from confide.ratelimit.clients import client_group
from confide.ratelimit.errors import RateLimited
from confide.ratelimit.headers import QUOTA_STATE, quota_headers, record, record_refusal
from confide.ratelimit.service import RateLimits

log = logging.getLogger("confide.ratelimit")


class RateLimitMiddleware:
    """Counts the per-IP budgets before the route; adds `RateLimit-*` to every response of a
    request that counted against a budget (recorded in its state by whatever counted it)."""

    def __init__(self, app: ASGIApp, *, limits: RateLimits) -> None:
        self.app = app
        self.limits = limits
        self.ip_routes = limits.ip_routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)  # nothing outside the API is limited
            return
        state: dict[str, Any] = scope.setdefault("state", {})

        async def send_with_quota(message: Message) -> None:
            if message["type"] == "http.response.start":
                quota = state.get(QUOTA_STATE)
                if quota is not None:
                    message["headers"] = [*message.get("headers", ()), *quota_headers(quota)]
            await send(message)

        budget = self.ip_routes.get(scope["path"])
        if budget is not None and scope["method"] == "POST":
            client = scope.get("client")
            group = client_group(client[0] if client else None)
            try:
                record(state, await self.limits.ip(budget, group))
            except RateLimited as refused:
                record_refusal(state, refused)
                await _problem(scope, refused)(scope, receive, send_with_quota)
                return
            except RedisError as exc:
                part = unavailable_part(exc)
                if part is None:
                    raise
                log.warning("%s is unavailable", part, extra={"path": scope["path"]})
                await _problem(scope, Unavailable(part))(scope, receive, send)
                return
        await self.app(scope, receive, send_with_quota)


def _problem(scope: Scope, error: ConfideError) -> Any:
    return problem_response(
        Request(scope),
        status=error.status,
        code=error.code,
        title=error.title,
        detail=error.detail,
        headers=error.headers,
        extra=error.extra,
    )
