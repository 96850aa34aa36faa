"""Signing in with MFA on: the challenge, TOTP, backup and emailed codes, and every way a
code or challenge is refused."""

from __future__ import annotations

import re
import uuid

import httpx
from fastapi import FastAPI
from sqlalchemy import select, update

from confide.audit.models import AuditEvent
from confide.auth.models import User
from tests.account.mail import mails, settle
from tests.factories import PASSWORD, assert_problem, bearer
from tests.mfa.helpers import challenge, enrolled, use_clock


async def _verify(client: httpx.AsyncClient, token: str, code: str) -> httpx.Response:
    return await client.post("/api/auth/mfa/verify", json={"mfa_token": token, "code": code})


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


async def test_full_enrolment_and_sign_in_with_totp(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    clock = use_clock(app)
    account = await enrolled(client, clock)
    login = await client.post(
        "/api/auth/login", json={"email": account.email, "password": PASSWORD}
    )
    assert login.status_code == 200, login.text
    body = login.json()
    assert set(body) == {"mfa_required", "mfa_token", "methods", "expires_in"}
    assert body["mfa_required"] is True
    assert body["methods"] == ["totp", "backup_code"]  # no verified email: no emailed code
    assert body["expires_in"] == 300
    assert "set-cookie" not in login.headers
    verified = await _verify(client, body["mfa_token"], account.totp.at(clock.now))
    assert verified.status_code == 200, verified.text
    tokens = verified.json()
    assert {"access_token", "refresh_token", "expires_in", "session_id"} <= tokens.keys()
    me = await client.get("/api/auth/me", headers=bearer(tokens["access_token"]))
    assert me.status_code == 200
    assert me.json()["email"] == account.email
    async with app.state.database.session() as db:
        events = (
            (
                await db.execute(
                    select(AuditEvent).where(
                        AuditEvent.action == "auth.signed_in", AuditEvent.target_type == "session"
                    )
                )
            )
            .scalars()
            .all()
        )
    assert any('"method":"totp"' in (e.detail or "") for e in events), [e.detail for e in events]
    # The challenge is spent.
    again = await _verify(client, body["mfa_token"], account.totp.at(clock.now + 30))
    assert_problem(again, 401, "mfa_token_invalid")


async def test_cookie_mode_sign_in_sets_the_session_cookies(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    clock = use_clock(app)
    account = await enrolled(client, clock)
    body = await challenge(client, account.email, mode="cookie")
    assert not client.cookies
    verified = await _verify(client, body["mfa_token"], account.totp.at(clock.now))
    assert verified.status_code == 200, verified.text
    assert "access_token" not in verified.json()
    assert {"confide_at", "confide_rt", "confide_csrf"} <= set(client.cookies.keys())
    assert (await client.get("/api/auth/me")).status_code == 200


async def test_a_totp_code_is_accepted_once(app: FastAPI, client: httpx.AsyncClient) -> None:
    clock = use_clock(app)
    account = await enrolled(client, clock)
    code = account.totp.at(clock.now)
    first = await challenge(client, account.email)
    assert (await _verify(client, first["mfa_token"], code)).status_code == 200
    second = await challenge(client, account.email)
    assert_problem(await _verify(client, second["mfa_token"], code), 401, "invalid_mfa_code")
    # An older step than the last accepted one is refused too, though inside the window.
    assert_problem(
        await _verify(client, second["mfa_token"], account.totp.at(clock.now - 30)),
        401,
        "invalid_mfa_code",
    )
    clock.advance(30)
    ok = await _verify(client, second["mfa_token"], account.totp.at(clock.now))
    assert ok.status_code == 200, ok.text


async def test_the_code_confirming_enrolment_cannot_sign_in(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    clock = use_clock(app)
    account = await enrolled(client, clock)
    clock.advance(-30)  # back in the step the confirmation used
    body = await challenge(client, account.email)
    refused = await _verify(client, body["mfa_token"], account.totp.at(clock.now))
    assert_problem(refused, 401, "invalid_mfa_code")


async def test_codes_outside_one_step_either_side_are_refused(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    clock = use_clock(app)
    account = await enrolled(client, clock)
    clock.advance(300)
    for offset in (-60, 60, -3600):
        body = await challenge(client, account.email)
        refused = await _verify(client, body["mfa_token"], account.totp.at(clock.now + offset))
        assert_problem(refused, 401, "invalid_mfa_code")
    body = await challenge(client, account.email)
    late = await _verify(client, body["mfa_token"], account.totp.at(clock.now - 30))
    assert late.status_code == 200, late.text  # the step before, for a slow typist
    clock.advance(300)
    body = await challenge(client, account.email)
    early = await _verify(client, body["mfa_token"], account.totp.at(clock.now + 30))
    assert early.status_code == 200, early.text  # the step after, for a fast phone clock


async def test_backup_code_signs_in_once(app: FastAPI, client: httpx.AsyncClient) -> None:
    clock = use_clock(app)
    account = await enrolled(client, clock)
    code = account.backup_codes[3]
    body = await challenge(client, account.email)
    # Typed in capitals without the dash still counts.
    ok = await _verify(client, body["mfa_token"], code.replace("-", "").upper())
    assert ok.status_code == 200, ok.text
    headers = bearer(ok.json()["access_token"])
    status = (await client.get("/api/auth/mfa", headers=headers)).json()
    assert status["backup_codes_remaining"] == 9
    body = await challenge(client, account.email)
    assert_problem(await _verify(client, body["mfa_token"], code), 401, "invalid_mfa_code")


async def test_another_users_backup_code_is_refused(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    clock = use_clock(app)
    alice = await enrolled(client, clock)
    bob = await enrolled(client, clock)
    body = await challenge(client, alice.email)
    refused = await _verify(client, body["mfa_token"], bob.backup_codes[0])
    assert_problem(refused, 401, "invalid_mfa_code")


async def test_regenerating_backup_codes_voids_the_old_set(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    clock = use_clock(app)
    account = await enrolled(client, clock)
    fresh = await client.post("/api/auth/mfa/backup-codes", headers=account.headers)
    assert fresh.status_code == 200, fresh.text
    new_codes = fresh.json()["backup_codes"]
    assert len(new_codes) == 10
    assert not set(new_codes) & set(account.backup_codes)
    body = await challenge(client, account.email)
    old = await _verify(client, body["mfa_token"], account.backup_codes[0])
    assert_problem(old, 401, "invalid_mfa_code")
    ok = await _verify(client, body["mfa_token"], new_codes[0])
    assert ok.status_code == 200, ok.text


async def test_a_challenge_expires_after_five_minutes(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    clock = use_clock(app)
    account = await enrolled(client, clock)
    body = await challenge(client, account.email)
    clock.advance(301)
    expired = await _verify(client, body["mfa_token"], account.totp.at(clock.now))
    assert_problem(expired, 401, "mfa_token_invalid")


async def test_three_wrong_codes_end_the_challenge(app: FastAPI, client: httpx.AsyncClient) -> None:
    clock = use_clock(app)
    account = await enrolled(client, clock)
    body = await challenge(client, account.email)
    right = account.totp.at(clock.now)
    left = []
    for _ in range(3):
        refused = assert_problem(await _verify(client, body["mfa_token"], _wrong(right)), 401,
                                 "invalid_mfa_code")  # fmt: skip
        left.append(refused["attempts_left"])
    assert left == [2, 1, 0]
    assert_problem(await _verify(client, body["mfa_token"], right), 401, "mfa_token_invalid")
    # Each failure is in the audit trail as a refused sign-in of this account.
    async with app.state.database.session() as db:
        refusals = (
            (
                await db.execute(
                    select(AuditEvent).where(
                        AuditEvent.action == "auth.signed_in",
                        AuditEvent.outcome == "failure",
                        AuditEvent.actor == account.email,
                    )
                )
            )
            .scalars()
            .all()
        )
    assert len(refusals) == 3
    assert all("invalid_mfa_code" in (e.detail or "") for e in refusals)


async def test_the_mfa_token_is_no_bearer_token(app: FastAPI, client: httpx.AsyncClient) -> None:
    clock = use_clock(app)
    account = await enrolled(client, clock)
    body = await challenge(client, account.email)
    for path in ("/api/auth/me", "/api/threads", "/api/auth/mfa"):
        response = await client.get(path, headers=bearer(body["mfa_token"]))
        assert response.status_code == 401, (path, response.text)
    refresh = await client.post("/api/auth/refresh", json={"refresh_token": body["mfa_token"]})
    assert refresh.status_code == 401
    # Still good for its own purpose afterwards.
    ok = await _verify(client, body["mfa_token"], account.totp.at(clock.now))
    assert ok.status_code == 200, ok.text


async def test_unknown_mfa_token(client: httpx.AsyncClient) -> None:
    refused = await _verify(client, "not-a-token", "123456")
    assert_problem(refused, 401, "mfa_token_invalid")


async def _verify_email(app: FastAPI, email: str) -> None:
    async with app.state.database.session() as db:
        await db.execute(
            update(User).where(User.email == email).values(email_verified_at=User.created_at)
        )


async def _emailed_code(app: FastAPI, email: str) -> str:
    await settle(app)
    sent = [m for m in mails(app, email) if "sign-in code" in m.subject]
    assert sent, mails(app, email)
    found = re.search(r"\b(\d{6})\b", sent[-1].text)
    assert found is not None, sent[-1].text
    return found.group(1)


async def test_emailed_code_signs_in(app: FastAPI, client: httpx.AsyncClient) -> None:
    clock = use_clock(app)
    account = await enrolled(client, clock)
    await _verify_email(app, account.email)
    body = await challenge(client, account.email)
    assert body["methods"] == ["totp", "backup_code", "email"]
    sent = await client.post(
        "/api/auth/mfa/send", json={"mfa_token": body["mfa_token"], "channel": "email"}
    )
    assert sent.status_code == 202, sent.text
    code = await _emailed_code(app, account.email)
    ok = await _verify(client, body["mfa_token"], code)
    assert ok.status_code == 200, ok.text
    async with app.state.database.session() as db:
        events = (
            (await db.execute(select(AuditEvent.detail).where(AuditEvent.target_type == "session")))
            .scalars()
            .all()
        )
    assert any('"method":"email"' in (d or "") for d in events)


async def test_emailed_code_is_bound_to_its_challenge(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    clock = use_clock(app)
    account = await enrolled(client, clock)
    await _verify_email(app, account.email)
    first = await challenge(client, account.email)
    second = await challenge(client, account.email)
    await client.post(
        "/api/auth/mfa/send", json={"mfa_token": first["mfa_token"], "channel": "email"}
    )
    code = await _emailed_code(app, account.email)
    refused = await _verify(client, second["mfa_token"], code)
    assert_problem(refused, 401, "invalid_mfa_code")
    assert (await _verify(client, first["mfa_token"], code)).status_code == 200


async def test_a_resent_code_replaces_the_last(app: FastAPI, client: httpx.AsyncClient) -> None:
    clock = use_clock(app)
    account = await enrolled(client, clock)
    await _verify_email(app, account.email)
    body = await challenge(client, account.email)
    await client.post(
        "/api/auth/mfa/send", json={"mfa_token": body["mfa_token"], "channel": "email"}
    )
    code = await _emailed_code(app, account.email)
    clock.advance(60)
    resent = await client.post(
        "/api/auth/mfa/send", json={"mfa_token": body["mfa_token"], "channel": "email"}
    )
    assert resent.status_code == 202
    newer = await _emailed_code(app, account.email)
    if newer != code:  # the new code replaced the old one
        assert_problem(await _verify(client, body["mfa_token"], code), 401, "invalid_mfa_code")
    assert (await _verify(client, body["mfa_token"], newer)).status_code == 200


async def test_sent_code_times_out_within_a_live_challenge(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    clock = use_clock(app)
    account = await enrolled(client, clock)
    await _verify_email(app, account.email)
    body = await challenge(client, account.email)
    clock.advance(100)
    await client.post(
        "/api/auth/mfa/send", json={"mfa_token": body["mfa_token"], "channel": "email"}
    )
    code = await _emailed_code(app, account.email)
    # Move the code's own expiry into the past, the challenge's stays ahead.
    from confide.mfa.models import MfaChallenge

    async with app.state.database.session() as db:
        row = (await db.execute(select(MfaChallenge))).scalars().one()
        row.code_expires_at = row.created_at
    assert_problem(await _verify(client, body["mfa_token"], code), 401, "invalid_mfa_code")


async def test_send_needs_a_verified_address(app: FastAPI, client: httpx.AsyncClient) -> None:
    clock = use_clock(app)
    account = await enrolled(client, clock)
    body = await challenge(client, account.email)
    unverified = await client.post(
        "/api/auth/mfa/send", json={"mfa_token": body["mfa_token"], "channel": "email"}
    )
    assert_problem(unverified, 409, "no_verified_email")
    sms = await client.post(
        "/api/auth/mfa/send", json={"mfa_token": body["mfa_token"], "channel": "sms"}
    )
    assert_problem(sms, 409, "no_verified_phone")
    bad = await client.post(
        "/api/auth/mfa/send", json={"mfa_token": str(uuid.uuid4()), "channel": "email"}
    )
    assert_problem(bad, 401, "mfa_token_invalid")


async def test_without_mfa_login_is_unchanged(app: FastAPI, client: httpx.AsyncClient) -> None:
    from tests.factories import login, register

    user = await register(client)
    tokens = await login(client, email=user["email"])
    assert "mfa_required" not in tokens
    assert "access_token" in tokens


async def test_an_account_disabled_during_the_challenge_cannot_finish(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    clock = use_clock(app)
    account = await enrolled(client, clock)
    body = await challenge(client, account.email)
    async with app.state.database.session() as db:
        await db.execute(update(User).where(User.email == account.email).values(status="disabled"))
    refused = await _verify(client, body["mfa_token"], account.totp.at(clock.now))
    assert_problem(refused, 401, "mfa_token_invalid")
