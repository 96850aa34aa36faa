"""HTTP adapters of `RunService`: send a message (JSON or SSE), follow or replay events, cancel.

Thin on purpose: input is parsed by `runs/schemas.py` (the WebSocket adapter uses the same
schemas), the service does the work, and these shape its answer.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from confide.access.dependencies import ThreadReader, ThreadWriter
from confide.audit.service import Origin
from confide.errors import PROBLEM_JSON, problem_body
from confide.http import access_log_fields
from confide.logs import request_id_var
from confide.ratelimit.dependencies import RunBudget, starts_run
from confide.runs.events import EventBase, ends_stream
from confide.runs.schemas import (
    EditMessage,
    EventId,
    Regenerate,
    RunOut,
    RunResult,
    SendMessage,
)
from confide.runs.service import Launched, RunService

router = APIRouter(prefix="/api", tags=["runs"])

SSE = "text/event-stream"
FAILURE_STATUS = {"model_timeout": 504, "max_steps_exceeded": 502}
EVENT_STREAM: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {SSE: {"schema": {"$ref": "#/components/schemas/RunEvent"}}},
        "description": "With `Accept: text/event-stream`: the run's events as SSE, each "
        "`data:` one `RunEvent` (its `id:` and `event:` lines repeat `id` and `type`).",
    }
}
# What every way of starting a run may answer besides the run itself.
RUN_ANSWERS: dict[int | str, dict[str, Any]] = {
    **EVENT_STREAM,
    409: {"description": "A run is in progress on this thread (`run_in_progress`)"},
    429: {"description": "Past a run budget (`rate_limited`; `Retry-After`)"},
    502: {"description": "The model failed (`model_error`, `model_unreachable`, ...)"},
    504: {"description": "The model timed out (`model_timeout`)"},
}


async def run_service(request: Request) -> RunService:
    service: RunService = request.app.state.runs
    return service


Runs = Annotated[RunService, Depends(run_service)]


@router.post("/threads/{thread_id}/messages", response_model=RunResult, responses=RUN_ANSWERS)
@starts_run
async def send_message(
    thread_id: uuid.UUID,
    body: SendMessage,
    request: Request,
    principal: ThreadWriter,
    runs: Runs,
    _budget: RunBudget,
) -> Response:
    """Send a message: the agent answers, calling tools as it needs. The message follows the
    end of the thread's active path, or `parent_id` (a new branch from there). With `Accept:
    text/event-stream` the answer streams as SSE events; otherwise it is returned whole."""
    launched = await runs.start(
        principal, thread_id, body.content, parent_id=body.parent_id, file_ids=body.file_ids
    )
    return await _answer(request, principal, runs, launched)


@router.post(
    "/threads/{thread_id}/messages/{message_id}/edit",
    response_model=RunResult,
    responses=RUN_ANSWERS,
)
@starts_run
async def edit_message(
    thread_id: uuid.UUID,
    message_id: uuid.UUID,
    body: EditMessage,
    request: Request,
    principal: ThreadWriter,
    runs: Runs,
    _budget: RunBudget,
) -> Response:
    """Edit a user message: its new version goes beside it (the old one and its answers
    stay, a branch away) and the agent answers it, as `POST .../messages` does."""
    launched = await runs.edit(
        principal, thread_id, message_id, body.content, file_ids=body.file_ids
    )
    return await _answer(request, principal, runs, launched)


@router.post("/runs/{run_id}/regenerate", response_model=RunResult, responses=RUN_ANSWERS)
@starts_run
async def regenerate_run(
    run_id: uuid.UUID,
    request: Request,
    principal: ThreadWriter,
    runs: Runs,
    _budget: RunBudget,
    body: Regenerate | None = None,
) -> Response:
    """Answer again the user message this run answered (optionally with another agent): the
    new answer goes beside the old one, which stays a branch away."""
    agent_id = body.agent_id if body is not None else None
    launched = await runs.regenerate(principal, run_id, agent_id=agent_id)
    return await _answer(request, principal, runs, launched)


@router.post("/runs/{run_id}/continue", response_model=RunResult, responses=RUN_ANSWERS)
@starts_run
async def continue_run(
    run_id: uuid.UUID,
    request: Request,
    principal: ThreadWriter,
    runs: Runs,
    _budget: RunBudget,
) -> Response:
    """Go on with the answer this run gave (one stopped midway, say): the model continues
    from where it ended, in a new message after it."""
    launched = await runs.continue_(principal, run_id)
    return await _answer(request, principal, runs, launched)


async def _answer(
    request: Request, principal: ThreadWriter, runs: RunService, launched: Launched
) -> Response:
    """A run just started, as SSE or (waited for) whole."""
    if SSE in request.headers.get("accept", ""):
        return _sse(request, runs.events(launched))
    result = await runs.result(principal, launched)
    run = result.run
    _log_outcome(request, run.id, run.status, run.error_code)
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
async def get_run(
    run_id: uuid.UUID, request: Request, principal: ThreadReader, runs: Runs
) -> RunOut:
    """A run's status (of the caller's thread, or of one shared with them)."""
    return await runs.get(principal, run_id, origin=Origin.of(request))


@router.get("/runs/{run_id}/events", responses=EVENT_STREAM)
async def run_events(
    run_id: uuid.UUID,
    request: Request,
    principal: ThreadReader,
    runs: Runs,
    after: Annotated[EventId | None, Query()] = None,
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    """Replay a run's events after an id (`Last-Event-ID` or `?after=`), then follow it live
    if it is still running, so a client that lost its connection misses nothing."""
    start = after if after is not None else _event_id(last_event_id)
    return _sse(request, await runs.follow(principal, run_id, start, origin=Origin.of(request)))


@router.post("/runs/{run_id}/cancel", response_model=RunOut)
async def cancel_run(run_id: uuid.UUID, principal: ThreadWriter, runs: Runs) -> RunOut:
    """Stop a run of the caller's own thread; the text streamed so far is kept (marked
    `interrupted`) and tool calls it left open are answered as cancelled."""
    return await runs.cancel(principal, run_id)


def _event_id(raw: str | None) -> int:
    if raw is None:
        return 0
    try:
        return max(int(raw.strip()), 0)
    except ValueError:
        return 0


def _log_outcome(request: Request, run_id: uuid.UUID, status: str, code: str | None) -> None:
    """The access line of this request says how its run ended, not just `200`."""
    fields = access_log_fields(request)
    fields.update(run_id=str(run_id), run_status=status)
    if code:
        fields["run_error"] = code


def _sse(request: Request, events: AsyncIterator[EventBase]) -> StreamingResponse:
    async def body() -> AsyncIterator[bytes]:
        async for event in events:
            yield format_sse(event)
            if ends_stream(event):
                code = getattr(event, "code", None)
                _log_outcome(request, event.run_id, event.type.removeprefix("run."), code)
                return

    return StreamingResponse(
        body(), media_type=SSE, headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )


def format_sse(event: EventBase) -> bytes:
    return f"id: {event.id}\nevent: {event.type}\ndata: {event.model_dump_json()}\n\n".encode()
