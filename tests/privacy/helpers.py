"""Test data for the privacy tests: accounts with threads and messages, made through the HTTP
API (messages stored the way a run stores them)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from confide.auth.models import AuthSession
from confide.db.base import utcnow
from confide.threads.models import Thread
from confide.threads.service import NewMessage, ThreadService

ME = "/api/me"
EXPORT = "/api/me/export"


async def thread_with(
    app: FastAPI, client: httpx.AsyncClient, headers: dict[str, str], title: str, *texts: str
) -> str:
    """A thread of the caller titled `title`, holding a user message per text; its id."""
    response = await client.post("/api/threads", json={"title": title}, headers=headers)
    assert response.status_code == 201, response.text
    thread_id: str = response.json()["id"]
    async with app.state.database.sessionmaker() as db:
        thread = await db.get(Thread, uuid.UUID(thread_id))
        assert thread is not None
        messages = [NewMessage(role="user", content=text) for text in texts]
        await ThreadService(db, vault=app.state.vault).append(thread, messages, run_id=None)
        await db.commit()
    return thread_id


async def age_sign_ins(app: FastAPI, minutes: int = 11) -> None:
    """Every session last proved who it is `minutes` ago (past the step-up window)."""
    async with app.state.database.session() as db:
        await db.execute(
            update(AuthSession).values(authenticated_at=utcnow() - timedelta(minutes=minutes))
        )


async def delete_me(
    client: httpx.AsyncClient, headers: dict[str, str], email: str
) -> httpx.Response:
    return await client.request("DELETE", ME, json={"email": email}, headers=headers)


async def export_of(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    response = await client.get(EXPORT, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
