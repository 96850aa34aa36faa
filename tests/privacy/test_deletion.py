"""Deleting an account (`DELETE /api/me`, `DELETE /api/admin/users/{id}`): the data key goes
first, then every row; the trail keeps a pseudonymous record and still verifies."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, insert, select

from confide.access.models import UserRole
from confide.audit.models import AuditEvent
from confide.audit.verify import verify_chain
from confide.auth.models import AuthSession, User
from confide.crypto.errors import DecryptionFailed
from confide.crypto.models import UserKey
from confide.memories.models import Memory
from confide.preferences.models import UserSettings
from confide.privacy.deletion import ACCOUNT_DELETED, pseudonym
from confide.threads.models import Message, Thread, ThreadShare
from tests.admin.helpers import account, admin, make_role
from tests.admin.test_revocation import Apps, cached_on, on
from tests.conftest import client_for
from tests.factories import PASSWORD, assert_problem, signed_up
from tests.privacy.helpers import age_sign_ins, delete_me, thread_with


async def _count(app: FastAPI, model: Any, *where: Any) -> int:
    async with app.state.database.session() as db:
        found: int = (
            await db.execute(select(func.count()).select_from(model).where(*where))
        ).scalar_one()
        return found


async def _deleted_events(app: FastAPI) -> list[AuditEvent]:
    async with app.state.database.session() as db:
        rows = await db.execute(select(AuditEvent).where(AuditEvent.action == ACCOUNT_DELETED))
        return list(rows.scalars().all())


async def test_deleting_ones_account_removes_its_key_and_rows_and_leaves_others(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    alice, alice_headers = await signed_up(client)
    bob, bob_headers = await signed_up(client)
    alice_id = uuid.UUID(alice["id"])
    mine = await thread_with(app, client, alice_headers, "Alice's thread", "alice's words")
    bobs = await thread_with(app, client, bob_headers, "Bob's thread", "bob's words")
    for owner, thread, other in ((alice_headers, mine, bob), (bob_headers, bobs, alice)):
        shared = await client.post(
            f"/api/threads/{thread}/shares", json={"email": other["email"]}, headers=owner
        )
        assert shared.status_code == 202, shared.text
    assert await _count(app, UserKey, UserKey.user_id == alice_id) == 1
    for path, method, body in (
        ("/api/me/settings", "PATCH", {"retention_days": 30}),
        ("/api/me/memories", "POST", {"content": "alice likes plums"}),
    ):
        made = await client.request(method, path, json=body, headers=alice_headers)
        assert made.status_code in (200, 201), made.text

    response = await delete_me(client, alice_headers, alice["email"].upper())
    assert response.status_code == 204, response.text

    assert await _count(app, UserKey, UserKey.user_id == alice_id) == 0
    assert await _count(app, User, User.id == alice_id) == 0
    assert await _count(app, AuthSession, AuthSession.user_id == alice_id) == 0
    assert await _count(app, Thread, Thread.owner_id == alice_id) == 0
    assert await _count(app, Message, Message.thread_id == uuid.UUID(mine)) == 0
    assert await _count(app, ThreadShare) == 0  # hers, and Bob's share with her
    assert await _count(app, UserRole, UserRole.user_id == alice_id) == 0
    assert await _count(app, Memory, Memory.user_id == alice_id) == 0
    assert await _count(app, UserSettings, UserSettings.user_id == alice_id) == 0
    # Her session ends at once, and she cannot sign in again.
    gone = await client.get("/api/auth/me", headers=alice_headers)
    assert_problem(gone, 401, "session_expired")
    refused = await client.post(
        "/api/auth/login", json={"email": alice["email"], "password": PASSWORD}
    )
    assert refused.status_code == 401
    # Bob's data is untouched.
    thread = await client.get(f"/api/threads/{bobs}", headers=bob_headers)
    assert thread.json()["title"] == "Bob's thread"
    messages = (await client.get(f"/api/threads/{bobs}/messages", headers=bob_headers)).json()
    assert [m["content"] for m in messages["items"]] == ["bob's words"]
    listed = await client.get("/api/threads", params={"shared": "true"}, headers=bob_headers)
    assert [t["id"] for t in listed.json()["items"]] == [bobs]  # hers, shared with him, gone


async def test_the_trail_keeps_a_pseudonymous_record_and_still_verifies(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user, headers = await signed_up(client)
    assert (await delete_me(client, headers, user["email"])).status_code == 204
    [event] = await _deleted_events(app)
    name = pseudonym(app.state.settings.resolved_secret_key(), uuid.UUID(user["id"]))
    assert name.startswith("deleted-user:")
    assert (event.actor, event.actor_id, event.target_type, event.target_id) == (
        name,
        None,
        "user",
        name,
    )
    assert user["email"] not in (event.actor or "") + event.detail
    assert event.ip is None  # where the deleted user was stays out of their record
    assert json.loads(event.detail) == {"by": "self"}
    report = await verify_chain(app.state.database)
    assert report.intact, report.reason


async def test_a_ciphertext_copied_before_deletion_can_no_longer_be_opened(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user, headers = await signed_up(client)
    user_id = uuid.UUID(user["id"])
    thread = await thread_with(app, client, headers, "Kept elsewhere", "a copy in a backup")
    async with app.state.database.session() as db:
        message_id, blob = (
            await db.execute(
                select(Message.id, Message.content).where(Message.thread_id == uuid.UUID(thread))
            )
        ).one()
        codec = await app.state.vault.codec(db, user_id)
        assert codec.decode(blob, table="messages", column="content", row_id=message_id) == (
            "a copy in a backup"
        )
    assert (await delete_me(client, headers, user["email"])).status_code == 204
    # The account restored from a backup of its rows (its key was not among them): the
    # vault makes it a new key, and the old ciphertext does not open under it.
    async with app.state.database.begin() as conn:
        await conn.execute(
            insert(User).values(
                id=user_id,
                email="x@example.org",
                email_key="x@example.org",
                password_hash="-",
                display_name=None,
            )
        )
    async with app.state.database.session() as db:
        codec = await app.state.vault.codec(db, user_id)
        with pytest.raises(DecryptionFailed):
            codec.decode(blob, table="messages", column="content", row_id=message_id)


async def test_deleting_needs_a_recent_sign_in_and_changes_nothing_without(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user, headers = await signed_up(client)
    user_id = uuid.UUID(user["id"])
    await thread_with(app, client, headers, "Still here", "still here")
    await age_sign_ins(app)
    assert_problem(await delete_me(client, headers, user["email"]), 401, "reauth_required")
    assert await _count(app, UserKey, UserKey.user_id == user_id) == 1
    assert await _count(app, Thread, Thread.owner_id == user_id) == 1
    assert (await client.get("/api/auth/me", headers=headers)).status_code == 200
    assert await _deleted_events(app) == []
    ok = await client.post("/api/auth/reauth", json={"password": PASSWORD}, headers=headers)
    assert ok.status_code == 200, ok.text
    assert (await delete_me(client, headers, user["email"])).status_code == 204


async def test_deleting_needs_the_accounts_email_typed_again(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user, headers = await signed_up(client)
    user_id = uuid.UUID(user["id"])
    await thread_with(app, client, headers, "Kept", "kept")
    wrong = await delete_me(client, headers, "someone@example.org")
    assert_problem(wrong, 422, "confirmation_mismatch")
    missing = await client.request("DELETE", "/api/me", json={}, headers=headers)
    assert_problem(missing, 422, "validation_error")
    assert await _count(app, UserKey, UserKey.user_id == user_id) == 1
    assert await _count(app, User, User.id == user_id) == 1


async def test_the_last_administrator_cannot_delete_their_account(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    boss, headers = await admin(client, app)
    await thread_with(app, client, headers, "Admin's own", "kept")
    assert_problem(await delete_me(client, headers, boss["email"]), 409, "last_admin")
    assert await _count(app, UserKey, UserKey.user_id == uuid.UUID(boss["id"])) == 1
    assert await _count(app, User, User.id == uuid.UUID(boss["id"]), User.status == "active") == 1
    assert (await client.get("/api/auth/me", headers=headers)).status_code == 200


async def test_an_administrator_deletes_an_account(app: FastAPI, client: httpx.AsyncClient) -> None:
    boss, admin_headers = await admin(client, app)
    user, headers = await signed_up(client)
    user_id = uuid.UUID(user["id"])
    await thread_with(app, client, headers, "Theirs", "their words")
    response = await client.delete(f"/api/admin/users/{user_id}", headers=admin_headers)
    assert response.status_code == 204, response.text
    assert await _count(app, UserKey, UserKey.user_id == user_id) == 0
    assert await _count(app, User, User.id == user_id) == 0
    assert await _count(app, Thread, Thread.owner_id == user_id) == 0
    assert (await client.get("/api/auth/me", headers=headers)).status_code == 401
    [event] = await _deleted_events(app)
    assert event.actor_id == uuid.UUID(boss["id"])
    assert event.target_id == pseudonym(app.state.settings.resolved_secret_key(), user_id)
    assert json.loads(event.detail) == {"by": "admin"}
    assert (await verify_chain(app.state.database)).intact
    again = await client.delete(f"/api/admin/users/{user_id}", headers=admin_headers)
    assert_problem(again, 404, "user_not_found")


async def test_an_administrator_cannot_delete_their_own_account_as_admin(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    boss, headers = await admin(client, app)
    response = await client.delete(f"/api/admin/users/{boss['id']}", headers=headers)
    assert_problem(response, 403, "own_account")
    assert await _count(app, User, User.id == uuid.UUID(boss["id"])) == 1


async def test_deleting_as_an_administrator_needs_a_recent_sign_in(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, admin_headers = await admin(client, app)
    user, headers = await signed_up(client)
    await thread_with(app, client, headers, "Kept", "kept")
    await age_sign_ins(app)
    response = await client.delete(f"/api/admin/users/{user['id']}", headers=admin_headers)
    assert_problem(response, 401, "reauth_required")
    assert await _count(app, UserKey, UserKey.user_id == uuid.UUID(user["id"])) == 1


async def test_an_account_that_outranks_the_caller_is_not_deleted(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, admin_headers = await admin(client, app)
    await make_role(client, admin_headers, "manager", ["users:manage", "users:read"])
    _, manager_headers = await account(client, app, "manager")
    boss, _ = await admin(client, app)
    response = await client.delete(f"/api/admin/users/{boss['id']}", headers=manager_headers)
    assert_problem(response, 403, "user_outranks_caller")
    assert await _count(app, User, User.id == uuid.UUID(boss["id"]), User.status == "active") == 1
    async with app.state.database.session() as db:
        refusal = (
            await db.execute(select(AuditEvent).where(AuditEvent.action == ACCOUNT_DELETED))
        ).scalar_one()
    assert refusal.outcome == "denied"  # the refusal is kept in the trail


async def test_another_process_refuses_the_deleted_accounts_session_at_once(
    two_apps: Apps, loads: list[uuid.UUID]
) -> None:
    """Two processes sharing Redis: the session B has cached is refused by B as soon as A has
    deleted the account."""
    a, b = two_apps
    async with client_for(a) as client:
        user, headers = await signed_up(client)
        await cached_on(b, headers, loads)
        assert (await delete_me(client, headers, user["email"])).status_code == 204
    assert (await on(b, "GET", "/api/auth/me", headers=headers)).status_code == 401
