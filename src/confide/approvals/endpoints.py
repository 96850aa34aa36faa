"""HTTP routes of approvals: a run's, the caller's pending ones, and the answer."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from confide.access.dependencies import ThreadReader, ThreadWriter
from confide.approvals.schemas import ApprovalOut, ApprovalStatus, Decision
from confide.approvals.service import ApprovalService
from confide.audit.service import Origin
from confide.pagination import (
    DEFAULT_LIMIT,
    CursorParam,
    LimitParam,
    Page,
    after_time_and_id,
    next_time_and_id,
)
from confide.runs.endpoints import Runs

router = APIRouter(prefix="/api", tags=["approvals"])


async def approval_service(request: Request) -> ApprovalService:
    service: ApprovalService = request.app.state.approvals
    return service


Approvals = Annotated[ApprovalService, Depends(approval_service)]


@router.get("/runs/{run_id}/approvals", response_model=Page[ApprovalOut])
async def run_approvals(
    run_id: uuid.UUID,
    request: Request,
    principal: ThreadReader,
    runs: Runs,
    approvals: Approvals,
    cursor: CursorParam = None,
    limit: LimitParam = DEFAULT_LIMIT,
) -> Page[ApprovalOut]:
    """The approvals a run asked for, newest first (of the caller's thread, or of one shared
    with them)."""
    run = await runs.get(principal, run_id, origin=Origin.of(request))
    owner = await runs.store.row(run.id)
    rows = await approvals.listed(
        owner.user_id, run_id=run_id, after=after_time_and_id(cursor), limit=limit + 1
    )
    return Page(items=rows[:limit], next_cursor=next_time_and_id(rows, limit))


@router.post(
    "/runs/{run_id}/approvals/{approval_id}",
    response_model=ApprovalOut,
    responses={
        404: {"description": "No such approval on a run of the caller's (`approval_not_found`)"},
        409: {"description": "Already answered, here or on another channel (`approval_decided`)"},
        422: {"description": "The answer does not fit (`invalid_decision`)"},
    },
)
async def decide(
    run_id: uuid.UUID,
    approval_id: uuid.UUID,
    body: Decision,
    request: Request,
    principal: ThreadWriter,
    runs: Runs,
    approvals: Approvals,
) -> ApprovalOut:
    """Approve (optionally with edited `arguments`) or deny (with an optional `reason`) a
    tool call the run waits on; answer an `ask_user` question with `answer`. The run goes on
    once every approval it waits on is answered: follow `GET /api/runs/{run_id}/events`."""
    await runs.owned(principal, run_id)
    return await approvals.decide(
        user_id=principal.user_id,
        approval_id=approval_id,
        decision=body,
        channel="web",
        run_id=run_id,
        origin=Origin.of(request),
    )


@router.get("/me/approvals", response_model=Page[ApprovalOut])
async def my_approvals(
    principal: ThreadReader,
    approvals: Approvals,
    status: ApprovalStatus | None = None,
    thread_id: Annotated[uuid.UUID | None, Query()] = None,
    cursor: CursorParam = None,
    limit: LimitParam = DEFAULT_LIMIT,
) -> Page[ApprovalOut]:
    """The caller's approvals, newest first: `?status=pending` for those runs wait on."""
    rows = await approvals.listed(
        principal.user_id,
        status=status,
        thread_id=thread_id,
        after=after_time_and_id(cursor),
        limit=limit + 1,
    )
    return Page(items=rows[:limit], next_cursor=next_time_and_id(rows, limit))
