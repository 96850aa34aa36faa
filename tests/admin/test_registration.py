"""The registration policy (CONFIDE_REGISTRATION): open, invite, approval, closed; invitations
spent once, whatever the concurrency; pending accounts that can sign in and use nothing."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from confide.access.models import Invite
from tests.access.test_declarations import declarations
from tests.admin.helpers import admin, audit, detail, make_role
from tests.conftest import client_for
from tests.factories import PASSWORD, assert_problem, bearer, login, unique_email

AppFactory = Callable[..., FastAPI]


@asynccontextmanager
async def policy(app_factory: AppFactory, name: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app on the test's database under registration policy `name`."""
    app = app_factory(registration=name)
    try:
        async with client_for(app) as client:
            yield client
    finally:
        await app.state.database.dispose()


async def new_invite(
    client: httpx.AsyncClient, headers: dict[str, str], **body: Any
) -> dict[str, Any]:
    response = await client.post("/api/admin/invites", json=body, headers=headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def sign_up(
    client: httpx.AsyncClient, *, invite: str | None = None, email: str | None = None, **extra: Any
) -> httpx.Response:
    body: dict[str, Any] = {"email": email or unique_email(), "password": PASSWORD, **extra}
    if invite is not None:
        body["invite"] = invite
    return await client.post("/api/auth/register", json=body)


async def invite_row(app: FastAPI, invite_id: str) -> Invite:
    async with app.state.database.session() as db:
        row = await db.get(Invite, uuid.UUID(invite_id))
        assert row is not None
        return row


# open -----------------------------------------------------------------------------------------


async def test_open_registration_is_audited(client: httpx.AsyncClient, app: FastAPI) -> None:
    response = await sign_up(client)
    assert response.status_code == 201
    user = response.json()
    assert (user["status"], user["roles"]) == ("active", ["user"])
    [event] = await audit(app, "auth.registered")
    assert (event.actor_id, event.actor, event.target_type, event.target_id) == (
        uuid.UUID(user["id"]),
        user["email"],
        "user",
        user["id"],
    )
    assert detail(event) == {
        "policy": "open",
        "status": "active",
        "roles": ["user"],
        "invite_id": None,
    }
    assert PASSWORD not in event.detail


async def test_an_invite_under_open_registration_gives_its_roles(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    _, headers = await admin(client, app)
    await make_role(client, headers, "auditors", ["audit:read"])
    made = await new_invite(client, headers, roles=["auditors"])
    response = await sign_up(client, invite=made["token"])
    assert response.status_code == 201, response.text
    user = response.json()
    assert user["roles"] == ["auditors", "user"]
    row = await invite_row(app, made["id"])
    assert (row.used_by, row.used_at is not None) == (uuid.UUID(user["id"]), True)
    [used] = await audit(app, "invite.used")
    assert (used.actor_id, used.target_type, used.target_id) == (
        uuid.UUID(user["id"]),
        "invite",
        made["id"],
    )
    [registered] = [e for e in await audit(app, "auth.registered") if e.actor == user["email"]]
    assert detail(registered)["invite_id"] == made["id"]
    assert made["token"] not in used.detail + registered.detail


async def test_a_failed_registration_leaves_the_invite_unspent_and_nothing_recorded(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    _, headers = await admin(client, app)
    made = await new_invite(client, headers)
    weak = await client.post(
        "/api/auth/register",
        json={"email": unique_email(), "password": "password1234", "invite": made["token"]},
    )
    assert_problem(weak, 422, "weak_password")
    taken = await sign_up(client)
    again = await sign_up(client, invite=made["token"], email=taken.json()["email"])
    assert_problem(again, 409, "email_unavailable")
    row = await invite_row(app, made["id"])
    assert (row.used_at, row.used_by) == (None, None)
    assert await audit(app, "invite.used") == []
    assert len(await audit(app, "auth.registered")) == 2  # the admin's and `taken`'s
    assert (await sign_up(client, invite=made["token"])).status_code == 201


# invite ---------------------------------------------------------------------------------------


async def test_invite_only_registration(
    client: httpx.AsyncClient, app: FastAPI, app_factory: AppFactory
) -> None:
    _, headers = await admin(client, app)
    bound = await new_invite(client, headers, email="Invited@Example.org")
    expired = await new_invite(client, headers)
    revoked = await new_invite(client, headers)
    assert (await client.delete(f"/api/admin/invites/{revoked['id']}", headers=headers)).is_success
    async with app.state.database.begin() as conn:
        await conn.execute(
            update(Invite)
            .where(Invite.id == uuid.UUID(expired["id"]))
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    async with policy(app_factory, "invite") as invited:
        assert_problem(await sign_up(invited), 403, "invite_required")
        assert_problem(await sign_up(invited, invite="not-a-token"), 403, "invite_invalid")
        assert_problem(await sign_up(invited, invite=revoked["token"]), 403, "invite_invalid")
        assert_problem(await sign_up(invited, invite=expired["token"]), 403, "invite_expired")
        wrong = await sign_up(invited, invite=bound["token"], email="someone.else@example.org")
        assert_problem(wrong, 403, "invite_email_mismatch")
        assert (await invite_row(app, bound["id"])).used_at is None
        # The bound address, in any case and form (its key is what counts).
        ok = await sign_up(invited, invite=bound["token"], email=" invited@EXAMPLE.org")
        assert ok.status_code == 201, ok.text
        assert ok.json()["status"] == "active"
        reused = await sign_up(invited, invite=bound["token"], email="invited2@example.org")
        assert_problem(reused, 403, "invite_used")
        tokens = await login(invited, email="invited@example.org")
        assert (
            await invited.get("/api/threads", headers=bearer(tokens["access_token"]))
        ).is_success
    [event] = [e for e in await audit(app, "auth.registered") if detail(e)["policy"] == "invite"]
    assert detail(event)["invite_id"] == bound["id"]


async def test_two_registrations_with_one_invite_at_once_one_wins(
    client: httpx.AsyncClient, app: FastAPI, app_factory: AppFactory
) -> None:
    _, headers = await admin(client, app)
    made = await new_invite(client, headers)
    async with policy(app_factory, "invite") as invited:
        results = await asyncio.gather(*(sign_up(invited, invite=made["token"]) for _ in range(4)))
    statuses = sorted(r.status_code for r in results)
    assert statuses == [201, 403, 403, 403], [r.text for r in results]
    for refused in (r for r in results if r.status_code == 403):
        assert_problem(refused, 403, "invite_used")
    [winner] = [r.json() for r in results if r.status_code == 201]
    assert (await invite_row(app, made["id"])).used_by == uuid.UUID(winner["id"])
    assert len(await audit(app, "invite.used")) == 1


# approval -------------------------------------------------------------------------------------


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)


async def test_a_pending_account_signs_in_and_uses_nothing_until_approved(
    client: httpx.AsyncClient, app: FastAPI, app_factory: AppFactory
) -> None:
    _, admin_headers = await admin(client, app)
    async with policy(app_factory, "approval") as waiting:
        response = await sign_up(waiting)
        assert response.status_code == 201
        pending = response.json()
        assert (pending["status"], pending["roles"]) == ("pending", ["user"])
        headers = bearer((await login(waiting, email=pending["email"]))["access_token"])
        me = (await waiting.get("/api/auth/me", headers=headers)).json()
        assert (me["status"], me["permissions"]) == ("pending", [])
        # Every route that needs a permission, whatever it is, refuses the same way.
        guarded = [
            (method, path)
            for (method, path), rules in declarations(app).items()
            if set(rules) - {"public", "authenticated"} and method != "WEBSOCKET"
        ]
        assert len(guarded) > 20
        for method, path in guarded:
            refused = await waiting.request(method, concrete(path), headers=headers, json={})
            assert_problem(refused, 403, "pending_approval")
        # Their own account works: sessions, account activity.
        assert (await waiting.get("/api/auth/sessions", headers=headers)).status_code == 200
        assert (await waiting.get("/api/auth/events", headers=headers)).status_code == 200
        [event] = [
            e for e in await audit(app, "auth.registered") if detail(e)["policy"] == "approval"
        ]
        assert detail(event)["status"] == "pending"

        # On the same app: another process hears of it only through Redis (test_revocation).
        approved = await waiting.patch(
            f"/api/admin/users/{pending['id']}", json={"status": "active"}, headers=admin_headers
        )
        assert approved.status_code == 200
        assert (await waiting.get("/api/threads", headers=headers)).status_code == 200
        assert (await waiting.get("/api/auth/me", headers=headers)).json()["status"] == "active"


async def test_an_invite_skips_approval(
    client: httpx.AsyncClient, app: FastAPI, app_factory: AppFactory
) -> None:
    _, headers = await admin(client, app)
    made = await new_invite(client, headers)
    async with policy(app_factory, "approval") as waiting:
        response = await sign_up(waiting, invite=made["token"])
        assert response.status_code == 201
        assert response.json()["status"] == "active"


async def test_pending_accounts_are_listed_for_approval(
    client: httpx.AsyncClient, app: FastAPI, app_factory: AppFactory
) -> None:
    _, headers = await admin(client, app)
    async with policy(app_factory, "approval") as waiting:
        pending = (await sign_up(waiting)).json()
    listed = (
        await client.get("/api/admin/users", params={"status": "pending"}, headers=headers)
    ).json()
    assert [u["id"] for u in listed["items"]] == [pending["id"]]


# closed ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("settings", [{"registration": "closed"}, {"registration_open": False}])
async def test_closed_registration_refuses_everyone(
    client: httpx.AsyncClient, app: FastAPI, app_factory: AppFactory, settings: dict[str, Any]
) -> None:
    _, headers = await admin(client, app)
    made = await new_invite(client, headers)
    closed = app_factory(**settings)
    try:
        assert closed.state.settings.registration == "closed"
        async with client_for(closed) as anyone:
            assert_problem(await sign_up(anyone), 403, "registration_closed")
            assert_problem(await sign_up(anyone, invite=made["token"]), 403, "registration_closed")
    finally:
        await closed.state.database.dispose()
    async with app.state.database.session() as db:
        row = (await db.execute(select(Invite))).scalar_one()
    assert row.used_at is None


async def test_the_invite_field_is_checked(client: httpx.AsyncClient) -> None:
    for token in ("", "x" * 257):
        assert_problem(await sign_up(client, invite=token), 422, "validation_error")
