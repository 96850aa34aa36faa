"""Registering passkeys: the ceremony, its single-use challenge, and what is refused."""

from __future__ import annotations

from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import select, update

from confide.audit.models import AuditEvent
from confide.auth.models import AuthSession
from confide.db.base import utcnow
from confide.passkeys.models import Passkey, PasskeyChallenge
from tests.factories import assert_problem, bearer, login, signed_up
from tests.passkeys.authenticator import Authenticator, unb64url
from tests.passkeys.helpers import register_passkey


async def test_registration_options_ask_for_a_discoverable_passkey(
    client: httpx.AsyncClient,
) -> None:
    user, headers = await signed_up(client, display_name="Ada")
    first, _ = await register_passkey(client, headers)
    response = await client.post("/api/auth/passkeys/register/options", headers=headers)
    assert response.status_code == 200, response.text
    options = response.json()
    assert options["rp"] == {"id": "testserver", "name": "Confide"}
    assert options["user"]["name"] == user["email"]
    assert options["user"]["displayName"] == "Ada"
    assert unb64url(options["user"]["id"]).hex() == user["id"].replace("-", "")
    selection = options["authenticatorSelection"]
    assert selection["residentKey"] == "required"
    assert selection["requireResidentKey"] is True
    assert selection["userVerification"] == "preferred"
    assert len(unb64url(options["challenge"])) == 32
    # The passkey already registered is excluded, so an authenticator does not make a second.
    assert [unb64url(c["id"]) for c in options["excludeCredentials"]] == [first.credential_id]


async def test_register_then_list(app: FastAPI, client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    _, created = await register_passkey(client, headers, name="  Phone ")
    assert set(created) == {"id", "name", "created_at", "last_used_at", "transports"}
    assert created["name"] == "Phone"
    assert created["last_used_at"] is None
    assert created["transports"] == ["internal", "hybrid"]
    _, unnamed = await register_passkey(client, headers, name=None)
    assert unnamed["name"] == "Passkey 2"
    listed = await client.get("/api/auth/passkeys", headers=headers)
    assert listed.status_code == 200
    assert [p["id"] for p in listed.json()["items"]] == [created["id"], unnamed["id"]]
    async with app.state.database.session() as db:
        challenges = (await db.execute(select(PasskeyChallenge))).scalars().all()
        # Only the challenge's SHA-256 is stored, and each was spent.
        assert all(len(c.challenge_hash) == 64 and c.used_at is not None for c in challenges)
        actions = (
            (
                await db.execute(
                    select(AuditEvent.action).where(AuditEvent.action == "auth.passkey_added")
                )
            )
            .scalars()
            .all()
        )
        assert len(actions) == 2


async def test_a_registration_challenge_works_once(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    options = (await client.post("/api/auth/passkeys/register/options", headers=headers)).json()
    credential = Authenticator().create(options)
    first = await client.post(
        "/api/auth/passkeys/register/verify", json={"credential": credential}, headers=headers
    )
    assert first.status_code == 201, first.text
    replay = await client.post(
        "/api/auth/passkeys/register/verify",
        json={"credential": Authenticator().create(options)},
        headers=headers,
    )
    assert_problem(replay, 400, "passkey_challenge_invalid")


async def test_a_challenge_is_bound_to_its_session(client: httpx.AsyncClient) -> None:
    user, headers = await signed_up(client)
    tokens = await login(client, email=user["email"])
    other_session = bearer(tokens["access_token"])
    options = (await client.post("/api/auth/passkeys/register/options", headers=headers)).json()
    response = await client.post(
        "/api/auth/passkeys/register/verify",
        json={"credential": Authenticator().create(options)},
        headers=other_session,
    )
    assert_problem(response, 400, "passkey_challenge_invalid")


async def test_an_expired_challenge_is_refused(app: FastAPI, client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    options = (await client.post("/api/auth/passkeys/register/options", headers=headers)).json()
    async with app.state.database.session() as db:
        await db.execute(
            update(PasskeyChallenge).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    response = await client.post(
        "/api/auth/passkeys/register/verify",
        json={"credential": Authenticator().create(options)},
        headers=headers,
    )
    assert_problem(response, 400, "passkey_challenge_invalid")


async def test_wrong_origin_or_rp_is_refused(app: FastAPI, client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    for kwargs in ({"origin": "https://evil.example"}, {"rp_id": "evil.example"}):
        options = (await client.post("/api/auth/passkeys/register/options", headers=headers)).json()
        response = await client.post(
            "/api/auth/passkeys/register/verify",
            json={"credential": Authenticator().create(options, **kwargs)},
            headers=headers,
        )
        assert_problem(response, 400, "passkey_registration_failed")
    async with app.state.database.session() as db:
        assert (await db.execute(select(Passkey))).first() is None


async def test_the_same_credential_twice_is_a_conflict(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    authenticator, _ = await register_passkey(client, headers)
    options = (await client.post("/api/auth/passkeys/register/options", headers=headers)).json()
    response = await client.post(
        "/api/auth/passkeys/register/verify",
        json={"credential": authenticator.create(options)},
        headers=headers,
    )
    assert_problem(response, 409, "passkey_already_registered")


async def test_public_url_decides_the_relying_party(app_factory: object) -> None:
    app = app_factory(public_url="https://chat.example.org")  # type: ignore[operator]
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as client:
            _, headers = await signed_up(client)
            options = (
                await client.post("/api/auth/passkeys/register/options", headers=headers)
            ).json()
            assert options["rp"]["id"] == "chat.example.org"
            here = await client.post(
                "/api/auth/passkeys/register/verify",
                json={"credential": Authenticator().create(options)},
                headers=headers,
            )
            assert_problem(here, 400, "passkey_registration_failed")  # origin testserver
            options = (
                await client.post("/api/auth/passkeys/register/options", headers=headers)
            ).json()
            credential = Authenticator().create(options, origin="https://chat.example.org")
            ok = await client.post(
                "/api/auth/passkeys/register/verify",
                json={"credential": credential},
                headers=headers,
            )
            assert ok.status_code == 201, ok.text
    finally:
        await app.state.database.dispose()


async def test_registering_needs_a_recent_sign_in(app: FastAPI, client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    async with app.state.database.session() as db:
        await db.execute(
            update(AuthSession).values(authenticated_at=utcnow() - timedelta(minutes=11))
        )
    for path in ("/api/auth/passkeys/register/options", "/api/auth/passkeys/register/verify"):
        response = await client.post(path, json={"credential": {}}, headers=headers)
        assert_problem(response, 401, "reauth_required")
    anonymous = await client.post("/api/auth/passkeys/register/options")
    assert anonymous.status_code == 401
