"""Start-up and shutdown: runs a dead process left `running` are failed at the next start, and
runs in progress at shutdown are cancelled, each thread closed validly."""

from __future__ import annotations

import gc
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from confide.db.base import utcnow
from confide.runs.models import Run, RunEvent
from confide.runs.store import INTERRUPTED_TOOL_RESULT
from confide.threads.service import NewMessage
from tests.conftest import client_for
from tests.factories import signed_up
from tests.invariant import parse_sse, sse_events
from tests.runs.conftest import Gate, LeftRunning, open_call_turn

THREADS = "/api/threads"
RUNS = "/api/runs"


@asynccontextmanager
async def started(app: FastAPI) -> AsyncIterator[None]:
    """The app's start-up and shutdown, as a server runs them."""
    try:
        async with app.router.lifespan_context(app):
            yield
    finally:
        # The lifespan freezes every object alive for the server's lifetime; a test suite
        # goes on after it, and its garbage must stay collectable.
        gc.unfreeze()


async def new_thread(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    response = await client.post(THREADS, json={}, headers=headers)
    assert response.status_code == 201
    return str(response.json()["id"])


async def messages_of(
    client: httpx.AsyncClient, headers: dict[str, str], thread_id: str
) -> list[dict[str, Any]]:
    response = await client.get(f"{THREADS}/{thread_id}/messages", headers=headers)
    assert response.status_code == 200
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def run_of(client: httpx.AsyncClient, headers: dict[str, str], run_id: Any) -> Any:
    response = await client.get(f"{RUNS}/{run_id}", headers=headers)
    assert response.status_code == 200
    return response.json()


async def test_runs_left_running_are_failed_at_the_next_start(
    client: httpx.AsyncClient,
    left_running: LeftRunning,
    make_app: Callable[..., FastAPI],
) -> None:
    # The process that died: its database is the `app` fixture's.
    _, headers = await signed_up(client)
    in_tools = await new_thread(client, headers)
    in_model = await new_thread(client, headers)
    finished = await new_thread(client, headers)
    done = (
        await client.post(
            f"{THREADS}/{finished}/messages", json={"content": "hello"}, headers=headers
        )
    ).json()
    tools_run = await left_running(
        in_tools,
        *open_call_turn("call_a", "call_b"),
        NewMessage(role="tool", content="3", tool_call_id="call_a", name="add"),
    )
    model_run = await left_running(in_model, NewMessage(role="user", content="hi"))

    restarted = make_app()  # a new process on the same database
    async with started(restarted), client_for(restarted) as again:
        for run_id in (tools_run, model_run):
            run = await run_of(again, headers, run_id)
            assert run["status"] == "failed"
            assert run["error_code"] == "server_restarted"
            assert run["error"]
            assert run["finished_at"] is not None

        closed = await messages_of(again, headers, in_tools)
        assert [m["role"] for m in closed] == ["user", "assistant", "tool", "tool"]
        assert (closed[3]["tool_call_id"], closed[3]["name"]) == ("call_b", "add")
        assert closed[3]["content"] == INTERRUPTED_TOOL_RESULT
        assert closed[3]["run_id"] == str(tools_run)
        assert [m["role"] for m in await messages_of(again, headers, in_model)] == ["user"]

        # A run that had ended is left as it was, and the threads take new messages.
        assert await run_of(again, headers, done["run"]["id"]) == done["run"]
        assert await messages_of(again, headers, finished) == done["messages"]
        for thread_id in (in_tools, in_model):
            response = await again.post(
                f"{THREADS}/{thread_id}/messages", json={"content": "add 5 and 3"}, headers=headers
            )
            assert response.json()["run"]["status"] == "completed"


async def test_a_second_start_changes_nothing(
    client: httpx.AsyncClient, left_running: LeftRunning, make_app: Callable[..., FastAPI]
) -> None:
    _, headers = await signed_up(client)
    thread_id = await new_thread(client, headers)
    run_id = await left_running(thread_id, *open_call_turn("call_a"))
    first, second = make_app(), make_app()
    async with started(first), client_for(first) as c:
        after_first = (await run_of(c, headers, run_id), await messages_of(c, headers, thread_id))
    async with started(second), client_for(second) as c:
        after_second = (await run_of(c, headers, run_id), await messages_of(c, headers, thread_id))
    assert after_second == after_first
    assert len(after_first[1]) == 3


async def test_a_run_failed_at_start_ends_its_event_stream(
    client: httpx.AsyncClient,
    app: FastAPI,
    left_running: LeftRunning,
    make_app: Callable[..., FastAPI],
) -> None:
    user, headers = await signed_up(client)
    thread_id = await new_thread(client, headers)
    run_id = await left_running(thread_id, *open_call_turn("call_a"))
    async with app.state.database.sessionmaker() as db:  # what the dead process had recorded
        codec = await app.state.vault.codec(db, uuid.UUID(user["id"]))
        for seq, kind in enumerate(["run.started", "message.completed"], start=1):
            data = codec.encode(
                f'{{"run_id":"{run_id}"}}',
                table="run_events",
                column="data",
                row_id=f"{run_id}:{seq}",
            )
            db.add(RunEvent(run_id=run_id, seq=seq, type=kind, data=data, created_at=utcnow()))
        await db.commit()

    restarted = make_app()
    async with started(restarted), client_for(restarted) as again:
        response = await again.get(f"{RUNS}/{run_id}/events?after=2", headers=headers)
        events = parse_sse(response.text)
    assert [e["type"] for e in events] == ["tool.finished", "message.completed", "run.failed"]
    assert events[-1]["code"] == "server_restarted"


async def test_shutdown_cancels_runs_in_progress_and_closes_their_threads(
    app: FastAPI, live_client: httpx.AsyncClient, gate: Gate
) -> None:
    client = live_client
    async with started(app):
        _, headers = await signed_up(client)
        thread_id = await new_thread(client, headers)
        async with client.stream(
            "POST",
            f"{THREADS}/{thread_id}/messages",
            json={"content": "add 5 and 3"},
            headers={**headers, "Accept": "text/event-stream"},
        ) as response:
            async for event in sse_events(response):
                run_id = event["run_id"]
                break  # no request left in flight: the run goes on by itself
        await gate.wait_entered()
    # Shut down while the run was inside its tool call.
    run = await run_of(client, headers, run_id)
    assert (run["status"], run["error_code"]) == ("cancelled", "cancelled")
    stored = await messages_of(client, headers, thread_id)
    assert [m["role"] for m in stored] == ["user", "assistant", "tool"]
    assert stored[2]["content"] == INTERRUPTED_TOOL_RESULT
    events = await client.get(f"{RUNS}/{run_id}/events", headers=headers)
    assert [e["type"] for e in parse_sse(events.text)][-3:] == [
        "tool.finished",
        "message.completed",
        "run.cancelled",
    ]


async def test_a_run_of_this_process_that_no_task_runs_is_closed_once_a_lease_old(
    client: httpx.AsyncClient, app: FastAPI, left_running: LeftRunning
) -> None:
    # Its end could not be written (the database was away when it failed): the row says
    # this process holds it, but nothing here executes it. Its lease must not be renewed for
    # ever.
    _, headers = await signed_up(client)
    thread_id = await new_thread(client, headers)
    run_id = await left_running(thread_id, *open_call_turn("call_a"))
    runs = app.state.runs
    async with app.state.database.begin() as conn:
        await conn.execute(
            update(Run)
            .where(Run.id == run_id)
            .values(worker_id=runs.identity.worker_id, created_at=utcnow() - timedelta(hours=1))
        )
    await runs.store.renew(runs.identity.worker_id)
    assert await app.state.run_sweeper.sweep() == [run_id]
    run = await run_of(client, headers, run_id)
    assert (run["status"], run["error_code"]) == ("failed", "internal_error")
    closed = await messages_of(client, headers, thread_id)
    assert closed[-1]["content"] == INTERRUPTED_TOOL_RESULT


async def test_a_run_of_this_process_just_started_is_left_alone(
    client: httpx.AsyncClient, app: FastAPI, left_running: LeftRunning
) -> None:
    _, headers = await signed_up(client)
    thread_id = await new_thread(client, headers)
    run_id = await left_running(thread_id, *open_call_turn("call_a"))
    runs = app.state.runs
    async with app.state.database.begin() as conn:  # held here, a moment old
        await conn.execute(
            update(Run).where(Run.id == run_id).values(worker_id=runs.identity.worker_id)
        )
    assert await app.state.run_sweeper.sweep() == []
    assert (await run_of(client, headers, run_id))["status"] == "running"
    await runs.store.finish(run_id, status="cancelled")  # the thread left valid
