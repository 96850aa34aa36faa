"""Small helpers of the memory tests: threads, turns, and waiting for the extraction job."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from tests.conftest import settle_jobs

MEMORIES = "/api/me/memories"
SETTINGS = "/api/me/settings"


async def new_thread(client: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> str:
    response = await client.post("/api/threads", json=body, headers=headers)
    assert response.status_code == 201, response.text
    thread_id: str = response.json()["id"]
    return thread_id


async def turn(
    app: FastAPI, client: httpx.AsyncClient, headers: dict[str, str], thread_id: str, text: str
) -> dict[str, Any]:
    """Send a message, wait for the run's end and for the jobs it queued (the extraction);
    the run's result (run and messages)."""
    response = await client.post(
        f"/api/threads/{thread_id}/messages", json={"content": text}, headers=headers
    )
    assert response.status_code == 200, response.text
    await settle_jobs(app)
    body: dict[str, Any] = response.json()
    return body


def answer(result: dict[str, Any]) -> str:
    content: str = result["messages"][-1]["content"]
    return content


async def memories(
    client: httpx.AsyncClient, headers: dict[str, str], **params: str
) -> list[dict[str, Any]]:
    response = await client.get(MEMORIES, headers=headers, params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def facts(items: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(m["key"], m["content"]) for m in items]
