"""A passkey as the second factor a role's `mfa_required` asks for: enrolling one lifts the
gate at once, and the last second factor of such a user cannot be removed."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from confide.access.models import Role
from confide.mfa.errors import MfaRequiredByRole
from confide.mfa.models import MfaTotp
from confide.mfa.requirement import check_second_factor_kept
from confide.passkeys import repository as passkey_repository
from tests.factories import assert_problem, bearer, grant_role, login, register, signed_up
from tests.mfa.helpers import challenge, enrolled, use_clock
from tests.passkeys.helpers import register_passkey


async def _role_requiring_mfa(app: FastAPI, name: str, *, inherited_by: str | None = None) -> None:
    """A role whose holders must have a second factor (and, if named, a child role that
    inherits the requirement from it)."""
    async with app.state.database.session() as db:
        role = Role(id=uuid.uuid4(), name=name, mfa_required=True)
        db.add(role)
        if inherited_by is not None:
            db.add(Role(id=uuid.uuid4(), name=inherited_by, parent_id=role.id))


async def test_registering_a_passkey_lifts_the_enrolment_gate(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await _role_requiring_mfa(app, "finance")
    user = await register(client)
    await grant_role(app, user["id"], "finance")
    headers = bearer((await login(client, email=user["email"]))["access_token"])
    assert_problem(await client.get("/api/threads", headers=headers), 403,
                   "mfa_enrolment_required")  # fmt: skip
    # Passkeys on the other paths stay behind the gate: only listing and registering pass.
    missing = f"/api/auth/passkeys/{uuid.uuid4()}"
    assert_problem(await client.delete(missing, headers=headers), 403, "mfa_enrolment_required")
    listed = await client.get("/api/auth/passkeys", headers=headers)
    assert listed.status_code == 200, listed.text
    assert listed.json()["items"] == []

    await register_passkey(client, headers)
    # The same session may do everything now, on its very next request.
    assert (await client.get("/api/threads", headers=headers)).status_code == 200
    # And a password sign-in asks for the passkey as its second step.
    step = await challenge(client, user["email"])
    assert step["methods"] == ["passkey"]


async def test_an_inherited_requirement_keeps_the_only_passkey(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await _role_requiring_mfa(app, "staff", inherited_by="interns")
    user, headers = await signed_up(client)
    _, created = await register_passkey(client, headers)
    await grant_role(app, user["id"], "interns")
    await app.state.auth.cache.invalidate_user(uuid.UUID(user["id"]))  # the session knows it
    refused = await client.delete(f"/api/auth/passkeys/{created['id']}", headers=headers)
    body = assert_problem(refused, 409, "mfa_required_by_role")
    assert "passkey" in body["detail"]
    # Nothing changed: the passkey is there, its removal was not audited, no gate.
    listed = (await client.get("/api/auth/passkeys", headers=headers)).json()["items"]
    assert [p["id"] for p in listed] == [created["id"]]
    events = (await client.get("/api/auth/events", headers=headers)).json()["items"]
    assert "auth.passkey_removed" not in [e["action"] for e in events]
    assert (await client.get("/api/threads", headers=headers)).status_code == 200


async def test_with_a_second_passkey_one_may_go(app: FastAPI, client: httpx.AsyncClient) -> None:
    await _role_requiring_mfa(app, "finance")
    user, headers = await signed_up(client)
    _, first = await register_passkey(client, headers, name="Phone")
    _, second = await register_passkey(client, headers, name="Laptop")
    await grant_role(app, user["id"], "finance")
    gone = await client.delete(f"/api/auth/passkeys/{first['id']}", headers=headers)
    assert gone.status_code == 204, gone.text
    last = await client.delete(f"/api/auth/passkeys/{second['id']}", headers=headers)
    assert_problem(last, 409, "mfa_required_by_role")


async def test_two_removals_at_once_leave_one_factor(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """Two transactions each remove one of the last two passkeys: the second one's check
    waits for the first's lock on the user's row, then sees its removal and refuses."""
    database = app.state.database
    if database.is_sqlite:
        pytest.skip("SQLite runs one writer at a time: nothing to race")
    await _role_requiring_mfa(app, "finance")
    user, headers = await signed_up(client)
    _, first = await register_passkey(client, headers, name="Phone")
    _, second = await register_passkey(client, headers, name="Laptop")
    await grant_role(app, user["id"], "finance")
    user_id = uuid.UUID(user["id"])
    async with database.sessionmaker() as one, database.sessionmaker() as two:
        await passkey_repository.delete_owned(one, user_id, uuid.UUID(first["id"]))
        await check_second_factor_kept(one, user_id)  # the other passkey is still there
        await passkey_repository.delete_owned(two, user_id, uuid.UUID(second["id"]))
        pid = (await two.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        checking = asyncio.create_task(check_second_factor_kept(two, user_id))
        async with database.sessionmaker() as watcher:
            waits = text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid")
            while not checking.done():
                if (await watcher.execute(waits, {"pid": pid})).scalar_one() == "Lock":
                    break
        assert not checking.done(), "the second check did not wait for the first's lock"
        await one.commit()
        with pytest.raises(MfaRequiredByRole):
            await checking
        await two.rollback()
    listed = (await client.get("/api/auth/passkeys", headers=headers)).json()["items"]
    assert [p["id"] for p in listed] == [second["id"]]


async def test_with_totp_on_the_passkey_may_go_and_then_totp_may_not(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    clock = use_clock(app)
    await _role_requiring_mfa(app, "finance")
    account = await enrolled(client, clock)
    _, created = await register_passkey(client, account.headers)
    await grant_role(app, account.user["id"], "finance")
    gone = await client.delete(f"/api/auth/passkeys/{created['id']}", headers=account.headers)
    assert gone.status_code == 204, gone.text
    # TOTP is now the last second factor: turning it off is refused the same way.
    off = await client.delete("/api/auth/mfa/totp", headers=account.headers)
    assert_problem(off, 409, "mfa_required_by_role")
    status = (await client.get("/api/auth/mfa", headers=account.headers)).json()
    assert status["enabled"] is True
    assert status["backup_codes_remaining"] == 10
    async with app.state.database.session() as db:
        assert await db.get(MfaTotp, uuid.UUID(account.user["id"])) is not None


async def test_with_a_passkey_totp_may_go(app: FastAPI, client: httpx.AsyncClient) -> None:
    clock = use_clock(app)
    await _role_requiring_mfa(app, "finance")
    account = await enrolled(client, clock)
    await register_passkey(client, account.headers)
    await grant_role(app, account.user["id"], "finance")
    off = await client.delete("/api/auth/mfa/totp", headers=account.headers)
    assert off.status_code == 204, off.text
    assert (await client.get("/api/auth/mfa", headers=account.headers)).json()["enabled"] is False
    # The passkey alone satisfies the role: the session is not gated.
    assert (await client.get("/api/threads", headers=account.headers)).status_code == 200


async def test_without_a_requiring_role_the_last_passkey_may_go(
    client: httpx.AsyncClient,
) -> None:
    _, headers = await signed_up(client)
    _, created = await register_passkey(client, headers)
    gone = await client.delete(f"/api/auth/passkeys/{created['id']}", headers=headers)
    assert gone.status_code == 204, gone.text
    assert (await client.get("/api/auth/passkeys", headers=headers)).json()["items"] == []
