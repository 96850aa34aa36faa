"""Test data for share links: threads with stored messages, links made through the API."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from fastapi import FastAPI

from confide.threads.models import Thread
from confide.threads.service import ACTIVE_LEAF, MessageLog, NewMessage

THREADS = "/api/threads"
SHARED = "/api/shared"
Headers = dict[str, str]


async def new_thread(client: httpx.AsyncClient, headers: Headers) -> str:
    response = await client.post(THREADS, json={}, headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def store(
    app: FastAPI,
    thread_id: str,
    *messages: NewMessage,
    parent_id: Any = ACTIVE_LEAF,
    activate: bool = False,
) -> list[str]:
    """Store messages as a run does, after `parent_id` (the active leaf by default); their ids."""
    async with app.state.database.session() as db:
        thread = await db.get(Thread, uuid.UUID(thread_id))
        assert thread is not None
        stored = await MessageLog(app.state.vault).append(
            db,
            owner_id=thread.owner_id,
            thread_id=thread.id,
            messages=list(messages),
            run_id=None,
            parent_id=parent_id,
            activate=activate,
            branching=parent_id is not ACTIVE_LEAF,
        )
        await db.commit()
    assert stored is not None
    return [str(message.id) for message in stored]


def turn(question: str, answer: str) -> tuple[NewMessage, NewMessage]:
    return NewMessage(role="user", content=question), NewMessage(role="assistant", content=answer)


def tool_turn(question: str, answer: str) -> tuple[NewMessage, ...]:
    """A question answered after one tool call (valid under OpenAI's tool-call rules)."""
    call = {"id": "call_1", "type": "function", "function": {"name": "add", "arguments": "{}"}}
    return (
        NewMessage(role="user", content=question),
        NewMessage(role="assistant", content=None, tool_calls=[call]),
        NewMessage(role="tool", content="8", tool_call_id="call_1", name="add"),
        NewMessage(role="assistant", content=answer),
    )


async def make_link(
    client: httpx.AsyncClient, headers: Headers, thread_id: str, **body: Any
) -> dict[str, Any]:
    response = await client.post(f"{THREADS}/{thread_id}/links", json=body, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def shared(client: httpx.AsyncClient, token: str, **params: Any) -> dict[str, Any]:
    response = await client.get(f"{SHARED}/{token}", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def contents(body: dict[str, Any]) -> list[str | None]:
    return [message["content"] for message in body["messages"]]
