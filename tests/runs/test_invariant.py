"""The thread invariant checker (`invariant.py`) on good and broken sequences."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable

import pytest
from fastapi import FastAPI
from sqlalchemy import update

from confide.threads.models import Message, Thread
from confide.threads.service import NewMessage, ThreadService
from tests.conftest import client_for
from tests.factories import signed_up
from tests.invariant import Row, assert_threads_valid, thread_problems


def user(seq: int) -> Row:
    return Row(seq, "user")


def assistant(seq: int, *calls: str) -> Row:
    return Row(seq, "assistant", tool_call_ids=calls)


def tool(seq: int, call_id: str | None) -> Row:
    return Row(seq, "tool", tool_call_id=call_id)


def check(*rows: Row, message_count: int | None = None) -> list[str]:
    count = len(rows) if message_count is None else message_count
    return thread_problems(rows, message_count=count)


@pytest.mark.parametrize(
    "rows",
    [
        (),
        (user(1),),
        (user(1), assistant(2)),
        (user(1), assistant(2, "a"), tool(3, "a"), assistant(4)),
        # Several calls in one turn, answered in any order.
        (user(1), assistant(2, "a", "b"), tool(3, "b"), tool(4, "a"), assistant(5)),
        # A call turn straight after the results of another.
        (user(1), assistant(2, "a"), tool(3, "a"), assistant(4, "b"), tool(5, "b"), user(6)),
        # The same id may come back in a later turn once the earlier one is answered.
        (user(1), assistant(2, "a"), tool(3, "a"), user(4), assistant(5, "a"), tool(6, "a")),
        (Row(1, "system"), user(2), assistant(3)),
    ],
)
def test_valid_sequences_have_no_problems(rows: tuple[Row, ...]) -> None:
    assert check(*rows) == []


@pytest.mark.parametrize(
    ("rows", "problem"),
    [
        ((user(1), assistant(2, "a")), "never answered: ['a']"),
        ((user(1), assistant(2, "a", "b"), tool(3, "a")), "never answered: ['b']"),
        ((user(1), assistant(2, "a"), user(3)), "seq 3: user message before tool results ['a']"),
        (
            (user(1), assistant(2, "a"), assistant(3), tool(4, "a")),
            "seq 3: assistant message before tool results ['a']",
        ),
        ((user(1), tool(2, "a")), "seq 2: tool message for 'a' answers no open call"),
        (
            (user(1), assistant(2, "a"), tool(3, "a"), tool(4, "a")),
            "seq 4: tool message for 'a' answers no open call",
        ),
        (
            (user(1), assistant(2, "a"), tool(3, "z")),
            "seq 3: tool message for 'z' answers no open call",
        ),
        ((user(1), assistant(2, "a"), tool(3, None)), "tool message for None"),
        (
            (user(1), assistant(2, "a", "a"), tool(3, "a")),
            "seq 2: repeated tool_call ids ['a', 'a']",
        ),
        ((Row(1, "user", tool_call_ids=("a",)), tool(2, "a")), "tool_calls on a user message"),
        ((user(1), user(3)), "seq is not 1..2 without gaps: [1, 3]"),
        ((user(2), user(3)), "seq is not 1..2 without gaps: [2, 3]"),
        ((user(1), user(1)), "seq is not 1..2 without gaps: [1, 1]"),
    ],
)
def test_broken_sequences_are_reported(rows: tuple[Row, ...], problem: str) -> None:
    problems = check(*rows)
    assert any(problem in p for p in problems), problems


def test_a_wrong_message_count_is_reported() -> None:
    assert check(user(1), assistant(2), message_count=3) == [
        "message_count is 3 but the thread has 2 rows"
    ]


# Over a database -------------------------------------------------------------------------------


@pytest.fixture
async def bare_app(app_factory: Callable[..., FastAPI]) -> AsyncIterator[FastAPI]:
    # Not the `app` fixture: these tests leave broken threads behind on purpose.
    app = app_factory()
    yield app
    await app.state.database.dispose()


async def new_thread(app: FastAPI, *messages: NewMessage) -> uuid.UUID:
    async with client_for(app) as client:
        _, headers = await signed_up(client)
        response = await client.post("/api/threads", json={}, headers=headers)
        assert response.status_code == 201
        thread_id = uuid.UUID(response.json()["id"])
    async with app.state.database.sessionmaker() as db:
        thread = await db.get(Thread, thread_id)
        assert thread is not None
        await ThreadService(db, vault=app.state.vault).append(thread, list(messages), run_id=None)
        await db.commit()
    return thread_id


def call(call_id: str) -> dict[str, object]:
    return {"id": call_id, "type": "function", "function": {"name": "add", "arguments": "{}"}}


async def test_valid_threads_in_the_database_pass(bare_app: FastAPI) -> None:
    await new_thread(bare_app)
    await new_thread(
        bare_app,
        NewMessage(role="user", content="add 5 and 3"),
        NewMessage(role="assistant", tool_calls=[call("c1"), call("c2")]),
        NewMessage(role="tool", content="8", tool_call_id="c2", name="add"),
        NewMessage(role="tool", content="8", tool_call_id="c1", name="add"),
        NewMessage(role="assistant", content="8"),
    )
    await assert_threads_valid(bare_app)


async def test_an_unanswered_call_in_the_database_is_caught(bare_app: FastAPI) -> None:
    await new_thread(bare_app, NewMessage(role="user", content="fine"))
    broken = await new_thread(
        bare_app,
        NewMessage(role="user", content="add 5 and 3"),
        NewMessage(role="assistant", tool_calls=[call("c1"), call("c2")]),
        NewMessage(role="tool", content="8", tool_call_id="c1", name="add"),
        NewMessage(role="user", content="and?"),
    )
    with pytest.raises(AssertionError) as caught:
        await assert_threads_valid(bare_app)
    report = str(caught.value)
    assert f"thread {broken}: path to seq 4: seq 4: user message before tool results ['c2']" in (
        report
    )
    assert report.count("thread ") == 1  # the valid thread is not reported


async def test_gaps_and_counts_in_the_database_are_caught(bare_app: FastAPI) -> None:
    thread_id = await new_thread(
        bare_app, NewMessage(role="user", content="one"), NewMessage(role="assistant", content="2")
    )
    async with bare_app.state.database.sessionmaker() as db:
        db.add(Message(id=uuid.uuid4(), thread_id=thread_id, seq=5, role="user", content=None))
        await db.execute(update(Thread).where(Thread.id == thread_id).values(message_count=7))
        await db.commit()
    with pytest.raises(AssertionError) as caught:
        await assert_threads_valid(bare_app)
    assert "seq is not 1..3 without gaps: [1, 2, 5]" in str(caught.value)
    assert "message_count is 7 but the thread has 3 rows" in str(caught.value)
