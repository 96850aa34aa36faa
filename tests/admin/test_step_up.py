"""Every admin change needs a recent authentication (issue 11, deliverable 5): an admin whose
sign-in is older than CONFIDE_REAUTH_WINDOW_SECONDS reads as before, but a change answers 401
`reauth_required` and changes nothing until `POST /api/auth/reauth`."""

from __future__ import annotations

from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import select, update

from confide.auth.models import AuthSession, User
from confide.db.base import utcnow
from tests.admin.helpers import admin
from tests.factories import PASSWORD, assert_problem, register


async def age_sessions(app: FastAPI, minutes: int) -> None:
    async with app.state.database.session() as db:
        await db.execute(
            update(AuthSession).values(authenticated_at=utcnow() - timedelta(minutes=minutes))
        )


async def test_an_old_sign_in_reads_but_must_reauthenticate_to_change(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, headers = await admin(client, app)
    user = await register(client)
    await age_sessions(app, 11)

    listed = await client.get("/api/admin/users", headers=headers)
    assert listed.status_code == 200, listed.text
    for method, path, body in (
        ("PATCH", f"/api/admin/users/{user['id']}", {"status": "disabled"}),
        ("DELETE", f"/api/admin/users/{user['id']}/sessions", None),
        ("POST", "/api/admin/roles", {"name": "helpdesk", "permissions": []}),
        ("POST", "/api/admin/invites", {}),
        ("POST", "/api/admin/ip-rules", {"cidr": "203.0.113.0/24", "action": "block"}),
    ):
        refused = await client.request(method, path, json=body, headers=headers)
        assert_problem(refused, 401, "reauth_required")
    async with app.state.database.session() as db:
        status = await db.scalar(select(User.status).where(User.email == user["email"]))
    assert status == "active"  # nothing changed

    again = await client.post("/api/auth/reauth", json={"password": PASSWORD}, headers=headers)
    assert again.status_code == 200, again.text
    done = await client.patch(
        f"/api/admin/users/{user['id']}", json={"status": "disabled"}, headers=headers
    )
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "disabled"


async def test_a_fresh_sign_in_changes_at_once(app: FastAPI, client: httpx.AsyncClient) -> None:
    _, headers = await admin(client, app)
    created = await client.post("/api/admin/invites", json={}, headers=headers)
    assert created.status_code == 201, created.text


async def test_ending_another_session_needs_step_up_but_signing_out_does_not(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    from tests.factories import bearer, login

    user = await register(client)
    first = await login(client, email=user["email"])
    second = await login(client, email=user["email"])
    headers = bearer(first["access_token"])
    await age_sessions(app, 11)
    sessions = (await client.get("/api/auth/sessions", headers=headers)).json()["items"]
    other = next(s["id"] for s in sessions if not s["current"])
    refused = await client.delete(f"/api/auth/sessions/{other}", headers=headers)
    assert_problem(refused, 401, "reauth_required")
    still = await client.get("/api/auth/me", headers=bearer(second["access_token"]))
    assert still.status_code == 200  # not ended
    await client.post("/api/auth/reauth", json={"password": PASSWORD}, headers=headers)
    ended = await client.delete(f"/api/auth/sessions/{other}", headers=headers)
    assert ended.status_code == 204, ended.text
    await age_sessions(app, 11)
    own = next(s["id"] for s in sessions if s["current"])
    signed_out = await client.delete(f"/api/auth/sessions/{own}", headers=headers)
    assert signed_out.status_code == 204, signed_out.text
