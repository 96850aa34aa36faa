"""Every query of the runs feature (the `runs` and `run_events` tables).

Statements of a turn's hot path are built once, at import: a statement's construction and
cache key cost more than SQLite takes to run it. Each function takes the connection (or
session) it runs on; none commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from confide.runs.events import TERMINAL
from confide.runs.models import IS_RUNNING, RUNNING, Run, RunEvent
from confide.threads.repository import Executor

_INSERT_RUN = insert(Run)
_INSERT_EVENTS = insert(RunEvent)
_END_RUN = (
    update(Run)
    .where(Run.id == bindparam("b_run"), Run.status == RUNNING)
    .values(
        status=bindparam("b_status"),
        error_code=bindparam("b_code"),
        error=bindparam("b_error"),
        error_detail=bindparam("b_detail"),
        finished_at=bindparam("b_now"),
    )
)
_RUN_COLUMNS = (
    Run.id,
    Run.thread_id,
    Run.user_id,
    Run.agent_id,
    Run.model,
    Run.status,
    Run.error_code,
    Run.error,
    Run.error_detail,
    Run.created_at,
    Run.finished_at,
)
_OWNED_RUN = select(*_RUN_COLUMNS).where(
    Run.id == bindparam("b_run"), Run.user_id == bindparam("b_user")
)
_RUN = select(*_RUN_COLUMNS).where(Run.id == bindparam("b_run"))
_EVENTS_AFTER = (
    select(RunEvent.seq, RunEvent.type, RunEvent.data)
    .where(RunEvent.run_id == bindparam("b_run"), RunEvent.seq > bindparam("b_after"))
    .order_by(RunEvent.seq)
)
_FINAL_EVENT = (
    select(RunEvent.seq, RunEvent.type, RunEvent.data)
    .where(RunEvent.run_id == bindparam("b_run"), RunEvent.type.in_(sorted(TERMINAL)))
    .order_by(RunEvent.seq.desc())
    .limit(1)
)
_LAST_EVENT_SEQ = select(func.max(RunEvent.seq)).where(RunEvent.run_id == bindparam("b_run"))


class ThreadBusy(Exception):
    """The thread already has a run in progress (the partial unique index said so)."""


async def insert_run(db: Executor, values: dict[str, Any]) -> None:
    """Raises ThreadBusy when the thread has a run in progress."""
    try:
        await db.execute(_INSERT_RUN, values)
    except IntegrityError:
        raise ThreadBusy from None


async def end_run(
    db: Executor,
    *,
    run_id: uuid.UUID,
    status: str,
    code: str | None,
    error: str | None,
    detail: str | None,
    now: datetime,
) -> bool:
    """Record a run's outcome if it is still running; False if it had already ended."""
    result = await db.execute(
        _END_RUN,
        {
            "b_run": run_id,
            "b_status": status,
            "b_code": code,
            "b_error": error,
            "b_detail": detail,
            "b_now": now,
        },
    )
    return bool(getattr(result, "rowcount", 0))


async def get_run(db: Executor, run_id: uuid.UUID, *, user_id: uuid.UUID | None) -> Any:
    """A run's row; with `user_id`, only if it is that user's."""
    if user_id is None:
        return (await db.execute(_RUN, {"b_run": run_id})).one_or_none()
    return (await db.execute(_OWNED_RUN, {"b_run": run_id, "b_user": user_id})).one_or_none()


async def running_run_ids(db: Executor) -> list[uuid.UUID]:
    return list((await db.execute(select(Run.id).where(IS_RUNNING))).scalars())


async def insert_events(db: Executor, rows: list[dict[str, Any]]) -> None:
    if rows:
        await db.execute(_INSERT_EVENTS, rows)


async def events_after(db: Executor, run_id: uuid.UUID, after: int) -> Sequence[Any]:
    """Stored events above an id, in order: (seq, type, data)."""
    return (await db.execute(_EVENTS_AFTER, {"b_run": run_id, "b_after": after})).all()


async def final_event(db: Executor, run_id: uuid.UUID) -> Any:
    return (await db.execute(_FINAL_EVENT, {"b_run": run_id})).one_or_none()


async def last_event_seq(db: Executor, run_id: uuid.UUID) -> int:
    return int((await db.execute(_LAST_EVENT_SEQ, {"b_run": run_id})).scalar_one_or_none() or 0)
