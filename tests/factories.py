"""Small helpers that make test data through the HTTP API."""

from __future__ import annotations

import itertools
from typing import Any

import httpx

PASSWORD = "plum-orchard-velvet-42"
_counter = itertools.count(1)


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}{next(_counter)}@example.org"


async def register(
    client: httpx.AsyncClient,
    *,
    email: str | None = None,
    password: str = PASSWORD,
    display_name: str | None = None,
) -> dict[str, Any]:
    """Create an account and return the user body (asserts it worked)."""
    body: dict[str, Any] = {"email": email or unique_email(), "password": password}
    if display_name is not None:
        body["display_name"] = display_name
    response = await client.post("/api/auth/register", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def login(
    client: httpx.AsyncClient, *, email: str, password: str = PASSWORD, **headers: str
) -> dict[str, Any]:
    """Sign in with JSON in bearer mode; return the token body (asserts it worked)."""
    response = await client.post(
        "/api/auth/login", json={"email": email, "password": password}, headers=headers
    )
    assert response.status_code == 200, response.text
    return response.json()


async def signed_up(
    client: httpx.AsyncClient, **kwargs: Any
) -> tuple[dict[str, Any], dict[str, str]]:
    """Register and sign in; return the user and bearer headers."""
    user = await register(client, **kwargs)
    tokens = await login(client, email=user["email"], password=kwargs.get("password", PASSWORD))
    return user, bearer(tokens["access_token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The response is RFC 9457 problem+json with this status and stable code."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code, body
    assert {"type", "title", "detail"} <= body.keys()
    return body


async def grant_role(app: Any, user_id: str | Any, role: str = "admin") -> None:
    """Give a user a role straight in the database (sign in afterwards, or wait for the
    session cache, for a session to know it)."""
    import uuid as _uuid

    from sqlalchemy import insert, select

    from confide.access.models import Role, UserRole

    async with app.state.database.begin() as conn:
        role_id = (await conn.execute(select(Role.id).where(Role.name == role))).scalar_one()
        await conn.execute(
            insert(UserRole).values(user_id=_uuid.UUID(str(user_id)), role_id=role_id)
        )
