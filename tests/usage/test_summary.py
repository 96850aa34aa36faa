"""`GET /api/me/usage`: the caller's own runs summed, per agent and per local day or month."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from confide.runs.models import Run
from confide.threads.models import Thread
from confide.threads.schemas import MessageUsage, ToolOutcome
from confide.threads.service import NewMessage, ThreadService
from confide.usage.service import usage_summary
from tests.factories import assert_problem, signed_up

USAGE = "/api/me/usage"


async def send(http: httpx.AsyncClient, headers: dict[str, str], content: str) -> list[Any]:
    created = await http.post("/api/threads", json={}, headers=headers)
    assert created.status_code == 201, created.text
    sent = await http.post(
        f"/api/threads/{created.json()['id']}/messages",
        json={"content": content},
        headers=headers,
    )
    assert sent.status_code == 200, sent.text
    assert sent.json()["run"]["status"] == "completed"
    messages: list[Any] = sent.json()["messages"]
    return messages


def sums(messages: list[dict[str, Any]]) -> dict[str, int]:
    answers = [m for m in messages if m["role"] == "assistant"]
    return {
        "input_tokens": sum(m["usage"]["input_tokens"] for m in answers),
        "output_tokens": sum(m["usage"]["output_tokens"] for m in answers),
        "messages": len(answers),
        "tool_calls": sum(1 for m in messages if m["role"] == "tool"),
    }


async def test_the_summary_counts_the_callers_runs_only(client: httpx.AsyncClient) -> None:
    _, my_headers = await signed_up(client)
    _, other_headers = await signed_up(client)
    mine = [
        *await send(client, my_headers, "add 5 and 3"),
        *await send(client, my_headers, "hello"),
    ]
    theirs = await send(client, other_headers, "what is 6 * 7")
    expected = sums(mine)

    for period, count in (("day", 30), ("month", 12)):
        response = await client.get(USAGE, params={"period": period}, headers=my_headers)
        assert response.status_code == 200, response.text
        summary = response.json()
        assert summary["period"] == period
        assert summary["tz"] == "UTC"
        assert {key: summary[key] for key in expected} == expected
        assert summary["runs"] == 2
        assert summary["model_ms"] > 0
        assert [a["agent_id"] for a in summary["by_agent"]] == ["assistant"]
        assert summary["by_agent"][0]["output_tokens"] == expected["output_tokens"]
        buckets = summary["buckets"]
        assert len(buckets) == count
        *earlier, now = buckets
        assert {key: now[key] for key in expected} == expected  # all of it today
        assert all(b["runs"] == 0 and b["output_tokens"] == 0 for b in earlier)
        assert buckets[0]["start"] == summary["since"]

    other = (await client.get(USAGE, headers=other_headers)).json()
    assert {key: other[key] for key in expected} == sums(theirs)
    assert other["runs"] == 1


async def test_a_new_user_has_an_empty_summary(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    summary = (await client.get(USAGE, headers=headers)).json()
    assert (summary["runs"], summary["messages"], summary["output_tokens"]) == (0, 0, 0)
    assert summary["by_agent"] == []
    assert len(summary["buckets"]) == 30


async def test_bad_periods_and_time_zones_are_refused(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    response = await client.get(USAGE, params={"tz": "Mars/Olympus"}, headers=headers)
    assert_problem(response, 422, "unknown_timezone")
    response = await client.get(USAGE, params={"tz": "../../etc/passwd"}, headers=headers)
    assert_problem(response, 422, "unknown_timezone")
    response = await client.get(USAGE, params={"period": "year"}, headers=headers)
    assert_problem(response, 422, "validation_error")


async def test_signed_out_callers_are_refused(client: httpx.AsyncClient) -> None:
    assert (await client.get(USAGE)).status_code == 401


# Buckets by local time, on runs placed at known instants ------------------------------------

NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)


async def run_at(app: FastAPI, thread_id: str, user_id: str, at: datetime, tokens: int) -> None:
    """A run started at `at` whose one answer cost `tokens` output tokens (and one tool call)."""
    async with app.state.database.sessionmaker() as db:
        thread = await db.get(Thread, uuid.UUID(thread_id))
        assert thread is not None
        run = Run(
            id=uuid.uuid4(),
            thread_id=thread.id,
            user_id=uuid.UUID(user_id),
            agent_id="calculator",
            model="confide-scripted",
            status="completed",
            created_at=at,
        )
        db.add(run)
        await db.flush()
        call: dict[str, Any] = {
            "id": f"c{tokens}",
            "type": "function",
            "function": {"name": "add", "arguments": "{}"},
        }
        await ThreadService(db, vault=app.state.vault).append(
            thread,
            [
                NewMessage(role="user", content="add"),
                NewMessage(
                    role="assistant",
                    tool_calls=[call],
                    usage=MessageUsage(input_tokens=10, output_tokens=tokens, model_ms=2.5),
                ),
                NewMessage(
                    role="tool",
                    content="0",
                    tool_call_id=call["id"],
                    name="add",
                    tool=ToolOutcome(status="ok", duration_ms=0.5),
                ),
                NewMessage(
                    role="assistant",
                    content="done",
                    usage=MessageUsage(input_tokens=10, output_tokens=0, model_ms=2.5),
                ),
            ],
            run_id=run.id,
        )
        await db.commit()


async def summary_of(app: FastAPI, user_id: str, period: str, tz: str) -> Any:
    async with app.state.database.sessionmaker() as db:
        return await usage_summary(
            db,
            user_id=uuid.UUID(user_id),
            period=period,  # type: ignore[arg-type]
            tz=tz,
            now=NOW,
        )


def by_start(summary: Any) -> dict[str, int]:
    return {b.start.date().isoformat(): b.output_tokens for b in summary.buckets if b.output_tokens}


async def test_days_and_months_are_cut_in_the_callers_time_zone(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user, headers = await signed_up(client)
    created = await client.post("/api/threads", json={}, headers=headers)
    thread_id = created.json()["id"]
    for at, tokens in (
        (datetime(2026, 3, 10, 23, 30, tzinfo=UTC), 1),  # Kolkata (+05:30): 11 March, 05:00
        (datetime(2026, 3, 10, 18, 29, tzinfo=UTC), 2),  # Kolkata: 10 March, 23:59
        (datetime(2026, 2, 28, 20, 0, tzinfo=UTC), 4),  # Kolkata: 1 March, 01:30
        (NOW - timedelta(days=40), 8),  # out of the 30 days, in the 12 months
        (NOW - timedelta(days=400), 16),  # out of both
        (NOW + timedelta(minutes=1), 32),  # after `until`: not yet
    ):
        await run_at(app, thread_id, user["id"], at, tokens)

    utc_days = await summary_of(app, user["id"], "day", "UTC")
    assert by_start(utc_days) == {"2026-03-10": 1 + 2, "2026-02-28": 4}
    assert utc_days.since == datetime(2026, 2, 14, tzinfo=UTC)
    assert (utc_days.runs, utc_days.messages, utc_days.tool_calls) == (3, 6, 3)
    assert (utc_days.input_tokens, utc_days.output_tokens) == (60, 7)
    assert utc_days.model_ms == 15.0

    kolkata_days = await summary_of(app, user["id"], "day", "Asia/Kolkata")
    assert by_start(kolkata_days) == {"2026-03-11": 1, "2026-03-10": 2, "2026-03-01": 4}
    assert kolkata_days.buckets[-1].start.isoformat() == "2026-03-15T00:00:00+05:30"

    utc_months = await summary_of(app, user["id"], "month", "UTC")
    assert by_start(utc_months) == {"2026-03-01": 3, "2026-02-01": 4 + 8}
    assert utc_months.since == datetime(2025, 4, 1, tzinfo=UTC)
    kolkata_months = await summary_of(app, user["id"], "month", "Asia/Kolkata")
    assert by_start(kolkata_months) == {"2026-03-01": 3 + 4, "2026-02-01": 8}
