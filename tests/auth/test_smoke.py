from __future__ import annotations

import httpx

from tests.factories import assert_problem, login, register, signed_up


async def test_register_login_me(client: httpx.AsyncClient) -> None:
    user = await register(client, email=" Alice@Example.org ", display_name="Alice")
    assert user["email"] == "Alice@Example.org"
    assert "password" not in user
    assert "password_hash" not in user
    tokens = await login(client, email="alice@example.org")
    assert tokens["token_type"] == "bearer"
    me = await client.get(
        "/api/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert me.status_code == 200
    assert me.json()["id"] == user["id"]


async def test_me_requires_auth(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/api/auth/me"), 401, "not_authenticated")


async def test_logout_takes_effect_at_once(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    assert (await client.get("/api/auth/me", headers=headers)).status_code == 200
    assert (await client.post("/api/auth/logout", headers=headers)).status_code == 204
    assert_problem(await client.get("/api/auth/me", headers=headers), 401, "session_expired")
