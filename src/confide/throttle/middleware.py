"""Refuse every request from an address an admin's block rule names (403 `ip_blocked`), HTTP
and WebSocket alike: pure ASGI, one in-process rule set (rules.py)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from confide.errors import PROBLEM_JSON, problem_body
from confide.logs import request_id_var
from confide.throttle.errors import IpBlocked
from confide.throttle.rules import IpRules

# RFC 6455 "policy violation", for a WebSocket refused before it is accepted.
CLOSE_POLICY_VIOLATION = 1008


class IpRulesMiddleware:
    def __init__(
        self, app: ASGIApp, *, rules: IpRules, clock: Callable[[], float] = time.time
    ) -> None:
        self.app = app
        self.rules = rules
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            client = scope.get("client")
            if client:
                rule_set = await self.rules.current()
                if rule_set.decision(client[0], self.clock()) == "block":
                    await self._refuse(scope, send)
                    return
        await self.app(scope, receive, send)

    @staticmethod
    async def _refuse(scope: Scope, send: Send) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": CLOSE_POLICY_VIOLATION})
            return
        error = IpBlocked()
        body = json.dumps(
            problem_body(
                status=error.status,
                code=error.code,
                title=error.title,
                detail=error.detail,
                instance=scope.get("path"),
                request_id=request_id_var.get(None),
            )
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": error.status,
                "headers": [
                    (b"content-type", PROBLEM_JSON.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"cache-control", b"no-store"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
