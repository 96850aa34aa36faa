"""Helpers for the queue tests: a route that queues messages, and waiting for the jobs."""

from __future__ import annotations

import asyncio
import uuid

from fastapi import APIRouter, FastAPI
from pydantic import BaseModel

from confide.db.engine import SessionDep
from confide.errors import Conflict
from confide.jobs.inprocess import InProcessQueue
from confide.notify.dependencies import NotificationsDep


class EmailIn(BaseModel):
    to: str
    subject: str
    text: str
    fail: bool = False


class SmsIn(BaseModel):
    to: str
    text: str
    fallback_email: str | None = None


def add_test_routes(app: FastAPI) -> None:
    """Routes that queue a message the way the account code does (in the request's
    transaction, through NotificationsDep); `fail` makes the request fail after queueing."""
    router = APIRouter()

    @router.post("/test/notify/email")
    async def email(body: EmailIn, session: SessionDep, notify: NotificationsDep) -> str:
        message_id = await notify.email(
            session, to=body.to, subject=body.subject, text=body.text, purpose="test"
        )
        if body.fail:
            raise Conflict("the request failed after queueing")
        return str(message_id)

    @router.post("/test/notify/sms")
    async def sms(body: SmsIn, session: SessionDep, notify: NotificationsDep) -> str:
        message_id = await notify.sms(
            session, to=body.to, text=body.text, purpose="mfa_code",
            fallback_email=body.fallback_email,
        )  # fmt: skip
        return str(message_id)

    app.include_router(router)


async def settle(app: FastAPI) -> None:
    """Wait until every enqueue and every job started so far (and those they start) is done."""
    jobs = app.state.jobs
    assert isinstance(jobs, InProcessQueue)
    for _ in range(20):
        await app.state.notify.drain()
        tasks = list(jobs.tasks.values())
        if not tasks:
            return
        await asyncio.gather(*tasks, return_exceptions=True)
    raise AssertionError("the jobs did not settle")


def as_uuid(response_text: str) -> uuid.UUID:
    return uuid.UUID(response_text.strip('"'))
