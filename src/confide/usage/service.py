"""A user's usage summary: totals, per agent, and per local day or month. Never commits."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from confide.db.base import utcnow
from confide.errors import ValidationFailed
from confide.threads.repository import Executor
from confide.usage import repository
from confide.usage.repository import QUARTER_SECONDS
from confide.usage.schemas import AgentUsage, Period, UsageBucket, UsageSummary

DAYS = 30  # period=day: the last 30 days, today included
MONTHS = 12  # period=month: the last 12 months, this one included


class UnknownTimeZone(ValidationFailed):
    code = "unknown_timezone"
    title = "Unknown time zone"


def time_zone(name: str) -> ZoneInfo:
    """The IANA time zone of this name (422 `unknown_timezone` otherwise)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UnknownTimeZone(f"{name!r} is not an IANA time zone name.") from None


@dataclass(slots=True)
class _Sums:
    input_tokens: int = 0
    output_tokens: int = 0
    messages: int = 0
    runs: int = 0
    tool_calls: int = 0
    model_ms: float = 0.0

    def add(self, row: Any) -> None:
        """Add one group of `repository.usage_groups`."""
        self.input_tokens += int(row.input_tokens)
        self.output_tokens += int(row.output_tokens)
        self.messages += int(row.messages)
        self.runs += int(row.runs)
        self.tool_calls += int(row.tool_calls)
        self.model_ms += float(row.model_ms)

    def totals(self) -> dict[str, int | float]:
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "messages": self.messages,
            "runs": self.runs,
            "tool_calls": self.tool_calls,
            "model_ms": round(self.model_ms, 3),
        }


def bucket_starts(period: Period, *, now: datetime, zone: ZoneInfo) -> list[datetime]:
    """The local midnights each bucket of the period starts at, oldest first."""
    today = now.astimezone(zone).date()
    if period == "day":
        days = [today - timedelta(days=back) for back in range(DAYS - 1, -1, -1)]
    else:
        days = []
        year, month = today.year, today.month
        for _ in range(MONTHS):
            days.append(date(year, month, 1))
            year, month = (year, month - 1) if month > 1 else (year - 1, 12)
        days.reverse()
    return [datetime(d.year, d.month, d.day, tzinfo=zone) for d in days]


def _bucket_key(period: Period, local: date) -> date:
    return local if period == "day" else local.replace(day=1)


async def usage_summary(
    db: Executor,
    *,
    user_id: uuid.UUID,
    period: Period,
    tz: str,
    now: datetime | None = None,
) -> UsageSummary:
    """The user's own runs of the period (by `runs.user_id`: no one else's, whoever's thread),
    summed, per agent and per local day (`day`) or month (`month`)."""
    zone = time_zone(tz)
    until = now or utcnow()
    starts = bucket_starts(period, now=until, zone=zone)
    since = starts[0]
    groups = await repository.usage_groups(
        db, user_id=user_id, since=since.astimezone(UTC), until=until
    )
    total = _Sums()
    agents: dict[str, _Sums] = {}
    buckets = {start.date(): _Sums() for start in starts}
    for row in groups:
        total.add(row)
        agents.setdefault(row.agent_id, _Sums()).add(row)
        local = datetime.fromtimestamp(row.quarter * QUARTER_SECONDS, UTC).astimezone(zone)
        buckets[_bucket_key(period, local.date())].add(row)
    return UsageSummary(
        period=period,
        tz=tz,
        since=since,
        until=until,
        **total.totals(),
        by_agent=sorted(
            (AgentUsage(agent_id=agent, **sums.totals()) for agent, sums in agents.items()),
            key=lambda a: (-a.output_tokens, a.agent_id),
        ),
        buckets=[UsageBucket(start=start, **buckets[start.date()].totals()) for start in starts],
    )
