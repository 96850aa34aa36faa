"""`/api/ws`: the same run events over a WebSocket, for clients that prefer one connection.

Authenticated like any request of the session: the browser's access cookie (with a same-origin
check, so another site cannot open it with the user's cookies) or a single-use ticket from
`POST /api/auth/ws-ticket` for bearer clients. Client messages (JSON):
`{"type": "subscribe", "run_id": "...", "after": 0}` follows a run's events after an id;
`{"type": "send", "thread_id": "...", "content": "..."}` starts a run and follows it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from confide.auth.cache import Principal
from confide.auth.dependencies import (
    CrossSiteRequest,
    auth_context,
    check_same_origin,
    cookie_names,
    live_principal,
)
from confide.errors import ConfideError, NotAuthenticated
from confide.runs.channel import TERMINAL, Event
from confide.runs.service import RunService

router = APIRouter()

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403


async def _authenticate(websocket: WebSocket) -> Principal:
    ctx = auth_context(websocket)
    ticket = websocket.query_params.get("ticket")
    if ticket:
        user_id, session_id = ctx.tickets.redeem(ticket)
    else:
        token = websocket.cookies.get(cookie_names(ctx.settings.secure_cookies).access)
        if not token:
            raise NotAuthenticated
        claims = ctx.tokens.decode(token)
        user_id, session_id = claims.user_id, claims.session_id
    return await live_principal(websocket, ctx, session_id, user_id)


@router.websocket("/api/ws")
async def run_events_socket(websocket: WebSocket) -> None:
    ctx = auth_context(websocket)
    try:
        check_same_origin(websocket, ctx.settings)
    except CrossSiteRequest:
        await websocket.close(code=CLOSE_FORBIDDEN)
        return
    try:
        principal = await _authenticate(websocket)
    except ConfideError:
        await websocket.close(code=CLOSE_UNAUTHENTICATED)
        return
    await websocket.accept()
    runs: RunService = websocket.app.state.runs
    forwarding: set[asyncio.Task[None]] = set()
    send_lock = asyncio.Lock()

    async def send(message: dict[str, Any]) -> None:
        async with send_lock:
            await websocket.send_json(message)

    async def forward(events: AsyncIterator[Event]) -> None:
        async for event in events:
            await send({"id": event.id, "type": event.type, **event.data})
            if event.type in TERMINAL:
                return

    def follow(events: AsyncIterator[Event]) -> None:
        task = asyncio.create_task(forward(events))
        forwarding.add(task)
        task.add_done_callback(forwarding.discard)

    try:
        while True:
            message = await websocket.receive_json()
            try:
                # The session may have ended since the socket opened: check it on every message.
                principal = await live_principal(
                    websocket, ctx, principal.session_id, principal.user_id
                )
                await _handle(runs, principal, message, follow)
            except ConfideError as error:
                await send({"type": "error", "code": error.code, "detail": error.detail})
                if isinstance(error, NotAuthenticated):
                    await websocket.close(code=CLOSE_UNAUTHENTICATED)
                    return
    except (WebSocketDisconnect, ValueError):
        pass
    finally:
        for task in forwarding:
            task.cancel()


async def _handle(
    runs: RunService,
    principal: Principal,
    message: Any,
    follow: Any,
) -> None:
    kind = message.get("type") if isinstance(message, dict) else None
    if kind == "subscribe":
        run_id = _uuid(message.get("run_id"))
        after = message.get("after", 0)
        if not isinstance(after, int) or after < 0:
            raise ConfideError("`after` must be a non-negative integer.", code="bad_message")
        await runs.get(principal, run_id)
        channel = runs.live_channel(run_id)
        if channel is not None:
            follow(channel.follow(after))
        else:
            follow(_replay(await runs.events(principal, run_id, after)))
    elif kind == "send":
        content = message.get("content")
        if not isinstance(content, str) or not 0 < len(content) <= 100_000:
            raise ConfideError("`content` must be 1 to 100,000 characters.", code="bad_message")
        started = await runs.send(principal, _uuid(message.get("thread_id")), content, stream=True)
        follow(started.channel.follow(0))
    else:
        raise ConfideError("Unknown message type.", code="bad_message")


async def _replay(events: list[Event]) -> AsyncIterator[Event]:
    for event in events:
        yield event


def _uuid(raw: Any) -> uuid.UUID:
    try:
        return uuid.UUID(str(raw))
    except ValueError:
        raise ConfideError("Not a valid id.", code="bad_message") from None
