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

from sqlalchemy import bindparam, exists, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from confide.auth.models import User
from confide.runs.events import TERMINAL
from confide.runs.models import IS_ACTIVE, IS_RUNNING, RUNNING, WAITING, Run, RunEvent
from confide.threads.models import Message, ThreadShare
from confide.threads.repository import Executor

_INSERT_RUN = insert(Run)
_INSERT_EVENTS = insert(RunEvent)
_END_RUN = (
    update(Run)
    .where(Run.id == bindparam("b_run"), IS_ACTIVE)
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
    Run.worker_id,
    Run.lease_until,
    Run.parent_id,
)
_OWNED_RUN = select(*_RUN_COLUMNS).where(
    Run.id == bindparam("b_run"), Run.user_id == bindparam("b_user")
)
_RUN = select(*_RUN_COLUMNS).where(Run.id == bindparam("b_run"))
# The read paths: a run of the caller's own thread (its `user_id` is the thread's owner) or of
# one shared with them; with threads:read:any, any run. `shared` says whether it is shared.
_SHARED_RUN = exists().where(
    ThreadShare.thread_id == Run.thread_id, ThreadShare.user_id == bindparam("b_user")
)
_ANY_RUN = select(*_RUN_COLUMNS, _SHARED_RUN.label("shared")).where(Run.id == bindparam("b_run"))
_READABLE_RUN = _ANY_RUN.where(or_(Run.user_id == bindparam("b_user"), _SHARED_RUN))
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
# The fence of every write of a run: only the process holding it may write, and each write
# renews its lease.
_HOLD = (
    update(Run)
    .where(Run.id == bindparam("b_run"), IS_RUNNING, Run.worker_id == bindparam("b_worker"))
    .values(lease_until=bindparam("b_lease"))
)
# A write that changes nothing, to take the run's row (PostgreSQL) or the database's write lock
# (SQLite) before deciding how to close it: two closers never both see it running.
_LOCK_RUNNING = update(Run).where(Run.id == bindparam("b_run"), IS_ACTIVE).values(status=Run.status)
_LOCK_WAITING = (
    update(Run).where(Run.id == bindparam("b_run"), Run.status == WAITING).values(status=WAITING)
)
# A run pauses: no process holds it while it waits for its user.
_PAUSE = (
    update(Run)
    .where(Run.id == bindparam("b_run"), IS_RUNNING, Run.worker_id == bindparam("b_worker"))
    .values(status=WAITING, worker_id=None, lease_until=None)
)
# ...and goes on: queued again (`lease_until` is how long a process has to take it), or held at
# once by the process that will execute it.
_RESUME = (
    update(Run)
    .where(Run.id == bindparam("b_run"), Run.status == WAITING)
    .values(
        status=RUNNING,
        worker_id=bindparam("b_worker"),
        lease_until=bindparam("b_lease"),
        job_key=bindparam("b_key"),
    )
)
_CLAIM = (
    update(Run)
    .where(Run.id == bindparam("b_run"), IS_RUNNING, Run.worker_id.is_(None))
    .values(worker_id=bindparam("b_worker"), lease_until=bindparam("b_lease"))
    .returning(*_RUN_COLUMNS)
)
_RENEW = (
    update(Run)
    .where(IS_RUNNING, Run.worker_id == bindparam("b_worker"))
    .values(lease_until=bindparam("b_lease"))
)
_RUNNING = select(Run.id, Run.worker_id, Run.lease_until, Run.created_at, Run.job_key).where(
    IS_RUNNING
)


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


async def get_readable_run(
    db: Executor, run_id: uuid.UUID, *, user_id: uuid.UUID, any_run: bool
) -> Any:
    """A run's row and `shared` (its thread is shared with the user), if the user may read
    it: a run of their own thread or of one shared with them, or with `any_run` any."""
    stmt = _ANY_RUN if any_run else _READABLE_RUN
    return (await db.execute(stmt, {"b_run": run_id, "b_user": user_id})).one_or_none()


async def running_runs(db: Executor) -> Sequence[Any]:
    """Every run in progress: (id, worker_id, lease_until, created_at, job_key)."""
    return (await db.execute(_RUNNING)).all()


async def hold(db: Executor, run_id: uuid.UUID, *, worker_id: str, lease_until: datetime) -> bool:
    """Renew this process's lease on a run it executes; False if the run ended or is no
    longer this process's (another one closed it)."""
    result = await db.execute(
        _HOLD, {"b_run": run_id, "b_worker": worker_id, "b_lease": lease_until}
    )
    return bool(getattr(result, "rowcount", 0))


async def lock_running(db: Executor, run_id: uuid.UUID) -> bool:
    """Take the run for this transaction; False if it is not running."""
    result = await db.execute(_LOCK_RUNNING, {"b_run": run_id})
    return bool(getattr(result, "rowcount", 0))


async def lock_waiting(db: Executor, run_id: uuid.UUID) -> bool:
    """Take a waiting run's row for this transaction; False if it is not waiting."""
    result = await db.execute(_LOCK_WAITING, {"b_run": run_id})
    return bool(getattr(result, "rowcount", 0))


async def pause(db: Executor, run_id: uuid.UUID, *, worker_id: str) -> bool:
    result = await db.execute(_PAUSE, {"b_run": run_id, "b_worker": worker_id})
    return bool(getattr(result, "rowcount", 0))


async def resume(
    db: Executor,
    run_id: uuid.UUID,
    *,
    worker_id: str | None,
    lease_until: datetime,
    job_key: str,
) -> bool:
    result = await db.execute(
        _RESUME,
        {"b_run": run_id, "b_worker": worker_id, "b_lease": lease_until, "b_key": job_key},
    )
    return bool(getattr(result, "rowcount", 0))


async def claim(db: Executor, run_id: uuid.UUID, *, worker_id: str, lease_until: datetime) -> Any:
    """Take a queued run for this process: its row, or None when it is not both running and
    unclaimed."""
    result = await db.execute(
        _CLAIM, {"b_run": run_id, "b_worker": worker_id, "b_lease": lease_until}
    )
    return result.one_or_none()


async def renew(db: Executor, *, worker_id: str, lease_until: datetime) -> int:
    """Renew the lease of every run this process executes."""
    result = await db.execute(_RENEW, {"b_worker": worker_id, "b_lease": lease_until})
    return int(getattr(result, "rowcount", 0) or 0)


async def display_name(db: Executor, user_id: uuid.UUID) -> str | None:
    value = (await db.execute(select(User.display_name).where(User.id == user_id))).scalar()
    return None if value is None else str(value)


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


_ANSWERED_MESSAGE = select(Run.parent_id).where(Run.id == bindparam("b_run"))


async def answered_message(db: Executor, run_id: uuid.UUID) -> uuid.UUID | None:
    """The message a run answered (the user message for most runs), which a regenerated run
    answers again; None for a run from before branches that has none."""
    return (await db.execute(_ANSWERED_MESSAGE, {"b_run": run_id})).scalar_one_or_none()


async def last_answer(db: Executor, thread_id: uuid.UUID, run_id: uuid.UUID) -> uuid.UUID | None:
    """The run's last message if it is an answer in words (an assistant message without tool
    calls, cut short or not), which a continued run goes on from; None otherwise."""
    row = (
        await db.execute(
            select(Message.id, Message.role, Message.tool_calls)
            .where(Message.thread_id == thread_id, Message.run_id == run_id)
            .order_by(Message.seq.desc())
            .limit(1)
        )
    ).one_or_none()
    if row is None or row.role != "assistant" or row.tool_calls is not None:
        return None
    return uuid.UUID(str(row.id))
