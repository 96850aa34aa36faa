"""Fixtures of the approval tests: an agent whose `calculator` waits for approval, and which
may ask the user (`ask_user`), on the scripted model."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import client_for
from tests.invariant import Event, assert_threads_valid, parse_sse

APPROVING_AGENTS = """\
[[agents]]
id = "careful"
name = "Careful"
default = true
tools = ["add", "calculator", "ask_user"]
requires_approval = ["calculator"]
[agents.model]
provider = "scripted"
"""


@pytest.fixture
def agents_file(tmp_path: Path) -> Path:
    path = tmp_path / "agents.toml"
    path.write_text(APPROVING_AGENTS, encoding="utf-8")
    return path


@pytest.fixture
async def approving_app(
    app_factory: Callable[..., FastAPI], agents_file: Path
) -> AsyncIterator[FastAPI]:
    application = app_factory(agents_file=agents_file)
    yield application
    await assert_threads_valid(application)


@pytest.fixture
async def approving_client(approving_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(approving_app) as client:
        yield client


async def new_thread(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    response = await client.post("/api/threads", json={}, headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def send_streamed(
    client: httpx.AsyncClient, headers: dict[str, str], thread_id: str, content: str
) -> list[Event]:
    response = await client.post(
        f"/api/threads/{thread_id}/messages",
        json={"content": content},
        headers={**headers, "Accept": "text/event-stream"},
    )
    assert response.status_code == 200, response.text
    return parse_sse(response.text)


async def follow(
    client: httpx.AsyncClient, headers: dict[str, str], run_id: str, after: int
) -> list[Event]:
    response = await client.get(
        f"/api/runs/{run_id}/events", params={"after": after}, headers=headers
    )
    assert response.status_code == 200, response.text
    return parse_sse(response.text)


async def decide(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    run_id: str,
    approval_id: str,
    **body: Any,
) -> httpx.Response:
    return await client.post(
        f"/api/runs/{run_id}/approvals/{approval_id}", json=body, headers=headers
    )


def of_type(events: list[Event], kind: str) -> list[Event]:
    return [event for event in events if event["type"] == kind]
