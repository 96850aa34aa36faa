"""The usage queries: a user's runs of a period, summed per quarter of an hour and agent.

Grouped in SQL, so a year of a busy user's messages is summed where it lies and only the
groups travel (at most one per run). Quarter hours, not days: the caller's time zone cuts the
days, and every time zone's offset from UTC is a whole number of quarter hours, so each group
falls in exactly one local day (service.py folds them). The quarter-hour number is dialect
SQL (SQLite's `strftime`, PostgreSQL's `extract`), compiled by SQLAlchemy's compiler hooks.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, case, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from confide.runs.models import Run
from confide.threads.models import Message
from confide.threads.repository import Executor

QUARTER_SECONDS = 900


class quarter_hour(FunctionElement[int]):
    """Quarters of an hour since 1970-01-01 UTC of a UTC timestamp column."""

    type = Integer()
    inherit_cache = True


@compiles(quarter_hour, "sqlite")
def _quarter_hour_sqlite(element: quarter_hour, compiler: SQLCompiler, **kw: Any) -> str:
    (column,) = element.clauses
    return f"(CAST(strftime('%s', {compiler.process(column, **kw)}) AS INTEGER) / 900)"


@compiles(quarter_hour, "postgresql")
def _quarter_hour_postgresql(element: quarter_hour, compiler: SQLCompiler, **kw: Any) -> str:
    (column,) = element.clauses
    return f"CAST(floor(extract(epoch FROM {compiler.process(column, **kw)}) / 900) AS INTEGER)"


def _count(role: str) -> Any:
    return func.coalesce(func.sum(case((Message.role == role, 1), else_=0)), 0)


async def usage_groups(
    db: Executor, *, user_id: uuid.UUID, since: datetime, until: datetime
) -> Sequence[Any]:
    """The user's runs started in [since, until), summed per (quarter hour, agent): rows of
    (quarter, agent_id, runs, messages, tool_calls, input_tokens, output_tokens, model_ms)."""
    quarter = quarter_hour(Run.created_at).label("quarter")
    stmt = (
        select(
            quarter,
            Run.agent_id,
            func.count(func.distinct(Run.id)).label("runs"),
            _count("assistant").label("messages"),
            _count("tool").label("tool_calls"),
            func.coalesce(func.sum(Message.input_tokens), 0).label("input_tokens"),
            func.coalesce(func.sum(Message.output_tokens), 0).label("output_tokens"),
            func.coalesce(func.sum(Message.model_ms), 0.0).label("model_ms"),
        )
        .select_from(Run)
        .outerjoin(Message, Message.run_id == Run.id)
        .where(Run.user_id == user_id, Run.created_at >= since, Run.created_at < until)
        .group_by(quarter, Run.agent_id)
    )
    return (await db.execute(stmt)).all()
