"""HTTP route of /api/me/usage: parse, call the service, shape the summary."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from confide.access.dependencies import ThreadReader
from confide.db.engine import SessionDep
from confide.usage.schemas import Period, UsageSummary
from confide.usage.service import usage_summary

router = APIRouter(prefix="/api/me/usage", tags=["usage"])


@router.get("", response_model=UsageSummary)
async def my_usage(
    principal: ThreadReader,
    db: SessionDep,
    period: Annotated[
        Period, Query(description="`day`: the last 30 days by day; `month`: 12 months by month.")
    ] = "day",
    tz: Annotated[
        str, Query(max_length=64, description="IANA time zone the days are cut in.")
    ] = "UTC",
) -> UsageSummary:
    """The caller's own usage (their runs, in any thread): tokens, answers, runs, tool calls
    and model time, in total, per agent and per day or month."""
    return await usage_summary(db, user_id=principal.user_id, period=period, tz=tz)
