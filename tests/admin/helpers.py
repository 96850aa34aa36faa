"""Test data for the admin tests, made through the HTTP API (and the database where only
the shell could make it: the first administrator)."""

from __future__ import annotations

import json
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from confide.audit.models import AuditEvent
from tests.factories import PASSWORD, bearer, grant_role, login, register


async def account(
    client: httpx.AsyncClient, app: FastAPI, *roles: str, **kwargs: Any
) -> tuple[dict[str, Any], dict[str, str]]:
    """A registered user holding `roles` as well as `user`, signed in after they were given
    (so the session knows them): the user body and bearer headers."""
    user = await register(client, **kwargs)
    for role in roles:
        await grant_role(app, user["id"], role)
    tokens = await login(client, email=user["email"], password=kwargs.get("password", PASSWORD))
    return user, bearer(tokens["access_token"])


async def admin(client: httpx.AsyncClient, app: FastAPI) -> tuple[dict[str, Any], dict[str, str]]:
    return await account(client, app, "admin")


async def make_role(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    name: str,
    permissions: list[str] | None = None,
    parent: str | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name, "permissions": permissions or []}
    if parent is not None:
        body["parent"] = parent
    response = await client.post("/api/admin/roles", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def audit(app: FastAPI, action: str | None = None) -> list[AuditEvent]:
    """The recorded events (of one action), oldest first."""
    stmt = select(AuditEvent).order_by(AuditEvent.id)
    if action is not None:
        stmt = stmt.where(AuditEvent.action == action)
    async with app.state.database.session() as db:
        return list((await db.execute(stmt)).scalars().all())


def detail(event: AuditEvent) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(event.detail)
    return value
