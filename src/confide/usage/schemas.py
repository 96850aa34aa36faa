"""Response body of /api/me/usage."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

Period = Literal["day", "month"]


class UsageTotals(BaseModel):
    input_tokens: int = Field(description="Prompt tokens, as the providers counted them.")
    output_tokens: int = Field(description="Answer tokens, as the providers counted them.")
    messages: int = Field(description="Model answers (assistant messages).")
    runs: int = Field(description="Turns: runs started (sent, edited, regenerated, continued).")
    tool_calls: int = Field(description="Tool messages (calls made, denied or cut short).")
    model_ms: float = Field(description="Time spent waiting for the models, in ms.")


class UsageBucket(UsageTotals):
    """One day (`period=day`) or one month (`period=month`), in the caller's time zone."""

    start: datetime = Field(description="The bucket's first instant, local midnight.")


class AgentUsage(UsageTotals):
    agent_id: str


class UsageSummary(UsageTotals):
    """The caller's own usage over a period: totals, by agent and by day or month.

    A run counts when it started (a turn that crosses midnight counts on its first day)."""

    period: Period
    tz: str = Field(description="The time zone the buckets are cut in (IANA name).")
    since: datetime = Field(description="The first bucket's start (inclusive).")
    until: datetime = Field(description="Now: the end of the last bucket read (exclusive).")
    by_agent: list[AgentUsage] = Field(description="Per agent, most output tokens first.")
    buckets: list[UsageBucket] = Field(
        description="Oldest first, every one of the period, empty ones too: `day` the last "
        "30 days (today included), `month` the last 12 months (this one included)."
    )
