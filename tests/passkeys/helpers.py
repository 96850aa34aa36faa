"""Helpers for the passkey tests: registering a passkey and signing in with one, over HTTP."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from confide.auth.models import AuthSession
from confide.db.base import utcnow
from tests.passkeys.authenticator import Authenticator


async def register_passkey(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    authenticator: Authenticator | None = None,
    *,
    name: str | None = "Laptop",
) -> tuple[Authenticator, dict[str, Any]]:
    """A passkey registered for the caller: its authenticator and the 201 body."""
    authenticator = authenticator or Authenticator()
    options = await client.post("/api/auth/passkeys/register/options", headers=headers)
    assert options.status_code == 200, options.text
    body: dict[str, Any] = {"credential": authenticator.create(options.json())}
    if name is not None:
        body["name"] = name
    created = await client.post("/api/auth/passkeys/register/verify", json=body, headers=headers)
    assert created.status_code == 201, created.text
    return authenticator, created.json()


async def sign_in_options(client: httpx.AsyncClient, **body: str) -> dict[str, Any]:
    response = await client.post("/api/auth/passkeys/authenticate/options", json=body or None)
    assert response.status_code == 200, response.text
    options: dict[str, Any] = response.json()
    return options


async def verify(
    client: httpx.AsyncClient, credential: dict[str, Any], **body: str
) -> httpx.Response:
    return await client.post(
        "/api/auth/passkeys/authenticate/verify", json={"credential": credential, **body}
    )


async def age_sessions(app: FastAPI, minutes: int = 11) -> None:
    """Every session last proved who it is `minutes` ago (past the step-up window)."""
    async with app.state.database.session() as db:
        await db.execute(
            update(AuthSession).values(authenticated_at=utcnow() - timedelta(minutes=minutes))
        )
