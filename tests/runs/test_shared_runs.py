"""Runs across processes sharing one database and one Redis (SAQ queue, a Redis stream per run):
apps in this test process stand for the processes; tests/multihost runs real ones."""

from __future__ import annotations

import asyncio
import gc
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis
from sqlalchemy import update

from confide.app import create_app
from confide.config import Settings
from confide.db.base import utcnow
from confide.runs.models import Run
from confide.runs.service import run_job_key
from confide.runs.store import INTERRUPTED_TOOL_RESULT
from tests.conftest import client_for
from tests.factories import signed_up
from tests.invariant import assert_threads_valid, parse_sse
from tests.redis_server import RedisServer
from tests.runs.conftest import gated

THREADS = "/api/threads"
RUNS = "/api/runs"
TWO_TOOLS = "add 5 and 3 and what time is it in Tokyo"


@pytest.fixture
async def redis_url(redis_server: RedisServer) -> str:
    client = Redis.from_url(redis_server.url)
    await client.flushall()  # the test's own server: each test starts from nothing
    await client.aclose()
    return redis_server.url


@pytest.fixture
async def processes(
    settings_factory: Callable[..., Settings], redis_url: str
) -> AsyncIterator[Callable[..., Any]]:
    """`await start(worker=..., **settings)`: an app as one process of a deployment, started
    (its lifespan entered) and stopped at the end of the test."""
    started: list[FastAPI] = []
    async with AsyncExitStack() as stack:

        async def start(*, worker: bool = False, **overrides: Any) -> FastAPI:
            values = {"redis_url": redis_url, "jobs": "external", "job_lease_seconds": 3}
            settings = settings_factory(**{**values, **overrides})
            app = create_app(settings, worker=worker)
            # Processes of their own, though they share this one's pid: another host each.
            app.state.runs.identity = replace(app.state.runs.identity, host=f"host-{len(started)}")
            started.append(app)
            await stack.enter_async_context(_lifespan(app))
            return app

        yield start


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    try:
        async with app.router.lifespan_context(app):
            yield
    finally:
        gc.unfreeze()  # the lifespan froze what was alive; the suite's garbage must go
        await app.state.database.dispose()


async def new_thread(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    response = await client.post(THREADS, json={}, headers=headers)
    assert response.status_code == 201
    return str(response.json()["id"])


async def streamed(
    client: httpx.AsyncClient, headers: dict[str, str], thread_id: str, content: str
) -> list[dict[str, Any]]:
    response = await client.post(
        f"{THREADS}/{thread_id}/messages",
        json={"content": content},
        headers={**headers, "Accept": "text/event-stream"},
    )
    assert response.status_code == 200
    return parse_sse(response.text)


async def replay(
    client: httpx.AsyncClient, headers: dict[str, str], run_id: str, **params: Any
) -> list[dict[str, Any]]:
    response = await client.get(f"{RUNS}/{run_id}/events", params=params, headers=headers)
    assert response.status_code == 200
    return parse_sse(response.text)


async def messages_of(
    client: httpx.AsyncClient, headers: dict[str, str], thread_id: str
) -> list[dict[str, Any]]:
    response = await client.get(f"{THREADS}/{thread_id}/messages", headers=headers)
    assert response.status_code == 200
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_a_run_started_on_one_process_executes_on_a_worker_and_streams_from_any(
    processes: Callable[..., Any],
) -> None:
    web_a, web_b = await processes(), await processes()
    await processes(worker=True)
    async with client_for(web_a) as a, client_for(web_b) as b:
        _, headers = await signed_up(a)
        thread_id = await new_thread(a, headers)
        events = await streamed(a, headers, thread_id, TWO_TOOLS)
        types = [e["type"] for e in events]
        assert types[0] == "run.started"
        assert types[-1] == "run.completed"
        assert "message.delta" in types
        assert [e["id"] for e in events] == list(range(1, len(events) + 1))
        run_id = events[0]["run_id"]

        # The other web process serves the same events, deltas and ids included, from the
        # run's stream; and resumes from any id, by query or by Last-Event-ID.
        assert await replay(b, headers, run_id) == events
        assert await replay(b, headers, run_id, after=3) == events[3:]
        resumed = await b.get(
            f"{RUNS}/{run_id}/events", headers={**headers, "Last-Event-ID": str(events[5]["id"])}
        )
        assert parse_sse(resumed.text) == events[6:]

        # The JSON answer on the other process too.
        other = await b.post(
            f"{THREADS}/{thread_id}/messages", json={"content": "hello"}, headers=headers
        )
        assert other.status_code == 200
        body = other.json()
        assert body["run"]["status"] == "completed"
        assert [m["role"] for m in body["messages"]] == ["user", "assistant"]
        await assert_threads_valid(web_b)


async def test_a_run_streams_live_through_another_process_and_is_cancelled_from_it(
    processes: Callable[..., Any],
) -> None:
    web_a, web_b = await processes(), await processes()
    worker = await processes(worker=True)
    gate = gated(worker)
    async with client_for(web_a) as a, client_for(web_b) as b:
        _, headers = await signed_up(a)
        thread_id = await new_thread(a, headers)
        sending = asyncio.create_task(
            a.post(
                f"{THREADS}/{thread_id}/messages", json={"content": "add 2 and 3"}, headers=headers
            )
        )
        await gate.wait_entered()  # the run is in its tool call, on the worker
        listed = await a.get(f"{THREADS}/{thread_id}/messages", headers=headers)
        run_id = listed.json()["items"][0]["run_id"]

        following = asyncio.create_task(replay(b, headers, run_id))
        cancelled = await b.post(f"{RUNS}/{run_id}/cancel", headers=headers)
        assert cancelled.status_code == 200
        assert cancelled.json()["status"] == "cancelled"

        seen = await following
        assert seen[0]["type"] == "run.started"
        assert seen[-1]["type"] == "run.cancelled"
        answer = await sending  # the request that started it hears the same ending
        assert answer.json()["run"]["status"] == "cancelled"

        stored = await messages_of(a, headers, thread_id)
        assert [m["role"] for m in stored] == ["user", "assistant", "tool"]
        assert stored[2]["content"] == INTERRUPTED_TOOL_RESULT
        await assert_threads_valid(web_a)
        # The thread takes a new message at once.
        gate.open()
        again = await a.post(
            f"{THREADS}/{thread_id}/messages", json={"content": "hello"}, headers=headers
        )
        assert again.json()["run"]["status"] == "completed"


async def test_a_run_job_delivered_twice_has_one_effect(processes: Callable[..., Any]) -> None:
    web = await processes()  # queues the job; no worker takes it
    first, second = await processes(), await processes()
    async with client_for(web) as client:
        _, headers = await signed_up(client)
        thread_id = await new_thread(client, headers)
        sending = asyncio.create_task(
            client.post(
                f"{THREADS}/{thread_id}/messages", json={"content": TWO_TOOLS}, headers=headers
            )
        )
        # Wait for the run to exist, then deliver its job twice, at once, to two processes.
        while not (items := await messages_of(client, headers, thread_id)):
            await asyncio.sleep(0.01)
        run_id = items[0]["run_id"]

        await asyncio.gather(
            first.state.runs.execute(uuid.UUID(run_id)),
            second.state.runs.execute(uuid.UUID(run_id)),
        )
        answer = await sending
        assert answer.json()["run"]["status"] == "completed"
        stored = await messages_of(client, headers, thread_id)
        roles = [m["role"] for m in stored]
        assert roles.count("user") == 1
        finals = [m for m in stored if m["role"] == "assistant" and not m.get("tool_calls")]
        assert len(finals) == 1  # one answer
        call_ids = [m["tool_call_id"] for m in stored if m["role"] == "tool"]
        assert len(call_ids) == len(set(call_ids)) == 2  # each tool called once
        await assert_threads_valid(web)
        events = await replay(client, headers, run_id)
        assert [e["type"] for e in events].count("run.completed") == 1
        assert [e["id"] for e in events] == list(range(1, len(events) + 1))
        # And a third delivery, after the end, changes nothing.
        await first.state.runs.execute(uuid.UUID(run_id))
        assert await messages_of(client, headers, thread_id) == stored


async def test_a_run_whose_worker_died_is_closed_once_its_lease_ran_out(
    processes: Callable[..., Any],
) -> None:
    web = await processes()
    worker = await processes(worker=True)
    async with client_for(web) as client:
        _, headers = await signed_up(client)
        thread_id = await new_thread(client, headers)
        gate = gated(worker)
        sending = asyncio.create_task(
            client.post(
                f"{THREADS}/{thread_id}/messages", json={"content": "add 2 and 3"}, headers=headers
            )
        )
        await gate.wait_entered()
        run_id = (await messages_of(client, headers, thread_id))[0]["run_id"]
        # As if the worker had died: its lease stops being renewed and runs out.
        async with web.state.database.begin() as conn:
            await conn.execute(
                update(Run)
                .where(Run.id == uuid.UUID(run_id))
                .values(worker_id="elsewhere:1:dead", lease_until=utcnow() - timedelta(seconds=1))
            )
        swept = await web.state.run_sweeper.sweep()
        assert [str(r) for r in swept] == [run_id]
        answer = await sending
        assert answer.json()["run"]["status"] == "failed"
        assert answer.json()["run"]["error_code"] == "worker_lost"
        # The worker was only slow, not dead: it is fenced off, its next write refused.
        gate.open()
        events = await replay(client, headers, run_id)
        assert events[-1]["type"] == "run.failed"
        assert events[-1]["code"] == "worker_lost"
        assert [e["type"] for e in events].count("run.failed") == 1
        stored = await messages_of(client, headers, thread_id)
        assert [m["role"] for m in stored] == ["user", "assistant", "tool"]
        await assert_threads_valid(web)


async def test_a_queued_run_no_worker_takes_is_closed_after_the_lease(
    processes: Callable[..., Any], redis_url: str, tmp_path: Path
) -> None:
    web = await processes()
    async with client_for(web) as client:
        _, headers = await signed_up(client)
        thread_id = await new_thread(client, headers)
        sending = asyncio.create_task(
            client.post(f"{THREADS}/{thread_id}/messages", json={"content": "hi"}, headers=headers)
        )
        while not (items := await messages_of(client, headers, thread_id)):
            await asyncio.sleep(0.01)
        run_id = uuid.UUID(items[0]["run_id"])
        assert await web.state.run_sweeper.sweep() == []  # queued, and not for long: left
        # Its job lost (Redis flushed, say) and the lease passed: closed.
        await web.state.jobs.abort(run_job_key(run_id))
        async with web.state.database.begin() as conn:
            await conn.execute(
                update(Run)
                .where(Run.id == run_id)
                .values(created_at=utcnow() - timedelta(seconds=10))
            )
        assert await web.state.run_sweeper.sweep() == [run_id]
        answer = await sending
        assert answer.json()["run"]["error_code"] == "worker_lost"
        await assert_threads_valid(web)


async def test_redis_stopped_answers_503_loses_nothing_and_recovers_when_it_is_back(
    processes: Callable[..., Any], redis_server: RedisServer
) -> None:
    queuing = await processes()  # runs go to the workers' queue, on Redis
    await processes(worker=True)
    local = await processes(jobs="inprocess")  # executes the runs it starts itself
    async with client_for(queuing) as client, client_for(local) as here:
        _, headers = await signed_up(client)
        thread_id = await new_thread(client, headers)
        other_thread = await new_thread(client, headers)
        first = await client.post(
            f"{THREADS}/{thread_id}/messages", json={"content": "hello"}, headers=headers
        )
        assert first.json()["run"]["status"] == "completed"

        redis_server.stop()
        try:
            assert (await client.get("/api/ready")).status_code == 503
            refused = await client.post(
                f"{THREADS}/{thread_id}/messages", json={"content": "still there?"}, headers=headers
            )
            assert refused.status_code == 503
            assert refused.json()["code"] == "unavailable"
            # What was stored stays, and the thread is left valid (the run that could not be
            # queued is closed, not left running).
            stored = await messages_of(client, headers, thread_id)
            assert [m["role"] for m in stored] == ["user", "assistant", "user"]
            # A process that executes its runs itself still answers (only its live events
            # cannot reach other processes meanwhile).
            answered = await here.post(
                f"{THREADS}/{other_thread}/messages", json={"content": "hi"}, headers=headers
            )
            assert answered.status_code == 200, answered.text
            assert answered.json()["run"]["status"] == "completed"
            await assert_threads_valid(queuing)
        finally:
            redis_server.start()

        assert (await client.get("/api/ready")).status_code == 200
        again = await client.post(
            f"{THREADS}/{thread_id}/messages", json={"content": "and now?"}, headers=headers
        )
        assert again.status_code == 200, again.text
        assert again.json()["run"]["status"] == "completed"


async def test_a_process_starting_leaves_another_live_process_s_runs_alone(
    processes: Callable[..., Any],
) -> None:
    web = await processes()
    worker = await processes(worker=True)
    gate = gated(worker)
    async with client_for(web) as client:
        _, headers = await signed_up(client)
        thread_id = await new_thread(client, headers)
        sending = asyncio.create_task(
            client.post(
                f"{THREADS}/{thread_id}/messages", json={"content": "add 2 and 3"}, headers=headers
            )
        )
        await gate.wait_entered()  # in progress on the first worker
        second = await processes(worker=True)  # its start-up sweeps
        assert await second.state.run_sweeper.sweep() == []
        gate.open()
        answer = await sending
        assert answer.json()["run"]["status"] == "completed"
        await assert_threads_valid(web)


async def test_with_inprocess_jobs_a_run_executes_where_it_started_and_any_process_follows_it(
    processes: Callable[..., Any],
) -> None:
    web_a = await processes(jobs="inprocess")
    web_b = await processes(jobs="inprocess")
    gate = gated(web_a)
    async with client_for(web_a) as a, client_for(web_b) as b:
        _, headers = await signed_up(a)
        thread_id = await new_thread(a, headers)
        sending = asyncio.create_task(
            a.post(
                f"{THREADS}/{thread_id}/messages", json={"content": "add 2 and 3"}, headers=headers
            )
        )
        await gate.wait_entered()  # executing on A, which started it
        run_id = (await messages_of(a, headers, thread_id))[0]["run_id"]
        row = await web_b.state.runs.store.row(uuid.UUID(run_id))
        assert row.worker_id == web_a.state.runs.identity.worker_id

        following = asyncio.create_task(replay(b, headers, run_id))
        cancelled = await b.post(f"{RUNS}/{run_id}/cancel", headers=headers)
        assert cancelled.json()["status"] == "cancelled"
        seen = await following
        assert [seen[0]["type"], seen[-1]["type"]] == ["run.started", "run.cancelled"]
        assert "tool.started" in [e["type"] for e in seen]  # live, from A's stream
        assert (await sending).json()["run"]["status"] == "cancelled"
        gate.open()
        await assert_threads_valid(web_a)


async def test_a_process_that_only_serves_closes_a_dead_worker_s_runs_too(
    processes: Callable[..., Any],
) -> None:
    web = await processes()  # CONFIDE_JOBS=external, and no worker at all
    async with client_for(web) as client:
        _, headers = await signed_up(client)
        thread_id = await new_thread(client, headers)
        sending = asyncio.create_task(
            client.post(f"{THREADS}/{thread_id}/messages", json={"content": "hi"}, headers=headers)
        )
        while not (items := await messages_of(client, headers, thread_id)):
            await asyncio.sleep(0.01)
        run_id = uuid.UUID(items[0]["run_id"])
        async with web.state.database.begin() as conn:  # taken by a worker that then died
            await conn.execute(
                update(Run)
                .where(Run.id == run_id)
                .values(worker_id="elsewhere:1:dead", lease_until=utcnow() - timedelta(seconds=1))
            )
        await processes()  # another web process starts: its first sweep closes it
        answer = await asyncio.wait_for(sending, 60)
        assert answer.json()["run"]["error_code"] == "worker_lost"
        await assert_threads_valid(web)
