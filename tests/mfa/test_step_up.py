"""Step-up: turning MFA off and new backup codes need a recent sign-in or POST /reauth."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from confide.auth.models import AuthSession
from confide.db.base import utcnow
from tests.conftest import client_for
from tests.factories import PASSWORD, assert_problem, signed_up
from tests.mfa.helpers import enrolled, use_clock


async def _age_sessions(app: FastAPI, minutes: int = 11) -> None:
    """Every session last proved who it is `minutes` ago."""
    async with app.state.database.session() as db:
        await db.execute(
            update(AuthSession).values(authenticated_at=utcnow() - timedelta(minutes=minutes))
        )


async def test_turning_mfa_off_needs_a_recent_authentication(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    clock = use_clock(app)
    account = await enrolled(client, clock)
    await _age_sessions(app)
    stale = await client.delete("/api/auth/mfa/totp", headers=account.headers)
    assert_problem(stale, 401, "reauth_required")
    assert (await client.get("/api/auth/mfa", headers=account.headers)).json()["enabled"]
    wrong = await client.post(
        "/api/auth/reauth", json={"password": "not the password"}, headers=account.headers
    )
    assert_problem(wrong, 401, "reauth_failed")
    still = await client.delete("/api/auth/mfa/totp", headers=account.headers)
    assert_problem(still, 401, "reauth_required")
    ok = await client.post("/api/auth/reauth", json={"password": PASSWORD}, headers=account.headers)
    assert ok.status_code == 200, ok.text
    assert ok.json() == {"method": "password", "valid_for": 600}
    off = await client.delete("/api/auth/mfa/totp", headers=account.headers)
    assert off.status_code == 204, off.text
    status = (await client.get("/api/auth/mfa", headers=account.headers)).json()
    assert status == {
        "enabled": False,
        "pending": False,
        "methods": [],
        "backup_codes_remaining": 0,
    }
    tokens = await client.post(
        "/api/auth/login", json={"email": account.email, "password": PASSWORD}
    )
    assert "access_token" in tokens.json()  # no MFA step any more


async def test_new_backup_codes_need_a_recent_authentication(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    clock = use_clock(app)
    account = await enrolled(client, clock)
    await _age_sessions(app)
    stale = await client.post("/api/auth/mfa/backup-codes", headers=account.headers)
    assert_problem(stale, 401, "reauth_required")
    # A TOTP code re-authenticates too, and counts as used.
    code = account.totp.at(clock.now)
    ok = await client.post("/api/auth/reauth", json={"code": code}, headers=account.headers)
    assert ok.status_code == 200, ok.text
    assert ok.json()["method"] == "totp"
    again = await client.post("/api/auth/reauth", json={"code": code}, headers=account.headers)
    assert_problem(again, 401, "reauth_failed")
    fresh = await client.post("/api/auth/mfa/backup-codes", headers=account.headers)
    assert fresh.status_code == 200, fresh.text


async def test_reauth_with_a_backup_code(app: FastAPI, client: httpx.AsyncClient) -> None:
    clock = use_clock(app)
    account = await enrolled(client, clock)
    await _age_sessions(app)
    ok = await client.post(
        "/api/auth/reauth", json={"code": account.backup_codes[0]}, headers=account.headers
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["method"] == "backup_code"
    status = (await client.get("/api/auth/mfa", headers=account.headers)).json()
    assert status["backup_codes_remaining"] == 9


async def test_a_fresh_sign_in_counts_as_recent(app: FastAPI, client: httpx.AsyncClient) -> None:
    clock = use_clock(app)
    account = await enrolled(client, clock)  # signed in moments ago
    off = await client.delete("/api/auth/mfa/totp", headers=account.headers)
    assert off.status_code == 204, off.text


async def test_reauth_takes_exactly_one_of_password_or_code(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    for body in ({}, {"password": PASSWORD, "code": "123456"}):
        response = await client.post("/api/auth/reauth", json=body, headers=headers)
        assert response.status_code == 422, response.text
    # A code for an account without MFA is simply wrong.
    no_mfa = await client.post("/api/auth/reauth", json={"code": "123456"}, headers=headers)
    assert_problem(no_mfa, 401, "reauth_failed")


async def test_the_window_is_a_setting(app_factory: Callable[..., FastAPI]) -> None:
    app = app_factory(reauth_window_seconds=60)
    try:
        async with client_for(app) as client:
            _, headers = await signed_up(client)
            await _age_sessions(app, minutes=2)
            stale = await client.post("/api/auth/mfa/backup-codes", headers=headers)
            assert_problem(stale, 401, "reauth_required")
            ok = await client.post("/api/auth/reauth", json={"password": PASSWORD}, headers=headers)
            assert ok.json()["valid_for"] == 60
            # Recent now; the account has no MFA, so the next answer is about that.
            no_mfa = await client.post("/api/auth/mfa/backup-codes", headers=headers)
            assert_problem(no_mfa, 409, "mfa_not_enabled")
    finally:
        await app.state.database.dispose()
