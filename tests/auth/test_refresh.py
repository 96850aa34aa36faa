"""Refresh tokens (bearer mode): opaque, stored as a hash, rotated, and a reuse ends the session."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from confide.auth.models import AuthSession, RefreshToken
from tests.factories import assert_problem, bearer, login, register

REFRESH = "/api/auth/refresh"
ME = "/api/auth/me"


async def signed_in(client: httpx.AsyncClient) -> dict[str, Any]:
    user = await register(client)
    return await login(client, email=user["email"])


async def refresh(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post(REFRESH, json={"refresh_token": token})


async def test_refresh_returns_new_tokens(client: httpx.AsyncClient) -> None:
    tokens = await signed_in(client)
    response = await refresh(client, tokens["refresh_token"])
    assert response.status_code == 200, response.text
    fresh = response.json()
    assert fresh["token_type"] == "bearer"
    assert fresh["session_id"] == tokens["session_id"]
    assert fresh["expires_in"] == 900
    assert fresh["refresh_token"] != tokens["refresh_token"]
    assert fresh["access_token"] != tokens["access_token"]
    me = await client.get(ME, headers=bearer(fresh["access_token"]))
    assert me.status_code == 200, me.text
    claims = jwt.decode(fresh["access_token"], options={"verify_signature": False})
    assert claims["sid"] == tokens["session_id"]


async def test_refresh_token_is_opaque_and_256_bits(client: httpx.AsyncClient) -> None:
    tokens = await signed_in(client)
    rotated = (await refresh(client, tokens["refresh_token"])).json()
    for token in (tokens["refresh_token"], rotated["refresh_token"]):
        # 32 random bytes in url-safe base64 without padding: 43 characters.
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token), token
        with pytest.raises(jwt.DecodeError):
            jwt.get_unverified_header(token)


async def test_refresh_token_is_stored_only_as_a_hash(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    tokens = await signed_in(client)
    rotated = (await refresh(client, tokens["refresh_token"])).json()
    plaintexts = [tokens["refresh_token"], rotated["refresh_token"]]

    async with app.state.database.sessionmaker() as db:
        rows = (await db.execute(select(RefreshToken))).scalars().all()
        sessions = (await db.execute(select(AuthSession))).scalars().all()
    assert len(rows) == 2
    stored = [
        str(getattr(row, column.key))
        for row in [*rows, *sessions]
        for column in type(row).__table__.columns
    ]
    for plaintext in plaintexts:
        assert not any(plaintext in value for value in stored)
    assert all(len(row.token_hash) == 64 for row in rows)


async def test_refresh_token_is_rotated_on_every_use(client: httpx.AsyncClient) -> None:
    tokens = await signed_in(client)
    first = await refresh(client, tokens["refresh_token"])
    assert first.status_code == 200, first.text
    again = await refresh(client, tokens["refresh_token"])
    assert again.status_code == 401, again.text
    # The chain goes on with the newest token (checked on a session that did not see a reuse).
    tokens = await signed_in(client)
    current = tokens["refresh_token"]
    for _ in range(3):
        response = await refresh(client, current)
        assert response.status_code == 200, response.text
        current = response.json()["refresh_token"]


async def test_reused_refresh_token_ends_the_whole_session(client: httpx.AsyncClient) -> None:
    tokens = await signed_in(client)
    stolen = tokens["refresh_token"]
    newest = (await refresh(client, stolen)).json()
    newest = (await refresh(client, newest["refresh_token"])).json()
    access = bearer(newest["access_token"])
    # Seen once, so the session sits in the cache: the revocation must still be immediate.
    assert (await client.get(ME, headers=access)).status_code == 200

    assert_problem(await refresh(client, stolen), 401, "refresh_token_reused")

    assert_problem(await client.get(ME, headers=access), 401, "session_expired")
    response = await refresh(client, newest["refresh_token"])
    assert response.status_code == 401, response.text
    assert response.json()["code"] in {"session_expired", "refresh_token_reused"}


async def test_unknown_refresh_token_is_refused(client: httpx.AsyncClient) -> None:
    await signed_in(client)
    unknown = "A" * 43
    assert_problem(await refresh(client, unknown), 401, "invalid_refresh_token")


async def test_missing_refresh_token_is_refused(client: httpx.AsyncClient) -> None:
    assert_problem(await client.post(REFRESH, json={}), 401, "invalid_refresh_token")
    assert_problem(await client.post(REFRESH), 401, "invalid_refresh_token")


async def test_concurrent_refresh_with_one_token_succeeds_at_most_once(
    client: httpx.AsyncClient,
) -> None:
    tokens = await signed_in(client)
    responses = await asyncio.gather(
        refresh(client, tokens["refresh_token"]), refresh(client, tokens["refresh_token"])
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(200) <= 1, [r.text for r in responses]
    assert all(s in (200, 401) for s in statuses), [r.text for r in responses]


async def test_refresh_after_logout_is_refused(client: httpx.AsyncClient) -> None:
    tokens = await signed_in(client)
    logout = await client.post("/api/auth/logout", headers=bearer(tokens["access_token"]))
    assert logout.status_code == 204
    assert_problem(await refresh(client, tokens["refresh_token"]), 401, "session_expired")
