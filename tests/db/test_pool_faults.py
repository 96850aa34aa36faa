"""PostgreSQL faults: backends terminated under load, an exhausted pool, a statement timeout.

Each ends in 503 `unavailable` (never a 500), the pool recovers on its own, and nothing a
client was told is stored goes missing.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql.asyncpg import (
    AsyncAdapt_asyncpg_connection as AdaptedAsyncpg,
)
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from confide.db import engine as engine_module
from confide.db.engine import Database, SessionDep
from confide.threads.models import Thread
from tests.conftest import client_for
from tests.factories import assert_problem, signed_up
from tests.live_server import serve

pytestmark = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)

THREADS = "/api/threads"
WORKERS = 8
KILLS = 5
RESPONSES_PER_ROUND = 60  # between two kills, and after the last one
# Every backend of the test database but the killer's own: the app's pool, whatever it holds.
# Each terminated backend is waited for (up to 10 s), so its connection is closed, as after any
# real outage, when the test goes on.
TERMINATE = text(
    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 10000)) FROM pg_stat_activity "
    "WHERE datname = current_database() AND pid <> pg_backend_pid() "
    "AND backend_type = 'client backend'"
)
UNAVAILABLE_DETAIL = "The database is not answering right now; try again in a moment."


@pytest.fixture
async def killer(database_url: str) -> AsyncIterator[AsyncConnection]:
    """A connection of the test's own, outside the app's pool, to terminate the app's."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            yield conn
    finally:
        await engine.dispose()


async def terminate_backends(killer: AsyncConnection) -> int:
    terminated = int(await killer.scalar(TERMINATE) or 0)
    await killer.commit()
    return terminated


def assert_unavailable(response: httpx.Response) -> None:
    body = assert_problem(response, 503, "unavailable")
    assert body["detail"] == UNAVAILABLE_DETAIL
    assert response.headers["retry-after"] == "2"


@dataclass
class Load:
    """What the clients saw: every answer, and the threads whose creation was acknowledged."""

    answers: list[tuple[str, httpx.Response]] = field(default_factory=list)
    acknowledged: set[str] = field(default_factory=set)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    progress: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def record(self, kind: str, response: httpx.Response) -> None:
        if kind == "create" and response.status_code == 201:
            self.acknowledged.add(response.json()["id"])
        async with self.progress:
            self.answers.append((kind, response))
            self.progress.notify_all()

    async def until(self, count: int) -> None:
        async with self.progress:
            await self.progress.wait_for(lambda: len(self.answers) >= count)


async def request(
    client: httpx.AsyncClient, kind: str, headers: dict[str, str], n: int
) -> httpx.Response:
    if kind == "me":
        return await client.get("/api/auth/me", headers=headers)
    if kind == "list":
        return await client.get(THREADS, headers=headers, params={"limit": 5})
    return await client.post(THREADS, json={"title": f"load {n}"}, headers=headers)


async def worker(load: Load, base_url: str, headers: dict[str, str], number: int) -> None:
    kinds = ("create", "me", "list")
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        n = 0
        while not load.stop.is_set():
            kind = kinds[(number + n) % len(kinds)]
            await load.record(kind, await request(client, kind, headers, number * 100_000 + n))
            n += 1


@contextlib.asynccontextmanager
async def under_load(base_url: str, headers: dict[str, str], workers: int) -> AsyncIterator[Load]:
    """`workers` clients sending requests until the block ends; what they saw."""
    load = Load()
    tasks = [
        asyncio.create_task(worker(load, base_url, headers, number)) for number in range(workers)
    ]
    try:
        yield load
    finally:
        load.stop.set()
        await asyncio.gather(*tasks)


def assert_success_or_unavailable(load: Load) -> None:
    """Every answer was 2xx or 503 `unavailable`, never a 500 (nor anything else)."""
    failures = [
        (kind, response.status_code, response.text)
        for kind, response in load.answers
        if not response.is_success and response.status_code != 503
    ]
    assert failures == []
    for _, response in load.answers:
        if response.status_code == 503:
            assert_unavailable(response)


async def stored_thread_ids(url: str) -> set[str]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return {str(row) for row in (await conn.scalars(select(Thread.id))).all()}
    finally:
        await engine.dispose()


async def test_terminated_backends_under_load_are_503_then_the_pool_recovers(
    app_factory: Callable[..., FastAPI], killer: AsyncConnection, database_url: str
) -> None:
    app = app_factory()
    try:
        async with serve(app) as address:
            base_url = f"http://{address}"
            async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
                _, headers = await signed_up(client)
            async with under_load(base_url, headers, WORKERS) as load:
                for round_ in range(1, KILLS + 1):
                    await load.until(round_ * RESPONSES_PER_ROUND)
                    # The pool held live connections (the last round was served): all cut.
                    assert await terminate_backends(killer) >= 1
                await load.until((KILLS + 1) * RESPONSES_PER_ROUND)
            assert_success_or_unavailable(load)
            assert load.acknowledged  # the load did write

            # Recovered without a restart: everything succeeds now, on the same pool.
            async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
                for n, kind in enumerate(("me", "list", "create") * 3):
                    response = await request(client, kind, headers, -n)
                    assert response.is_success, response.text
                    if kind == "create":
                        load.acknowledged.add(response.json()["id"])
    finally:
        await app.state.database.dispose()

    # Nothing acknowledged was lost.
    assert load.acknowledged <= await stored_thread_ids(database_url)


@pytest.mark.parametrize("then", ["execute", "commit"])
async def test_a_backend_terminated_mid_request_is_503_unavailable(
    app_factory: Callable[..., FastAPI], killer: AsyncConnection, then: str
) -> None:
    """The request holds its connection, in a transaction, when the backend goes: its next
    statement, or the commit after the endpoint, fails."""
    app = app_factory()
    started, proceed = asyncio.Event(), asyncio.Event()

    async def interrupted(db: SessionDep) -> None:
        await db.execute(text("SELECT 1"))
        started.set()
        await proceed.wait()
        if then == "execute":
            await db.execute(text("SELECT 1"))

    app.add_api_route("/api/test/interrupted", interrupted)
    try:
        async with client_for(app) as client:
            pending = asyncio.create_task(client.get("/api/test/interrupted"))
            await started.wait()
            assert await terminate_backends(killer) >= 1
            proceed.set()
            assert_unavailable(await pending)
            # The next request is served, on the same pool.
            assert (await client.get("/api/test/interrupted")).status_code == 200
    finally:
        await app.state.database.dispose()


async def test_an_idle_pool_whose_backends_were_terminated_recovers_unseen(
    app_factory: Callable[..., FastAPI], killer: AsyncConnection
) -> None:
    app = app_factory()
    try:
        async with client_for(app) as client:
            _, headers = await signed_up(client)
            assert (await client.get(THREADS, headers=headers)).status_code == 200
            assert await terminate_backends(killer) >= 1
            # The closed connection is replaced at checkout (db/engine.py), no 503 at all.
            assert (await client.get(THREADS, headers=headers)).status_code == 200
            assert (await client.get("/api/ready")).status_code == 200
    finally:
        await app.state.database.dispose()


async def test_a_connection_idle_for_a_while_is_pinged_at_checkout_and_replaced_if_dead(
    app_factory: Callable[..., FastAPI], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server gone without a word (a network cut) is caught by a ping, but only on a
    connection that sat idle for PING_AFTER_IDLE_SECONDS: a busy pool pings nothing."""
    app = app_factory(db_pool_size=1, db_max_overflow=0)
    database: Database = app.state.database
    pings: list[bool] = []
    real_ping = AdaptedAsyncpg.ping

    def ping(self: AdaptedAsyncpg) -> None:
        pings.append(True)
        if len(pings) == 1:  # as the ping of a connection whose server vanished would
            raise ConnectionResetError("the peer is gone")
        real_ping(self)

    monkeypatch.setattr(AdaptedAsyncpg, "ping", ping)

    async def backend_pid() -> int:
        async with database.connect() as conn:
            return int(await conn.scalar(text("SELECT pg_backend_pid()")) or 0)

    try:
        first = await backend_pid()
        assert await backend_pid() == first
        assert pings == []  # new, then idle for less than the threshold: no round trip
        monkeypatch.setattr(engine_module, "PING_AFTER_IDLE_SECONDS", 0.0)
        replaced = await backend_pid()  # the ping failed: a new connection, unseen
        assert pings == [True]
        assert replaced != first
        assert await backend_pid() == replaced  # pinged, and it answered
        assert pings == [True, True]
    finally:
        await database.dispose()


async def test_no_pooled_connection_in_time_is_503_unavailable(
    app_factory: Callable[..., FastAPI], log_lines: io.StringIO
) -> None:
    app = app_factory(db_pool_size=1, db_max_overflow=0, db_pool_timeout_seconds=0.05)
    database: Database = app.state.database
    try:
        async with client_for(app) as client:
            _, headers = await signed_up(client)
            async with database.connect() as held:  # the pool's one connection
                await held.execute(text("SELECT 1"))
                waited = await client.get(THREADS, headers=headers)
                assert_unavailable(waited)
                assert (await client.get("/api/ready")).status_code == 503
            # Given back: served again.
            assert (await client.get(THREADS, headers=headers)).status_code == 200
    finally:
        await database.dispose()
    warnings = [
        entry
        for entry in map(json.loads, log_lines.getvalue().splitlines())
        if entry["logger"] == "confide.errors"
    ]
    # Logged once, as a warning naming the cause, without a URL.
    assert [(w["level"], w["path"]) for w in warnings] == [("warning", THREADS)]
    assert warnings[0]["error"].startswith("TimeoutError: QueuePool limit")
    assert "postgres@" not in log_lines.getvalue()


@pytest.mark.parametrize(("milliseconds", "shown"), [(1234, "1234ms"), (0, "0")])
async def test_the_statement_timeout_is_set_on_every_connection(
    app_factory: Callable[..., FastAPI], milliseconds: int, shown: str
) -> None:
    app = app_factory(db_statement_timeout_ms=milliseconds)
    database: Database = app.state.database
    try:
        async with database.connect() as conn:
            assert await conn.scalar(text("SHOW statement_timeout")) == shown
        async with database.session() as session:
            assert await session.scalar(text("SHOW statement_timeout")) == shown
    finally:
        await database.dispose()


async def test_a_database_made_from_a_url_alone_has_the_default_timeout(database_url: str) -> None:
    database = Database(database_url)
    try:
        async with database.connect() as conn:
            assert await conn.scalar(text("SHOW statement_timeout")) == "30s"
    finally:
        await database.dispose()


async def test_a_statement_past_the_timeout_is_503_unavailable(
    app_factory: Callable[..., FastAPI],
) -> None:
    app = app_factory(db_statement_timeout_ms=50)

    async def slow(db: SessionDep) -> None:
        await db.execute(text("SELECT pg_sleep(5)"))  # cancelled by the server at 50 ms

    app.add_api_route("/api/test/slow", slow)
    try:
        async with client_for(app) as client:
            assert_unavailable(await client.get("/api/test/slow"))
            # The connection is fine: the next statement runs.
            assert (await client.get("/api/ready")).status_code == 200
    finally:
        await app.state.database.dispose()
