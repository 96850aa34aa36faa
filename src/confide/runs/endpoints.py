"""HTTP routes of runs: send a message (JSON or SSE), follow or replay events, cancel."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from confide.auth.dependencies import CurrentPrincipal
from confide.errors import PROBLEM_JSON, problem_body
from confide.logs import request_id_var
from confide.runs.channel import TERMINAL, Event
from confide.runs.models import Run, RunState
from confide.runs.service import RunService
from confide.threads.schemas import MessageOut

router = APIRouter(prefix="/api", tags=["runs"])

SSE = "text/event-stream"
FAILURE_STATUS = {"model_timeout": 504, "max_steps_exceeded": 502}


class SendMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content: str = Field(min_length=1, max_length=100_000)

    @field_validator("content")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a message cannot be blank")
        return value


class RunOut(BaseModel):
    id: uuid.UUID
    thread_id: uuid.UUID
    agent_id: str
    model: str
    status: Literal["running", "completed", "failed", "cancelled"]
    error_code: str | None
    error: str | None
    created_at: datetime
    finished_at: datetime | None


class RunResult(BaseModel):
    run: RunOut
    messages: list[MessageOut]


async def run_service(request: Request) -> RunService:
    service: RunService = request.app.state.runs
    return service


Runs = Annotated[RunService, Depends(run_service)]


def _run_out(run: Run | RunState) -> RunOut:
    return RunOut.model_validate(run, from_attributes=True)


@router.post(
    "/threads/{thread_id}/messages",
    response_model=RunResult,
    responses={
        200: {"content": {SSE: {"schema": {"type": "string"}}}},
        409: {"description": "A run is in progress on this thread (`run_in_progress`)"},
        502: {"description": "The model failed (`model_error`, `model_unreachable`)"},
        504: {"description": "The model timed out (`model_timeout`)"},
    },
)
async def send_message(
    thread_id: uuid.UUID,
    body: SendMessage,
    request: Request,
    principal: CurrentPrincipal,
    runs: Runs,
) -> Response:
    """Send a message: the agent answers, calling tools as it needs. With `Accept:
    text/event-stream` the answer streams as SSE events; otherwise it is returned whole."""
    stream = SSE in request.headers.get("accept", "")
    started = await runs.send(principal, thread_id, body.content, stream=stream)
    if stream:
        return _sse(started.channel.follow(0))
    async for _ in started.channel.follow(0):
        pass  # the run goes on even if this client leaves; here we wait for its end
    # A completed run is known here as stored; any other ending is read back.
    run: Run | RunState = started.run
    if run.status != "completed":
        run = await runs.get(principal, started.run.id)
    result = RunResult(run=_run_out(run), messages=[started.user_message, *started.new_messages])
    if run.status != "failed":
        return Response(result.model_dump_json(), media_type="application/json")
    status = FAILURE_STATUS.get(run.error_code or "", 502)
    return JSONResponse(
        problem_body(
            status=status,
            code=run.error_code or "run_failed",
            title="The run failed",
            detail=run.error,
            instance=request.url.path,
            request_id=request_id_var.get(),
            extra=result.model_dump(mode="json"),
        ),
        status_code=status,
        media_type=PROBLEM_JSON,
    )


@router.get("/runs/{run_id}", response_model=RunOut)
async def get_run(run_id: uuid.UUID, principal: CurrentPrincipal, runs: Runs) -> RunOut:
    """A run's status."""
    return _run_out(await runs.get(principal, run_id))


@router.get(
    "/runs/{run_id}/events", responses={200: {"content": {SSE: {"schema": {"type": "string"}}}}}
)
async def run_events(
    run_id: uuid.UUID,
    principal: CurrentPrincipal,
    runs: Runs,
    after: Annotated[int | None, Query(ge=0, description="Replay events after this id.")] = None,
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    """Replay a run's events after an id (`Last-Event-ID` or `?after=`), then follow it live
    if it is still running, so a client that lost its connection misses nothing."""
    start = after if after is not None else _event_id(last_event_id)
    await runs.get(principal, run_id)
    channel = runs.live_channel(run_id)
    if channel is not None:
        return _sse(channel.follow(start))
    stored = await runs.events(principal, run_id, start)

    async def replay() -> AsyncIterator[Event]:
        for event in stored:
            yield event

    return _sse(replay())


@router.post("/runs/{run_id}/cancel", response_model=RunOut)
async def cancel_run(run_id: uuid.UUID, principal: CurrentPrincipal, runs: Runs) -> RunOut:
    """Stop a run; tool calls it left open are answered as cancelled."""
    return _run_out(await runs.cancel(principal, run_id))


def _event_id(raw: str | None) -> int:
    if raw is None:
        return 0
    try:
        return max(int(raw.strip()), 0)
    except ValueError:
        return 0


def _sse(events: AsyncIterator[Event]) -> StreamingResponse:
    async def body() -> AsyncIterator[bytes]:
        async for event in events:
            yield _format(event)
            if event.type in TERMINAL:
                return

    return StreamingResponse(
        body(), media_type=SSE, headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )


def _format(event: Event) -> bytes:
    data: dict[str, Any] = {"id": event.id, "type": event.type, **event.data}
    payload = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return f"id: {event.id}\nevent: {event.type}\ndata: {payload}\n\n".encode()
