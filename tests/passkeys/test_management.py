"""Listing, renaming and deleting passkeys: ownership, and step-up for deleting."""

from __future__ import annotations

from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from confide.auth.models import AuthSession
from confide.db.base import utcnow
from tests.factories import PASSWORD, assert_problem, signed_up
from tests.passkeys.helpers import register_passkey


async def test_rename(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    _, created = await register_passkey(client, headers)
    renamed = await client.patch(
        f"/api/auth/passkeys/{created['id']}", json={"name": "Work laptop"}, headers=headers
    )
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["name"] == "Work laptop"
    listed = (await client.get("/api/auth/passkeys", headers=headers)).json()["items"]
    assert [p["name"] for p in listed] == ["Work laptop"]
    empty = await client.patch(
        f"/api/auth/passkeys/{created['id']}", json={"name": ""}, headers=headers
    )
    assert empty.status_code == 422


async def test_another_users_passkey_is_not_found(client: httpx.AsyncClient) -> None:
    _, owner = await signed_up(client)
    _, created = await register_passkey(client, owner)
    _, other = await signed_up(client)
    path = f"/api/auth/passkeys/{created['id']}"
    assert_problem(
        await client.patch(path, json={"name": "mine now"}, headers=other), 404, "passkey_not_found"
    )
    assert_problem(await client.delete(path, headers=other), 404, "passkey_not_found")
    assert (await client.get("/api/auth/passkeys", headers=other)).json()["items"] == []
    listed = (await client.get("/api/auth/passkeys", headers=owner)).json()["items"]
    assert [p["name"] for p in listed] == ["Laptop"]
    missing = "00000000-0000-4000-8000-000000000000"
    assert_problem(
        await client.delete(f"/api/auth/passkeys/{missing}", headers=owner),
        404,
        "passkey_not_found",
    )


async def test_deleting_needs_a_recent_sign_in(app: FastAPI, client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    _, created = await register_passkey(client, headers)
    async with app.state.database.session() as db:
        await db.execute(
            update(AuthSession).values(authenticated_at=utcnow() - timedelta(minutes=11))
        )
    path = f"/api/auth/passkeys/{created['id']}"
    assert_problem(await client.delete(path, headers=headers), 401, "reauth_required")
    # Renaming is not sensitive: it works without step-up.
    renamed = await client.patch(path, json={"name": "Still mine"}, headers=headers)
    assert renamed.status_code == 200
    reauth = await client.post("/api/auth/reauth", json={"password": PASSWORD}, headers=headers)
    assert reauth.status_code == 200, reauth.text
    assert (await client.delete(path, headers=headers)).status_code == 204
    assert (await client.get("/api/auth/passkeys", headers=headers)).json()["items"] == []


async def test_the_list_is_paged(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    names = ["One", "Two", "Three"]
    for name in names:
        await register_passkey(client, headers, name=name)
    first = (await client.get("/api/auth/passkeys?limit=2", headers=headers)).json()
    assert [p["name"] for p in first["items"]] == names[:2]
    assert first["next_cursor"]
    rest = (
        await client.get(
            "/api/auth/passkeys",
            params={"limit": 2, "cursor": first["next_cursor"]},
            headers=headers,
        )
    ).json()
    assert [p["name"] for p in rest["items"]] == names[2:]
    assert rest["next_cursor"] is None
