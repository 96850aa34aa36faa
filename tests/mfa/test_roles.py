"""A role that requires MFA: its holders can only enrol until they have."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from tests.factories import assert_problem, bearer, grant_role, login, signed_up
from tests.mfa.helpers import challenge, use_clock


async def _admin(app: FastAPI, client: httpx.AsyncClient) -> dict[str, str]:
    user, _ = await signed_up(client)
    await grant_role(app, user["id"], "admin")
    tokens = await login(client, email=user["email"])
    return bearer(tokens["access_token"])


async def test_role_requiring_mfa_limits_its_holders_to_enrolment(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    clock = use_clock(app)
    admin = await _admin(app, client)
    created = await client.post(
        "/api/admin/roles",
        json={"name": "finance", "permissions": [], "mfa_required": True},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    assert created.json()["mfa_required"] is True
    user, _ = await signed_up(client)
    await grant_role(app, user["id"], "finance")
    headers = bearer((await login(client, email=user["email"]))["access_token"])

    refused = await client.get("/api/threads", headers=headers)
    assert_problem(refused, 403, "mfa_enrolment_required")
    assert_problem(await client.post("/api/auth/ws-ticket", headers=headers), 403,
                   "mfa_enrolment_required")  # fmt: skip
    assert_problem(await client.get("/api/auth/sessions", headers=headers), 403,
                   "mfa_enrolment_required")  # fmt: skip
    assert (await client.get("/api/auth/me", headers=headers)).status_code == 200
    assert (await client.get("/api/auth/mfa", headers=headers)).status_code == 200

    import pyotp

    secret = (await client.post("/api/auth/mfa/totp", headers=headers)).json()["secret"]
    confirmed = await client.post(
        "/api/auth/mfa/totp/confirm",
        json={"code": pyotp.TOTP(secret).at(clock.now)},
        headers=headers,
    )
    assert confirmed.status_code == 200, confirmed.text
    # The same session may do everything now, at once (its cached principal was dropped).
    assert (await client.get("/api/threads", headers=headers)).status_code == 200
    # And signing in asks for the second factor.
    await challenge(client, user["email"])
    assert (await client.post("/api/auth/logout", headers=headers)).status_code == 204


async def test_inherited_requirement_and_turning_it_off(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await _admin(app, client)
    await client.post(
        "/api/admin/roles", json={"name": "staff", "mfa_required": True}, headers=admin
    )
    await client.post(
        "/api/admin/roles", json={"name": "interns", "parent": "staff"}, headers=admin
    )
    user, _ = await signed_up(client)
    await grant_role(app, user["id"], "interns")
    headers = bearer((await login(client, email=user["email"]))["access_token"])
    assert_problem(await client.get("/api/threads", headers=headers), 403,
                   "mfa_enrolment_required")  # fmt: skip
    patched = await client.patch(
        "/api/admin/roles/staff", json={"mfa_required": False}, headers=admin
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["mfa_required"] is False
    # The holders' sessions are reloaded at once.
    assert (await client.get("/api/threads", headers=headers)).status_code == 200


async def test_admin_role_takes_mfa_required_and_nothing_else(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await _admin(app, client)
    other = await client.patch(
        "/api/admin/roles/admin", json={"description": "x", "mfa_required": True}, headers=admin
    )
    assert_problem(other, 409, "builtin_role")
    ok = await client.patch("/api/admin/roles/admin", json={"mfa_required": True}, headers=admin)
    assert ok.status_code == 200, ok.text
    assert ok.json()["mfa_required"] is True
    # The admin who did it must now enrol before anything else.
    assert_problem(await client.get("/api/admin/users", headers=admin), 403,
                   "mfa_enrolment_required")  # fmt: skip
    listed = await client.get("/api/auth/me", headers=admin)
    assert listed.status_code == 200


async def test_roles_list_shows_the_flag(app: FastAPI, client: httpx.AsyncClient) -> None:
    admin = await _admin(app, client)
    roles = (await client.get("/api/admin/roles", headers=admin)).json()
    items = roles["items"] if isinstance(roles, dict) else roles
    assert {r["name"]: r["mfa_required"] for r in items} == {"admin": False, "user": False}
