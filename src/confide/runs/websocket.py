"""`/api/ws`: the same run events over a WebSocket, for clients that prefer one connection.

Authenticated like any request of the session: the browser's access cookie (with a same-origin
check, so another site cannot open it with the user's cookies) or a single-use ticket from
`POST /api/auth/ws-ticket` for bearer clients. Client messages (`WsClientMessage` in
`runs/schemas.py`, JSON): `{"type": "subscribe", "run_id": "...", "after": 0}` follows a run's
events after an id; `{"type": "send", "thread_id": "...", "content": "..."}` starts a run and
follows it. The server sends `RunEvent`s (the same JSON as SSE `data:`), and a `WsError` for a
message it refuses (validated as HTTP validates the same input, with the same codes).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import ValidationError

from confide.access.dependencies import PendingApproval, PermissionDenied, authenticated_route
from confide.access.permissions import THREADS_READ, THREADS_WRITE
from confide.audit.service import Origin
from confide.auth.cache import Principal
from confide.auth.dependencies import (
    CrossSiteRequest,
    auth_context,
    check_same_origin,
    cookie_names,
    live_principal,
)
from confide.error_handlers import validation_problem
from confide.errors import ConfideError, NotAuthenticated
from confide.ratelimit.dependencies import count_websocket_run
from confide.runs.events import EventBase, WsError, ends_stream
from confide.runs.schemas import WS_CLIENT_ADAPTER, WsSend, WsSubscribe
from confide.runs.service import RunService

router = APIRouter()

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403


async def _authenticate(websocket: WebSocket) -> Principal:
    ctx = auth_context(websocket)
    ticket = websocket.query_params.get("ticket")
    if ticket:
        user_id, session_id = await ctx.tickets.redeem(ticket)
    else:
        token = websocket.cookies.get(cookie_names(ctx.settings.secure_cookies).access)
        if not token:
            raise NotAuthenticated
        claims = ctx.tokens.decode(token)
        user_id, session_id = claims.user_id, claims.session_id
    return await live_principal(websocket, ctx, session_id, user_id)


@router.websocket("/api/ws")
@authenticated_route  # by its ticket or cookie; each message needs its permission (_handle)
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

    async def send(text: str) -> None:
        async with send_lock:
            await websocket.send_text(text)

    async def forward(events: AsyncIterator[EventBase]) -> None:
        async for event in events:
            await send(event.model_dump_json())
            if ends_stream(event):
                return

    def follow(events: AsyncIterator[EventBase]) -> None:
        task = asyncio.create_task(forward(events))
        forwarding.add(task)
        task.add_done_callback(forwarding.discard)

    try:
        while True:
            raw = await websocket.receive_text()
            try:
                message = _parse(raw)
                # The session may have ended since the socket opened: check it on every message.
                principal = await live_principal(
                    websocket, ctx, principal.session_id, principal.user_id
                )
                follow(await _handle(websocket, runs, principal, message, Origin.of(websocket)))
            except _Refused as refused:
                await send(refused.error.model_dump_json(exclude_none=True))
            except ConfideError as error:
                frame = WsError(
                    code=error.code, detail=error.detail, retry_after=error.extra.get("retry_after")
                )
                await send(frame.model_dump_json(exclude_none=True))
                if isinstance(error, NotAuthenticated):
                    await websocket.close(code=CLOSE_UNAUTHENTICATED)
                    return
    except WebSocketDisconnect:
        pass
    finally:
        for task in forwarding:
            task.cancel()


class _Refused(Exception):
    def __init__(self, error: WsError) -> None:
        self.error = error


def _parse(raw: str) -> WsSubscribe | WsSend:
    """The client's message, validated as HTTP validates the same input (`runs/schemas.py`),
    and refused in the same words."""
    try:
        return WS_CLIENT_ADAPTER.validate_json(raw)
    except ValidationError as exc:
        problem = validation_problem(exc.errors(include_url=False, include_input=False))
        raise _Refused(
            WsError(code=problem.code, detail=problem.detail, errors=problem.errors or None)
        ) from None


async def _handle(
    websocket: WebSocket,
    runs: RunService,
    principal: Principal,
    message: WsSubscribe | WsSend,
    origin: Origin,
) -> AsyncIterator[EventBase]:
    needed = THREADS_READ if isinstance(message, WsSubscribe) else THREADS_WRITE
    if needed not in principal.permissions:
        raise PendingApproval if principal.status == "pending" else PermissionDenied
    if isinstance(message, WsSubscribe):
        return await runs.follow(principal, message.run_id, message.after, origin=origin)
    await count_websocket_run(websocket, principal)
    launched = await runs.start(
        principal,
        message.thread_id,
        message.content,
        parent_id=message.parent_id,
        file_ids=message.file_ids,
    )
    return runs.events(launched)
