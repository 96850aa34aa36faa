"""`MessageLog.recent`: the newest messages that fit a token budget, starting at a user turn."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from confide.threads.models import Thread
from confide.threads.service import MessageLog, NewMessage, ThreadService, estimate_tokens
from tests.conftest import client_for
from tests.factories import signed_up


def turn(number: int, size: int) -> list[NewMessage]:
    call_id = f"call_{number}"
    calls = [{"id": call_id, "type": "function", "function": {"name": "add", "arguments": "{}"}}]
    return [
        NewMessage(role="user", content=f"question {number} " + "q" * size),
        NewMessage(role="assistant", tool_calls=calls),
        NewMessage(role="tool", content="3", tool_call_id=call_id, name="add"),
        NewMessage(role="assistant", content=f"answer {number} " + "a" * size),
    ]


async def thread_with(app: FastAPI, messages: list[NewMessage]) -> uuid.UUID:
    async with client_for(app) as client:
        _, headers = await signed_up(client)
        created = await client.post("/api/threads", json={}, headers=headers)
    thread_id = uuid.UUID(created.json()["id"])
    async with app.state.database.sessionmaker() as db:
        thread = await db.get(Thread, thread_id)
        assert thread is not None
        await ThreadService(db, vault=app.state.vault).append(thread, messages, run_id=None)
        await db.commit()
    return thread_id


async def window(app: FastAPI, thread_id: uuid.UUID, budget: int) -> list[dict[str, Any]]:
    async with app.state.database.connect() as conn:
        owner_id = await conn.scalar(select(Thread.owner_id).where(Thread.id == thread_id))
        return await MessageLog(app.state.vault).recent(
            conn, owner_id=owner_id, thread_id=thread_id, budget_tokens=budget
        )


def check(window: list[dict[str, Any]], budget: int) -> None:
    assert sum(estimate_tokens(m) for m in window) <= budget
    if window:
        assert window[0]["role"] == "user"
    calls = {c["id"] for m in window for c in m.get("tool_calls") or ()}
    answered = {m["tool_call_id"] for m in window if m["role"] == "tool"}
    assert calls == answered


async def test_everything_that_fits_is_sent_oldest_first(app: FastAPI) -> None:
    messages = [m for n in range(3) for m in turn(n, 10)]
    thread_id = await thread_with(app, messages)
    got = await window(app, thread_id, 10_000)
    assert [m["content"] for m in got] == [m.content for m in messages]
    assert got[2]["name"] == "add"


async def test_a_long_thread_is_cut_at_a_turn_and_read_no_further(app: FastAPI) -> None:
    messages = [m for n in range(300) for m in turn(n, 200)]  # 1,200 messages, several pages
    thread_id = await thread_with(app, messages)
    budget = 2_000
    got = await window(app, thread_id, budget)
    check(got, budget)
    assert got[-1]["content"].startswith("answer 299")
    assert 4 <= len(got) < 100


@pytest.mark.parametrize("budget", [0, 3, 60])
async def test_a_budget_too_small_for_a_turn_sends_no_partial_turn(
    app: FastAPI, budget: int
) -> None:
    thread_id = await thread_with(app, turn(0, 400))
    got = await window(app, thread_id, budget)
    check(got, budget)
    assert got == []


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    sizes=st.lists(st.integers(min_value=0, max_value=300), min_size=1, max_size=12),
    budget=st.integers(min_value=0, max_value=1_500),
)
async def test_any_window_keeps_the_rules(app: FastAPI, sizes: list[int], budget: int) -> None:
    messages = [m for n, size in enumerate(sizes) for m in turn(n, size)]
    thread_id = await thread_with(app, messages)
    check(await window(app, thread_id, budget), budget)
