"""Fixtures of the run tests.

Every thread a test leaves behind must keep the tool-call invariant (`invariant.py`): the
`app` fixture's database is checked after each test that used it, and so is that of every app
built through `make_app`.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from confide.agents.tools import ToolRegistry, builtin_tools
from confide.db.base import utcnow
from confide.runs.models import Run
from confide.threads.models import Thread
from confide.threads.service import NewMessage, ThreadService
from tests.invariant import assert_threads_valid
from tests.live_server import serve
from tests.mockllm_server import serve_mock_llm

STARTUP_SECONDS = 20
GATE_SECONDS = 10.0


LeftRunning = Callable[..., Awaitable[uuid.UUID]]


@pytest.fixture
def left_running(app: FastAPI) -> LeftRunning:
    """`await left_running(thread_id, *messages)`: a run `running` in the database, with these
    messages, and no task in this process (as if the process running it had died)."""

    async def insert(thread_id: str, *messages: NewMessage) -> uuid.UUID:
        async with app.state.database.sessionmaker() as db:
            thread = await db.get(Thread, uuid.UUID(thread_id))
            assert thread is not None
            run = Run(
                id=uuid.uuid4(),
                thread_id=thread.id,
                user_id=thread.owner_id,
                agent_id=thread.agent_id,
                model="confide-scripted",
                status="running",
                created_at=utcnow(),
            )
            db.add(run)
            await db.flush()
            threads = ThreadService(db, vault=app.state.vault)
            await threads.append(thread, list(messages), run_id=run.id)
            await db.commit()
            return run.id

    return insert


def open_call_turn(*call_ids: str) -> list[NewMessage]:
    """A user's message and an assistant turn calling `add` once per id."""
    calls = [
        {"id": c, "type": "function", "function": {"name": "add", "arguments": '{"a":1,"b":2}'}}
        for c in call_ids
    ]
    return [
        NewMessage(role="user", content="add 1 and 2, twice"),
        NewMessage(role="assistant", tool_calls=calls),
    ]


@pytest.fixture
async def make_app(app_factory: Callable[..., FastAPI]) -> AsyncIterator[Callable[..., FastAPI]]:
    """`app_factory`, plus the invariant check and clean-up of each app it built."""
    built: list[FastAPI] = []

    def make(**overrides: Any) -> FastAPI:
        app = app_factory(**overrides)
        built.append(app)
        return app

    yield make
    try:
        for app in built:
            await assert_threads_valid(app)
    finally:
        for app in built:
            # What the lifespan's shutdown does, for apps a test never started.
            await app.state.runs.models.aclose()
            await app.state.database.dispose()


@pytest.fixture(scope="session")
def mock_llm_url() -> Iterator[str]:
    """The mock LLM (fault markers on) on a real uvicorn in a background thread."""
    with serve_mock_llm() as url:
        yield url


@dataclass
class Gate:
    """The `add` tool, held inside its call until the test opens the gate: a run in progress
    for as long as a test needs one, without any timing."""

    entered: asyncio.Event = field(default_factory=asyncio.Event)
    opened: asyncio.Event = field(default_factory=asyncio.Event)

    async def wait_entered(self) -> None:
        await asyncio.wait_for(self.entered.wait(), GATE_SECONDS)

    def open(self) -> None:
        self.opened.set()


def gated(app: FastAPI) -> Gate:
    """The app's runs call a gated `add` (the other built-in tools are unchanged)."""
    held = Gate()
    tools = ToolRegistry(spec for spec in builtin_tools() if spec.name != "add")

    @tools.tool(name="add")
    async def gated_add(a: float, b: float) -> float:
        """Add two numbers."""
        held.entered.set()
        await held.opened.wait()
        return a + b

    app.state.runs.tools = tools
    return held


@pytest.fixture
def gate(app: FastAPI) -> Iterator[Gate]:
    """The `app` fixture's runs call a gated `add`."""
    held = gated(app)
    yield held
    held.open()  # a failed test must not leave its run waiting


@contextlib.asynccontextmanager
async def serve_live(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client of `app` served by a real uvicorn in the test's event loop.

    httpx's ASGI transport hands over a response only once the app has sent all of it; over a
    real connection a stream can be read as it comes and left half-way."""
    async with (
        serve(app, ws="none") as address,
        httpx.AsyncClient(base_url=f"http://{address}", timeout=30) as client,
    ):
        yield client


@pytest.fixture
async def live_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the `app` fixture served by a real uvicorn in the test's event loop."""
    async with serve_live(app) as client:
        yield client
