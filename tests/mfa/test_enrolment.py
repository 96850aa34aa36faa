"""TOTP enrolment, confirmation, status, backup codes and turning MFA off."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import httpx
import pyotp
from fastapi import FastAPI
from sqlalchemy import select

from confide.mfa.models import MfaBackupCode
from tests.factories import assert_problem, signed_up
from tests.mfa.helpers import enrolled, use_clock


async def test_enrolment_answers_secret_uri_and_qr(client: httpx.AsyncClient) -> None:
    user, headers = await signed_up(client)
    response = await client.post("/api/auth/mfa/totp", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert re.fullmatch(r"[A-Z2-7]{32}", body["secret"])
    uri = urlsplit(body["otpauth_uri"])
    assert uri.scheme == "otpauth"
    assert uri.netloc == "totp"
    query = parse_qs(uri.query)
    assert query["secret"] == [body["secret"]]
    assert query["issuer"] == ["Confide"]
    assert user["email"].replace("@", "%40") in uri.path or user["email"] in uri.path
    assert body["qr_svg"].startswith("<svg")
    assert "</svg>" in body["qr_svg"]
    status = (await client.get("/api/auth/mfa", headers=headers)).json()
    assert status == {
        "enabled": False,
        "pending": True,
        "methods": [],
        "backup_codes_remaining": 0,
    }


async def test_second_enrolment_replaces_the_pending_secret(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    clock = use_clock(app)
    _, headers = await signed_up(client)
    first = (await client.post("/api/auth/mfa/totp", headers=headers)).json()["secret"]
    second = (await client.post("/api/auth/mfa/totp", headers=headers)).json()["secret"]
    assert first != second
    stale = await client.post(
        "/api/auth/mfa/totp/confirm",
        json={"code": pyotp.TOTP(first).at(clock.now)},
        headers=headers,
    )
    assert_problem(stale, 401, "invalid_mfa_code")
    ok = await client.post(
        "/api/auth/mfa/totp/confirm",
        json={"code": pyotp.TOTP(second).at(clock.now)},
        headers=headers,
    )
    assert ok.status_code == 200, ok.text


async def test_confirm_turns_mfa_on_with_ten_hashed_backup_codes(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    clock = use_clock(app)
    account = await enrolled(client, clock)
    codes = account.backup_codes
    assert len(codes) == 10
    assert len(set(codes)) == 10
    assert all(re.fullmatch(r"[a-z2-7]{5}-[a-z2-7]{5}", c) for c in codes)
    status = (await client.get("/api/auth/mfa", headers=account.headers)).json()
    assert status == {
        "enabled": True,
        "pending": False,
        "methods": ["totp", "backup_code"],
        "backup_codes_remaining": 10,
    }
    async with app.state.database.session() as db:
        stored = (await db.execute(select(MfaBackupCode.code_hash))).scalars().all()
    assert len(stored) == 10
    assert not set(stored) & {c for code in codes for c in (code, code.replace("-", ""))}
    again = await client.post("/api/auth/mfa/totp", headers=account.headers)
    assert_problem(again, 409, "mfa_already_enabled")


async def test_confirm_without_enrolment_or_with_a_wrong_code(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    clock = use_clock(app)
    _, headers = await signed_up(client)
    early = await client.post(
        "/api/auth/mfa/totp/confirm", json={"code": "123456"}, headers=headers
    )
    assert_problem(early, 409, "mfa_enrolment_not_started")
    secret = (await client.post("/api/auth/mfa/totp", headers=headers)).json()["secret"]
    totp = pyotp.TOTP(secret)
    wrong = f"{(int(totp.at(clock.now)) + 1) % 1_000_000:06d}"
    refused = await client.post("/api/auth/mfa/totp/confirm", json={"code": wrong}, headers=headers)
    assert_problem(refused, 401, "invalid_mfa_code")
    assert (await client.get("/api/auth/mfa", headers=headers)).json()["enabled"] is False


async def test_mfa_routes_need_a_session(client: httpx.AsyncClient) -> None:
    for method, path in [
        ("GET", "/api/auth/mfa"),
        ("POST", "/api/auth/mfa/totp"),
        ("DELETE", "/api/auth/mfa/totp"),
        ("POST", "/api/auth/mfa/backup-codes"),
    ]:
        assert_problem(await client.request(method, path), 401, "not_authenticated")
