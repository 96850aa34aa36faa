"""A passkey as a password sign-in's second step (the MFA challenge's `passkey` method)."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from confide.mfa.models import MfaChallenge
from tests.factories import PASSWORD, assert_problem, bearer, signed_up
from tests.mfa.helpers import challenge, enrolled, use_clock
from tests.passkeys.authenticator import unb64url
from tests.passkeys.helpers import register_passkey, sign_in_options, verify


async def test_a_passkey_turns_the_second_step_on(client: httpx.AsyncClient) -> None:
    user, headers = await signed_up(client)
    authenticator, _ = await register_passkey(client, headers)
    step = await challenge(client, user["email"])
    assert step["methods"] == ["passkey"]  # no TOTP, no verified email
    options = await sign_in_options(client, mfa_token=step["mfa_token"])
    # Limited to this user's passkeys (the MFA step knows who it is for).
    assert [unb64url(c["id"]) for c in options["allowCredentials"]] == [authenticator.credential_id]
    response = await verify(client, authenticator.get(options), mfa_token=step["mfa_token"])
    assert response.status_code == 200, response.text
    tokens = response.json()
    me = await client.get("/api/auth/me", headers=bearer(tokens["access_token"]))
    assert me.json()["id"] == user["id"]
    # The challenge is spent: neither a code nor the passkey finishes it again.
    again = await client.post(
        "/api/auth/mfa/verify", json={"mfa_token": step["mfa_token"], "code": "123456"}
    )
    assert_problem(again, 401, "mfa_token_invalid")
    options_again = await client.post(
        "/api/auth/passkeys/authenticate/options", json={"mfa_token": step["mfa_token"]}
    )
    assert_problem(options_again, 401, "mfa_token_invalid")


async def test_with_totp_both_methods_are_offered(app: FastAPI, client: httpx.AsyncClient) -> None:
    clock = use_clock(app)
    account = await enrolled(client, clock)
    authenticator, _ = await register_passkey(client, account.headers)
    step = await challenge(client, account.email, mode="cookie")
    assert step["methods"] == ["totp", "backup_code", "passkey"]
    options = await sign_in_options(client, mfa_token=step["mfa_token"])
    assert options["userVerification"] == "preferred"
    # As a second factor the passkey need not verify the user: the password was the first.
    authenticator.user_verified = False
    response = await verify(client, authenticator.get(options), mfa_token=step["mfa_token"])
    assert response.status_code == 200, response.text
    assert "csrf_token" in response.json()  # the sign-in's own mode (cookie) is kept
    # A passkey alone with user verification is both factors: no MFA step after it.
    authenticator.user_verified = True
    alone = await verify(client, authenticator.get(await sign_in_options(client)))
    assert "access_token" in alone.json()


async def test_another_users_passkey_does_not_finish_the_step(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    victim, victim_headers = await signed_up(client)
    await register_passkey(client, victim_headers)
    _, attacker_headers = await signed_up(client)
    attacker_key, _ = await register_passkey(client, attacker_headers)
    step = await challenge(client, victim["email"])
    options = await sign_in_options(client, mfa_token=step["mfa_token"])
    response = await verify(client, attacker_key.get(options), mfa_token=step["mfa_token"])
    assert_problem(response, 401, "passkey_refused")
    async with app.state.database.session() as db:
        row = (await db.execute(select(MfaChallenge))).scalars().one()
        assert row.used_at is None  # the victim's own passkey could still finish it


async def test_challenges_of_the_two_ceremonies_do_not_mix(client: httpx.AsyncClient) -> None:
    user, headers = await signed_up(client)
    authenticator, _ = await register_passkey(client, headers)
    step = await challenge(client, user["email"])
    # A sign-in-alone challenge cannot finish an MFA step, and an MFA one cannot sign in alone.
    alone = await sign_in_options(client)
    mixed = await verify(client, authenticator.get(alone), mfa_token=step["mfa_token"])
    assert_problem(mixed, 400, "passkey_challenge_invalid")
    for_step = await sign_in_options(client, mfa_token=step["mfa_token"])
    mixed = await verify(client, authenticator.get(for_step))
    assert_problem(mixed, 400, "passkey_challenge_invalid")
    # Nor can one step's challenge finish another sign-in's step.
    other = await challenge(client, user["email"])
    for_step = await sign_in_options(client, mfa_token=step["mfa_token"])
    mixed = await verify(client, authenticator.get(for_step), mfa_token=other["mfa_token"])
    assert_problem(mixed, 400, "passkey_challenge_invalid")


async def test_options_for_an_account_without_passkeys(client: httpx.AsyncClient) -> None:
    app_user, _ = await signed_up(client)
    plain = await client.post(
        "/api/auth/login", json={"email": app_user["email"], "password": PASSWORD}
    )
    assert "access_token" in plain.json()  # no passkey, no TOTP: no second step
    response = await client.post(
        "/api/auth/passkeys/authenticate/options", json={"mfa_token": "not-a-token"}
    )
    assert_problem(response, 401, "mfa_token_invalid")


async def test_a_deleted_passkey_turns_the_step_off(client: httpx.AsyncClient) -> None:
    user, headers = await signed_up(client)
    _, created = await register_passkey(client, headers)
    await client.delete(f"/api/auth/passkeys/{created['id']}", headers=headers)
    plain = await client.post(
        "/api/auth/login", json={"email": user["email"], "password": PASSWORD}
    )
    assert "access_token" in plain.json()
