"""Uploading an export and reading what the import made of it, through the HTTP API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from tests.conftest import settle_jobs

IMPORTS = "/api/imports"
CHATGPT_FIXTURE = Path(__file__).with_name("conversations.json")


def chatgpt_export() -> list[dict[str, Any]]:
    loaded: list[dict[str, Any]] = json.loads(CHATGPT_FIXTURE.read_text())
    return loaded


async def upload(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    content: bytes | Any,
    *,
    filename: str = "conversations.json",
    **form: str,
) -> httpx.Response:
    body = content if isinstance(content, bytes) else json.dumps(content).encode()
    return await client.post(
        IMPORTS,
        files={"file": (filename, body, "application/json")},
        data=form,
        headers=headers,
    )


async def imported(
    app: FastAPI, client: httpx.AsyncClient, headers: dict[str, str], content: bytes | Any
) -> dict[str, Any]:
    """Upload, let the job finish, and return the finished import."""
    response = await upload(client, headers, content)
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "queued"
    await settle_jobs(app)
    found = await client.get(f"{IMPORTS}/{response.json()['id']}", headers=headers)
    assert found.status_code == 200, found.text
    body: dict[str, Any] = found.json()
    assert body["status"] == "completed", body
    return body


async def threads_by_title(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> dict[str | None, dict[str, Any]]:
    listing = await client.get("/api/threads", headers=headers)
    assert listing.status_code == 200, listing.text
    return {t["title"]: t for t in listing.json()["items"]}


async def path_contents(
    client: httpx.AsyncClient, headers: dict[str, str], thread_id: str, *, path: str | None = None
) -> list[tuple[str, str | None]]:
    params = {"limit": "100", **({"path": path} if path else {})}
    page = await client.get(f"/api/threads/{thread_id}/messages", params=params, headers=headers)
    assert page.status_code == 200, page.text
    return [(m["role"], m["content"]) for m in page.json()["items"]]


async def tree(
    client: httpx.AsyncClient, headers: dict[str, str], thread_id: str
) -> dict[str, Any]:
    """The thread's every branch, as its JSON export (all=true)."""
    response = await client.get(
        f"/api/threads/{thread_id}/export",
        params={"format": "json", "all": "true"},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def edges(export: dict[str, Any]) -> set[tuple[str | None, str | None]]:
    """(parent's content, message's content) for every message of an export: its tree's shape,
    whatever its ids."""
    content = {m["id"]: m["content"] for m in export["messages"]}
    return {(content.get(m["parent_id"]), m["content"]) for m in export["messages"]}


async def stored(
    app: FastAPI,
    thread_id: str,
    owner_id: str,
    messages: list[Any],
    *,
    parent_id: Any = None,
    activate: bool = True,
) -> list[str]:
    """Store messages as runs do (MessageLog), chained from `parent_id`; their ids."""
    import uuid

    from confide.threads.service import MessageLog

    async with app.state.database.session() as db:
        shown = await MessageLog(app.state.vault).append(
            db,
            owner_id=uuid.UUID(owner_id),
            thread_id=uuid.UUID(thread_id),
            messages=messages,
            run_id=None,
            parent_id=None if parent_id is None else uuid.UUID(str(parent_id)),
            activate=activate,
        )
    assert shown
    return [str(m.id) for m in shown]


async def branched_thread(
    app: FastAPI, client: httpx.AsyncClient, headers: dict[str, str], owner_id: str
) -> tuple[str, dict[str, str]]:
    """A thread with a tool-call turn and two branches (an edited first question); the
    active path is the edit's. Returns the thread id and its messages' ids by name."""
    from confide.threads.service import NewMessage

    response = await client.post("/api/threads", json={"title": "Sums"}, headers=headers)
    assert response.status_code == 201, response.text
    thread_id = response.json()["id"]
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "add", "arguments": '{"a":2,"b":3}'},
    }
    first = await stored(
        app,
        thread_id,
        owner_id,
        [
            NewMessage(role="user", content="What is 2 + 3?"),
            NewMessage(role="assistant", content=None, tool_calls=[call]),
            NewMessage(role="tool", content="5", tool_call_id="call_1", name="add"),
            NewMessage(role="assistant", content="2 + 3 = **5**."),
        ],
    )
    edit = await stored(
        app,
        thread_id,
        owner_id,
        [
            NewMessage(role="user", content="What is 2 + 4?"),
            NewMessage(role="assistant", content="Six, stopped", interrupted=True),
        ],
    )
    names = ["question", "call", "result", "answer", "edit", "stopped"]
    return thread_id, dict(zip(names, first + edit, strict=True))
