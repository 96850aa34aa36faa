"""Runs across real processes: two `confide serve` (CONFIDE_JOBS=external) and one
`confide worker`, sharing one PostgreSQL database and one Redis, the agent on a real HTTP model
endpoint (the mock LLM, dripping its answer word by word so a run lasts seconds)."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from confide.agents.mockllm.app import DEFAULT_MODEL
from tests.mockllm_server import serve_mock_llm
from tests.multihost.conftest import Cluster, Process, SignedIn, sign_in, sign_up

LEASE_SECONDS = "3"
DRIP = "Tell me a long story [[mock:drip=150]]"
# Generous: a bound on a wait for something that happens, never a measure of speed.
DEADLINE_SECONDS = 90.0


@pytest.fixture(scope="module")
def mock_llm() -> Iterator[str]:
    with serve_mock_llm() as url:
        yield url


@pytest.fixture(scope="module")
def deployment(cluster: Cluster, mock_llm: str) -> tuple[Process, Process, Process]:
    env = {
        "CONFIDE_JOBS": "external",
        "CONFIDE_JOB_LEASE_SECONDS": LEASE_SECONDS,
        "CONFIDE_LLM_BASE_URL": mock_llm,
        "CONFIDE_LLM_MODEL": DEFAULT_MODEL,
    }
    web_a = cluster.serve("runs-web-a", **env)
    web_b = cluster.serve("runs-web-b", **env)
    worker = cluster.worker("runs-worker", concurrency=4, **env)
    return web_a, web_b, worker


@asynccontextmanager
async def clients(*processes: Process) -> AsyncIterator[list[httpx.AsyncClient]]:
    made = [httpx.AsyncClient(base_url=p.base_url, timeout=DEADLINE_SECONDS) for p in processes]
    try:
        yield made
    finally:
        for client in made:
            await client.aclose()


async def llm_thread(client: httpx.AsyncClient, user: SignedIn) -> str:
    response = await client.post("/api/threads", json={"agent_id": "llm"}, headers=user.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def sse(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    assert response.status_code == 200
    async for line in response.aiter_lines():
        if line.startswith("data: "):
            yield json.loads(line[6:])


class Follower:
    """An SSE stream read in the background: every event, and a way to wait for one."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self._changed = asyncio.Condition()
        self.task: asyncio.Task[None] | None = None

    async def consume(self, request: Any) -> None:
        async with request as response:
            async for event in sse(response):
                async with self._changed:
                    self.events.append(event)
                    self._changed.notify_all()
                if event["type"] in ("run.completed", "run.failed", "run.cancelled"):
                    return

    def start(self, request: Any) -> Follower:
        self.task = asyncio.create_task(self.consume(request))
        return self

    async def wait_for(self, type_: str) -> dict[str, Any]:
        async with asyncio.timeout(DEADLINE_SECONDS), self._changed:
            while True:
                found = next((e for e in self.events if e["type"] == type_), None)
                if found is not None:
                    return found
                assert self.task is not None
                if self.task.done():
                    self.task.result()
                    pytest.fail(f"the stream ended without {type_}: {self.events}")
                await asyncio.wait_for(self._changed.wait(), DEADLINE_SECONDS)

    async def ended(self) -> list[dict[str, Any]]:
        assert self.task is not None
        await asyncio.wait_for(self.task, DEADLINE_SECONDS)
        return self.events


def send_streamed(client: httpx.AsyncClient, user: SignedIn, thread_id: str, text: str) -> Any:
    return client.stream(
        "POST",
        f"/api/threads/{thread_id}/messages",
        json={"content": text},
        headers={**user.headers, "Accept": "text/event-stream"},
    )


async def messages(client: httpx.AsyncClient, user: SignedIn, thread_id: str) -> list[Any]:
    response = await client.get(f"/api/threads/{thread_id}/messages", headers=user.headers)
    assert response.status_code == 200
    items: list[Any] = response.json()["items"]
    return items


async def test_a_run_started_through_one_process_streams_live_through_another_and_is_cancelled_from_it(  # noqa: E501
    deployment: tuple[Process, Process, Process],
) -> None:
    web_a, web_b, _ = deployment
    async with clients(web_a, web_b) as (a, b):
        user = await sign_in(a, await sign_up(a))
        thread_id = await llm_thread(a, user)
        started = Follower().start(send_streamed(a, user, thread_id, DRIP))
        run_id = (await started.wait_for("run.started"))["run_id"]

        live = Follower().start(b.stream("GET", f"/api/runs/{run_id}/events", headers=user.headers))
        first_delta = await live.wait_for("message.delta")  # streaming, live, through B
        cancelled = await b.post(f"/api/runs/{run_id}/cancel", headers=user.headers)
        assert cancelled.status_code == 200
        assert cancelled.json()["status"] == "cancelled"

        seen_b, seen_a = await live.ended(), await started.ended()
        assert seen_b[-1]["type"] == seen_a[-1]["type"] == "run.cancelled"
        # One run, one numbering: what B streamed is what A streamed, id for id.
        by_id = {e["id"]: e for e in seen_a}
        assert all(by_id.get(e["id"], e) == e for e in seen_b)
        assert first_delta["id"] in by_id

        stored = await messages(b, user, thread_id)
        assert [m["role"] for m in stored] == ["user", "assistant"]
        assert stored[1]["interrupted"] is True
        assert stored[1]["content"]  # what the user saw is kept
        assert (await a.get(f"/api/runs/{run_id}", headers=user.headers)).json()[
            "status"
        ] == "cancelled"


async def test_kill_9_of_the_worker_mid_run_closes_the_run_validly_once_a_worker_is_back(
    deployment: tuple[Process, Process, Process],
) -> None:
    web_a, web_b, worker = deployment
    async with clients(web_a, web_b) as (a, b):
        user = await sign_in(a, await sign_up(a))
        thread_id = await llm_thread(a, user)
        following = Follower().start(send_streamed(a, user, thread_id, DRIP))
        run_id = (await following.wait_for("run.started"))["run_id"]
        await following.wait_for("message.delta")  # mid-answer, on the worker

        worker.kill()  # kill -9: nothing of the worker's runs is closed by the worker itself
        worker.start()  # the supervisor brings it back

        failed = await following.wait_for("run.failed")
        assert failed["code"] == "worker_lost"
        run = (await b.get(f"/api/runs/{run_id}", headers=user.headers)).json()
        assert run["status"] == "failed"
        assert run["error_code"] == "worker_lost"
        stored = await messages(b, user, thread_id)
        assert stored[0]["role"] == "user"  # what the server acknowledged is there
        assert stored[0]["content"] == DRIP
        # The thread is valid and takes the next message, on the restarted worker.
        again = await b.post(
            f"/api/threads/{thread_id}/messages",
            json={"content": "hello again"},
            headers=user.headers,
        )
        assert again.status_code == 200, again.text
        assert again.json()["run"]["status"] == "completed"
        roles = [m["role"] for m in await messages(a, user, thread_id)]
        assert roles[-2:] == ["user", "assistant"]


async def test_a_worker_stopped_gracefully_gives_its_runs_the_lease_then_closes_them(
    deployment: tuple[Process, Process, Process],
) -> None:
    web_a, _, worker = deployment
    async with clients(web_a) as (a,):
        user = await sign_in(a, await sign_up(a))
        thread_id = await llm_thread(a, user)
        # About 35 words at 150 ms each: longer than the 3 s of grace the worker gives.
        following = Follower().start(send_streamed(a, user, thread_id, DRIP))
        await following.wait_for("message.delta")

        assert worker.kill(signal.SIGTERM) == 0  # a clean exit, after the grace
        events = await following.ended()
        assert events[-1]["type"] == "run.cancelled"
        stored = await messages(a, user, thread_id)
        assert [m["role"] for m in stored] == ["user", "assistant"]
        assert stored[1]["interrupted"] is True
        worker.start()
