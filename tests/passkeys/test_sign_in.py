"""Signing in with a passkey alone (discoverable credentials): tokens or cookies, and every
way an assertion is refused."""

from __future__ import annotations

import json
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select, update

from confide.audit.models import AuditEvent
from confide.auth.models import User
from tests.factories import assert_problem, bearer, signed_up
from tests.passkeys.authenticator import Authenticator
from tests.passkeys.helpers import register_passkey, sign_in_options, verify


async def _refusals(app: FastAPI) -> list[dict[str, Any]]:
    async with app.state.database.session() as db:
        rows = (
            (
                await db.execute(
                    select(AuditEvent)
                    .where(AuditEvent.action == "auth.signed_in", AuditEvent.outcome == "failure")
                    .order_by(AuditEvent.id)
                )
            )
            .scalars()
            .all()
        )
    return [{"actor": r.actor, **json.loads(r.detail)} for r in rows]


async def test_sign_in_with_a_passkey_alone(app: FastAPI, client: httpx.AsyncClient) -> None:
    user, headers = await signed_up(client)
    authenticator, created = await register_passkey(client, headers)
    options = await sign_in_options(client)
    assert options["rpId"] == "testserver"
    assert options["allowCredentials"] == []  # discoverable: the authenticator picks
    assert options["userVerification"] == "required"
    response = await verify(client, authenticator.get(options))
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert {"access_token", "refresh_token", "expires_in", "session_id"} <= tokens.keys()
    me = await client.get("/api/auth/me", headers=bearer(tokens["access_token"]))
    assert me.json()["email"] == user["email"]
    listed = (await client.get("/api/auth/passkeys", headers=headers)).json()["items"]
    assert listed[0]["id"] == created["id"]
    assert listed[0]["last_used_at"] is not None
    async with app.state.database.session() as db:
        detail = (
            await db.execute(
                select(AuditEvent.detail).where(
                    AuditEvent.action == "auth.signed_in",
                    AuditEvent.target_type == "session",
                    AuditEvent.target_id == tokens["session_id"],
                )
            )
        ).scalar_one()
    assert json.loads(detail)["method"] == "passkey"


async def test_cookie_mode(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    authenticator, _ = await register_passkey(client, headers)
    options = await sign_in_options(client)
    response = await verify(client, authenticator.get(options), mode="cookie")
    assert response.status_code == 200, response.text
    assert "access_token" not in response.json()
    assert "csrf_token" in response.json()
    assert any(c.startswith("confide_") or "access" in c for c in response.cookies)


async def test_without_user_verification_it_is_refused(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, headers = await signed_up(client)
    authenticator, _ = await register_passkey(client, headers)
    authenticator.user_verified = False
    response = await verify(client, authenticator.get(await sign_in_options(client)))
    assert_problem(response, 401, "passkey_refused")
    assert (await _refusals(app))[-1]["reason"] == "passkey_refused"


async def test_wrong_origin_is_refused(app: FastAPI, client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    authenticator, _ = await register_passkey(client, headers)
    options = await sign_in_options(client)
    response = await verify(client, authenticator.get(options, origin="https://evil.example"))
    assert_problem(response, 401, "passkey_refused")
    options = await sign_in_options(client)
    response = await verify(client, authenticator.get(options, rp_id="evil.example"))
    assert_problem(response, 401, "passkey_refused")
    assert len(await _refusals(app)) == 2


async def test_a_replayed_challenge_is_refused(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    authenticator, _ = await register_passkey(client, headers)
    options = await sign_in_options(client)
    first = await verify(client, authenticator.get(options))
    assert first.status_code == 200, first.text
    replay = await verify(client, authenticator.get(options))
    assert_problem(replay, 400, "passkey_challenge_invalid")
    # A failed attempt spends its challenge too.
    options = await sign_in_options(client)
    bad = await verify(client, authenticator.get(options, origin="https://evil.example"))
    assert_problem(bad, 401, "passkey_refused")
    again = await verify(client, authenticator.get(options))
    assert_problem(again, 400, "passkey_challenge_invalid")


async def test_a_counter_going_backwards_is_refused_and_audited(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user, headers = await signed_up(client)
    authenticator, created = await register_passkey(client, headers)
    ok = await verify(client, authenticator.get(await sign_in_options(client), sign_count=10))
    assert ok.status_code == 200, ok.text
    clone = await verify(client, authenticator.get(await sign_in_options(client), sign_count=7))
    assert_problem(clone, 401, "passkey_cloned")
    same = await verify(client, authenticator.get(await sign_in_options(client), sign_count=10))
    assert_problem(same, 401, "passkey_cloned")
    refusals = await _refusals(app)
    assert refusals[-1] == {
        "actor": user["email"],
        "reason": "passkey_cloned",
        "method": "passkey",
        "passkey_id": created["id"],
    }
    forward = await verify(client, authenticator.get(await sign_in_options(client), sign_count=11))
    assert forward.status_code == 200, forward.text


async def test_an_authenticator_without_a_counter_keeps_working(
    client: httpx.AsyncClient,
) -> None:
    _, headers = await signed_up(client)
    authenticator = Authenticator(sign_count=-1)  # its create() sends 0, as do its assertions
    await register_passkey(client, headers, authenticator)
    for _ in range(2):
        response = await verify(
            client, authenticator.get(await sign_in_options(client), sign_count=0)
        )
        assert response.status_code == 200, response.text


async def test_a_deleted_passkey_signs_nobody_in(app: FastAPI, client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    authenticator, created = await register_passkey(client, headers)
    deleted = await client.delete(f"/api/auth/passkeys/{created['id']}", headers=headers)
    assert deleted.status_code == 204
    response = await verify(client, authenticator.get(await sign_in_options(client)))
    assert_problem(response, 401, "passkey_refused")
    assert (await _refusals(app))[-1] == {
        "actor": None,
        "reason": "unknown_passkey",
        "method": "passkey",
    }


async def test_a_disabled_account_is_refused(app: FastAPI, client: httpx.AsyncClient) -> None:
    user, headers = await signed_up(client)
    authenticator, _ = await register_passkey(client, headers)
    async with app.state.database.session() as db:
        await db.execute(update(User).where(User.email == user["email"]).values(status="disabled"))
    response = await verify(client, authenticator.get(await sign_in_options(client)))
    assert_problem(response, 403, "account_disabled")
    assert (await _refusals(app))[-1]["reason"] == "account_disabled"


async def test_another_users_handle_is_refused(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    authenticator, _ = await register_passkey(client, headers)
    other, _ = await signed_up(client)
    authenticator.user_handle = bytes.fromhex(other["id"].replace("-", ""))
    response = await verify(client, authenticator.get(await sign_in_options(client)))
    assert_problem(response, 401, "passkey_refused")


async def test_garbage_is_refused(client: httpx.AsyncClient) -> None:
    response = await verify(client, {"id": "x", "rawId": "x", "response": {}})
    assert_problem(response, 401, "passkey_refused")
    response = await client.post(
        "/api/auth/passkeys/authenticate/verify",
        json={"credential": {}},
        headers={"Origin": "https://evil.example"},
    )
    assert_problem(response, 403, "cross_site_request")
