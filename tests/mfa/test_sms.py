"""SMS sign-in codes: offered once the account has a verified phone, bound to the challenge
they were sent for, 5 minutes, 3 tries; a phone alone never turns MFA on."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from confide.audit.models import AuditEvent
from confide.mfa.models import MfaChallenge
from tests.factories import PASSWORD, assert_problem, bearer, grant_role, login, signed_up
from tests.mfa.helpers import Clock, Enrolled, challenge, enrolled, use_clock
from tests.phones.helpers import NUMBER, PHONE, texted_code, texts, verified_phone

SEND = "/api/auth/mfa/send"
VERIFY = "/api/auth/mfa/verify"


async def _send_sms(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post(SEND, json={"mfa_token": token, "channel": "sms"})


async def _verify(client: httpx.AsyncClient, token: str, code: str) -> httpx.Response:
    return await client.post(VERIFY, json={"mfa_token": token, "code": code})


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


async def _with_phone(app: FastAPI, client: httpx.AsyncClient) -> tuple[Clock, Enrolled]:
    """An account with TOTP and a verified phone, on the test's clock."""
    clock = use_clock(app)
    account = await enrolled(client, clock)
    await verified_phone(app, client, account.headers)
    return clock, account


async def _texted(app: FastAPI, client: httpx.AsyncClient, email: str) -> tuple[str, str]:
    """A new sign-in challenge for `email` with its code sent by SMS: (mfa token, code)."""
    body = await challenge(client, email)
    sent = await _send_sms(client, body["mfa_token"])
    assert sent.status_code == 202, sent.text
    return body["mfa_token"], await texted_code(app, NUMBER, "mfa_code")


async def test_a_verified_phone_offers_and_finishes_with_a_texted_code(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, account = await _with_phone(app, client)
    body = await challenge(client, account.email)
    assert body["methods"] == ["totp", "backup_code", "sms"]
    sent = await _send_sms(client, body["mfa_token"])
    assert sent.status_code == 202, sent.text
    (sms,) = [e for e in await texts(app, NUMBER) if e.purpose == "mfa_code"]
    assert "sign-in code" in sms.text
    code = await texted_code(app, NUMBER, "mfa_code")
    ok = await _verify(client, body["mfa_token"], code)
    assert ok.status_code == 200, ok.text
    tokens = ok.json()
    me = await client.get("/api/auth/me", headers=bearer(tokens["access_token"]))
    assert me.json()["email"] == account.email
    async with app.state.database.session() as db:
        details = (
            (await db.execute(select(AuditEvent.detail).where(AuditEvent.target_type == "session")))
            .scalars()
            .all()
        )
        row = (await db.execute(select(MfaChallenge))).scalars().one()
    assert any('"method":"sms"' in (d or "") for d in details), details
    assert row.code_channel == "sms"
    assert row.code_hash is not None
    assert code not in row.code_hash


async def test_a_texted_code_is_bound_to_its_challenge(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, account = await _with_phone(app, client)
    second = await challenge(client, account.email)
    first, code = await _texted(app, client, account.email)
    assert_problem(await _verify(client, second["mfa_token"], code), 401, "invalid_mfa_code")
    assert (await _verify(client, first, code)).status_code == 200


async def test_three_wrong_codes_end_the_texted_code_and_its_challenge(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, account = await _with_phone(app, client)
    token, code = await _texted(app, client, account.email)
    for left in (2, 1, 0):
        wrong = await _verify(client, token, _wrong(code))
        assert assert_problem(wrong, 401, "invalid_mfa_code")["attempts_left"] == left
    assert_problem(await _verify(client, token, code), 401, "mfa_token_invalid")


async def test_a_texted_code_expires_after_five_minutes(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    clock, account = await _with_phone(app, client)
    in_time, code = await _texted(app, client, account.email)
    clock.advance(299)
    assert (await _verify(client, in_time, code)).status_code == 200
    late, code = await _texted(app, client, account.email)
    clock.advance(301)
    refused = await _verify(client, late, code)
    assert_problem(refused, 401, "mfa_token_invalid")  # the challenge's 5 minutes are over too


async def test_an_unverified_phone_gets_no_code(app: FastAPI, client: httpx.AsyncClient) -> None:
    clock = use_clock(app)
    account = await enrolled(client, clock)
    added = await client.put(PHONE, json={"number": NUMBER}, headers=account.headers)
    assert added.status_code == 202, added.text
    body = await challenge(client, account.email)
    assert "sms" not in body["methods"]
    assert_problem(await _send_sms(client, body["mfa_token"]), 409, "no_verified_phone")
    assert [e.purpose for e in await texts(app)] == ["phone_verify"]


async def test_a_removed_phone_gets_no_code(app: FastAPI, client: httpx.AsyncClient) -> None:
    _, account = await _with_phone(app, client)
    assert (await client.delete(PHONE, headers=account.headers)).status_code == 204
    body = await challenge(client, account.email)
    assert body["methods"] == ["totp", "backup_code"]
    assert_problem(await _send_sms(client, body["mfa_token"]), 409, "no_verified_phone")


async def test_a_phone_alone_does_not_turn_mfa_on(app: FastAPI, client: httpx.AsyncClient) -> None:
    use_clock(app)
    user, headers = await signed_up(client)
    await verified_phone(app, client, headers)
    tokens = await login(client, email=user["email"], password=PASSWORD)
    assert "access_token" in tokens  # no second step


async def test_a_phone_does_not_satisfy_a_role_requiring_mfa(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    use_clock(app)
    admin, _ = await signed_up(client)
    await grant_role(app, admin["id"], "admin")
    admin_headers = bearer((await login(client, email=admin["email"]))["access_token"])
    created = await client.post(
        "/api/admin/roles",
        json={"name": "finance", "permissions": [], "mfa_required": True},
        headers=admin_headers,
    )
    assert created.status_code == 201, created.text
    user, headers = await signed_up(client)
    await verified_phone(app, client, headers)
    await grant_role(app, user["id"], "finance")
    fresh = bearer((await login(client, email=user["email"]))["access_token"])
    assert_problem(await client.get("/api/threads", headers=fresh), 403, "mfa_enrolment_required")
    # Nor can such a session manage its phone until it has enrolled a real second factor.
    assert_problem(await client.get(PHONE, headers=fresh), 403, "mfa_enrolment_required")
