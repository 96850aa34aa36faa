"""The permission matrix: every operation of the OpenAPI schema, called by an anonymous
caller, a pending user, a user, a user of a custom role and an admin, answers as one declared
table says (`ACCESS`, written here by hand, independently of the routes' declarations).

"Allowed" means the request got past access control: any answer but a 401 that asks for a
session and a 403 whose code is `forbidden` or `pending_approval` (an allowed call with
made-up ids and an empty body mostly answers 404 or 422). Path ids are random, so nothing
real is touched; each signed-in request uses a session of its own, so a sign-out route does
not sign the next request out."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import delete, insert, select, update

from confide.access.models import Role, RolePermission, UserRole
from confide.access.permissions import THREADS_READ, USER_DEFAULTS, PermissionRegistry
from confide.auth.models import User
from tests.conftest import client_for
from tests.factories import PASSWORD, bearer, grant_role, login, register

PUBLIC, AUTHENTICATED = "public", "authenticated"

# (method, path with its parameters written `{}`) -> who may call it.
ACCESS: dict[tuple[str, str], str] = {
    ("GET", "/api/health"): PUBLIC,
    ("GET", "/api/ready"): PUBLIC,
    ("POST", "/api/auth/register"): PUBLIC,
    ("POST", "/api/auth/login"): PUBLIC,
    ("POST", "/api/auth/refresh"): PUBLIC,
    ("GET", "/api/auth/me"): AUTHENTICATED,
    ("POST", "/api/auth/logout"): AUTHENTICATED,
    ("POST", "/api/auth/logout-all"): AUTHENTICATED,
    ("POST", "/api/auth/password"): AUTHENTICATED,
    ("GET", "/api/auth/sessions"): AUTHENTICATED,
    ("DELETE", "/api/auth/sessions/{}"): AUTHENTICATED,
    ("POST", "/api/auth/ws-ticket"): THREADS_READ,
    ("GET", "/api/agents"): THREADS_READ,
    ("GET", "/api/agents/{}"): THREADS_READ,
    ("GET", "/api/threads"): THREADS_READ,
    ("GET", "/api/me/search"): THREADS_READ,
    ("GET", "/api/me/usage"): THREADS_READ,
    ("GET", "/api/me/approvals"): THREADS_READ,
    ("GET", "/api/runs/{}/approvals"): THREADS_READ,
    ("POST", "/api/runs/{}/approvals/{}"): "threads:write",
    ("POST", "/api/threads"): "threads:write",
    ("GET", "/api/threads/{}"): THREADS_READ,
    ("GET", "/api/folders"): THREADS_READ,
    ("POST", "/api/folders"): "threads:write",
    ("PATCH", "/api/folders/{}"): "threads:write",
    ("DELETE", "/api/folders/{}"): "threads:write",
    ("PATCH", "/api/threads/{}"): "threads:write",
    ("DELETE", "/api/threads/{}"): "threads:write",
    ("GET", "/api/threads/{}/messages"): THREADS_READ,
    ("GET", "/api/threads/{}/export"): THREADS_READ,
    ("POST", "/api/imports"): "threads:write",
    ("GET", "/api/imports"): THREADS_READ,
    ("GET", "/api/imports/{}"): THREADS_READ,
    ("POST", "/api/threads/{}/messages"): "threads:write",
    ("POST", "/api/threads/{}/messages/{}/edit"): "threads:write",
    ("PUT", "/api/threads/{}/active"): "threads:write",
    ("POST", "/api/runs/{}/regenerate"): "threads:write",
    ("POST", "/api/runs/{}/continue"): "threads:write",
    ("GET", "/api/runs/{}"): THREADS_READ,
    ("GET", "/api/runs/{}/events"): THREADS_READ,
    ("POST", "/api/runs/{}/cancel"): "threads:write",
    ("POST", "/api/files"): "threads:write",
    ("GET", "/api/files"): THREADS_READ,
    ("GET", "/api/files/usage"): THREADS_READ,
    ("GET", "/api/files/{}"): THREADS_READ,
    ("GET", "/api/files/{}/content"): THREADS_READ,
    ("DELETE", "/api/files/{}"): "threads:write",
    ("GET", "/api/auth/events"): AUTHENTICATED,
    ("POST", "/api/auth/password/forgot"): PUBLIC,
    ("POST", "/api/auth/password/reset"): PUBLIC,
    ("POST", "/api/auth/email/verify"): PUBLIC,
    ("POST", "/api/auth/email/verification"): AUTHENTICATED,
    ("GET", "/api/auth/email"): AUTHENTICATED,
    ("POST", "/api/auth/email"): AUTHENTICATED,
    ("GET", "/api/auth/phone"): AUTHENTICATED,
    ("PUT", "/api/auth/phone"): AUTHENTICATED,
    ("DELETE", "/api/auth/phone"): AUTHENTICATED,
    ("POST", "/api/auth/phone/verify"): AUTHENTICATED,
    ("POST", "/api/auth/email/confirm"): PUBLIC,
    ("GET", "/api/auth/mfa"): AUTHENTICATED,
    ("POST", "/api/auth/mfa/totp"): AUTHENTICATED,
    ("POST", "/api/auth/mfa/totp/confirm"): AUTHENTICATED,
    ("DELETE", "/api/auth/mfa/totp"): AUTHENTICATED,
    ("POST", "/api/auth/mfa/backup-codes"): AUTHENTICATED,
    ("POST", "/api/auth/mfa/send"): PUBLIC,
    ("POST", "/api/auth/mfa/verify"): PUBLIC,
    ("POST", "/api/auth/reauth"): AUTHENTICATED,
    ("GET", "/api/auth/passkeys"): AUTHENTICATED,
    ("PATCH", "/api/auth/passkeys/{}"): AUTHENTICATED,
    ("DELETE", "/api/auth/passkeys/{}"): AUTHENTICATED,
    ("POST", "/api/auth/passkeys/register/options"): AUTHENTICATED,
    ("POST", "/api/auth/passkeys/register/verify"): AUTHENTICATED,
    ("POST", "/api/auth/passkeys/authenticate/options"): PUBLIC,
    ("POST", "/api/auth/passkeys/authenticate/verify"): PUBLIC,
    ("POST", "/api/auth/passkeys/reauth/options"): AUTHENTICATED,
    ("POST", "/api/auth/passkeys/reauth/verify"): AUTHENTICATED,
    ("GET", "/api/admin/users"): "users:read",
    ("GET", "/api/admin/users/{}"): "users:read",
    ("PATCH", "/api/admin/users/{}"): "users:manage",
    ("PUT", "/api/admin/users/{}/roles"): "users:manage",
    ("DELETE", "/api/admin/users/{}/sessions"): "users:manage",
    ("POST", "/api/admin/users/{}/password-link"): "users:manage",
    ("DELETE", "/api/admin/users/{}"): "users:manage",
    # The matrix sends `{}`: a deletion without the email typed again is refused (422).
    ("GET", "/api/me/export"): AUTHENTICATED,
    ("DELETE", "/api/me"): AUTHENTICATED,
    ("GET", "/api/me/memories"): AUTHENTICATED,
    ("POST", "/api/me/memories"): AUTHENTICATED,
    ("PATCH", "/api/me/memories/{}"): AUTHENTICATED,
    ("DELETE", "/api/me/memories/{}"): AUTHENTICATED,
    ("GET", "/api/me/settings"): AUTHENTICATED,
    ("PATCH", "/api/me/settings"): AUTHENTICATED,
    ("GET", "/api/me/channels"): AUTHENTICATED,
    ("PUT", "/api/me/channels"): AUTHENTICATED,
    # Verified by Slack's signature, not a session (feedback/interactions.py).
    ("POST", "/api/slack/interactions"): PUBLIC,
    ("GET", "/api/admin/ip-rules"): "admin:ip_rules",
    ("POST", "/api/admin/ip-rules"): "admin:ip_rules",
    ("DELETE", "/api/admin/ip-rules/{}"): "admin:ip_rules",
    ("GET", "/api/admin/roles"): "users:read",
    ("POST", "/api/admin/roles"): "roles:manage",
    ("GET", "/api/admin/roles/{}"): "users:read",
    ("PATCH", "/api/admin/roles/{}"): "roles:manage",
    ("DELETE", "/api/admin/roles/{}"): "roles:manage",
    ("GET", "/api/admin/permissions"): "users:read",
    ("GET", "/api/admin/invites"): "invites:manage",
    ("POST", "/api/admin/invites"): "invites:manage",
    ("DELETE", "/api/admin/invites/{}"): "invites:manage",
    ("GET", "/api/admin/audit"): "audit:read",
    ("POST", "/api/threads/{}/shares"): "threads:share",
    ("GET", "/api/threads/{}/shares"): THREADS_READ,
    ("DELETE", "/api/threads/{}/shares/{}"): THREADS_READ,
    ("POST", "/api/threads/{}/links"): "threads:share",
    ("GET", "/api/threads/{}/links"): THREADS_READ,
    ("DELETE", "/api/threads/{}/links/{}"): THREADS_READ,
    ("GET", "/api/shared/{}"): PUBLIC,
    ("GET", "/api/shared/{}/messages"): PUBLIC,
    ("GET", "/api/admin/mcp"): "admin:mcp",
    ("GET", "/api/me/connections"): AUTHENTICATED,
    ("PUT", "/api/me/connections/{}"): AUTHENTICATED,
    ("DELETE", "/api/me/connections/{}"): AUTHENTICATED,
    ("POST", "/api/me/connections/{}/oauth"): AUTHENTICATED,
    ("GET", "/api/me/connections/{}/oauth/callback"): AUTHENTICATED,
}

CALLERS = ("anonymous", "pending", "user", "custom", "admin")
# The custom role: reads threads and the audit trail, nothing else (not even `user`'s grants).
CUSTOM_GRANTS = frozenset({THREADS_READ, "audit:read"})


def normalised(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def concrete(path: str) -> str:
    """The path with each parameter replaced by a value that names nothing."""
    return re.sub(r"\{[^}]+\}", lambda m: str(uuid.uuid4()), path)


@dataclass
class Caller:
    name: str
    email: str | None
    permissions: frozenset[str]

    async def headers(self, client: httpx.AsyncClient) -> dict[str, str]:
        if self.email is None:
            return {}
        tokens = await login(client, email=self.email, password=PASSWORD)
        return bearer(tokens["access_token"])


def expected(rule: str, caller: Caller) -> str:
    if rule == PUBLIC:
        return "allowed"
    if caller.name == "anonymous":
        return "unauthenticated"
    if rule == AUTHENTICATED:
        return "allowed"
    if caller.name == "pending":
        return "pending"
    return "allowed" if rule in caller.permissions else "denied"


# What access control answers a caller it does not know (a route's own 401s, such as a wrong
# password or refresh token, are the route's answer: "allowed").
UNAUTHENTICATED = {"not_authenticated", "invalid_token", "token_expired", "session_expired"}


def outcome(response: httpx.Response) -> str:
    if response.status_code == 401 and response.json().get("code") in UNAUTHENTICATED:
        return "unauthenticated"
    if response.status_code == 403:
        code = response.json().get("code")
        if code == "pending_approval":
            return "pending"
        if code == "forbidden":
            return "denied"
    return "allowed"


async def callers(app: FastAPI, client: httpx.AsyncClient) -> list[Caller]:
    registry: PermissionRegistry = app.state.auth.permissions
    made: dict[str, dict[str, Any]] = {}
    for name in CALLERS[1:]:
        made[name] = await register(client)
    pending_id = uuid.UUID(made["pending"]["id"])
    custom_id = uuid.UUID(made["custom"]["id"])
    async with app.state.database.begin() as conn:
        await conn.execute(update(User).where(User.id == pending_id).values(status="pending"))
        role_id = uuid.uuid4()
        await conn.execute(insert(Role).values(id=role_id, name="reader", description=""))
        await conn.execute(
            insert(RolePermission),
            [{"role_id": role_id, "permission": p} for p in CUSTOM_GRANTS],
        )
        # Only the custom role: not `user`.
        await conn.execute(delete(UserRole).where(UserRole.user_id == custom_id))
        await conn.execute(insert(UserRole).values(user_id=custom_id, role_id=role_id))
        assert (await conn.execute(select(Role.id).where(Role.name == "reader"))).scalar_one()
    await grant_role(app, made["admin"]["id"])
    return [
        Caller("anonymous", None, frozenset()),
        Caller("pending", made["pending"]["email"], frozenset()),
        Caller("user", made["user"]["email"], frozenset(USER_DEFAULTS)),
        Caller("custom", made["custom"]["email"], CUSTOM_GRANTS),
        Caller("admin", made["admin"]["email"], registry.admin),
    ]


@pytest.fixture
async def schema(app: FastAPI) -> dict[str, Any]:
    document: dict[str, Any] = app.openapi()
    return document


def schema_operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in ("get", "put", "post", "delete", "patch")
    ]


async def test_the_table_names_every_operation_of_the_schema(schema: dict[str, Any]) -> None:
    found = {(method, normalised(path)) for method, path, _ in schema_operations(schema)}
    assert sorted(found - set(ACCESS)) == [], "operations missing from ACCESS"
    assert sorted(set(ACCESS) - found) == [], "ACCESS names operations the schema lacks"


async def test_every_operation_answers_each_caller_as_the_table_says(
    app: FastAPI, schema: dict[str, Any]
) -> None:
    mismatches: list[str] = []
    async with client_for(app) as client:
        everyone = await callers(app, client)
        for method, path, operation in schema_operations(schema):
            rule = ACCESS.get((method, normalised(path)))
            if rule is None:
                continue  # reported by the test above
            for caller in everyone:
                headers = await caller.headers(client)
                kwargs: dict[str, Any] = {"headers": headers}
                if "requestBody" in operation:
                    kwargs["json"] = {}
                response = await client.request(method, concrete(path), **kwargs)
                want, got = expected(rule, caller), outcome(response)
                if want != got:
                    mismatches.append(
                        f"{method} {path} as {caller.name}: expected {want}, got {got} "
                        f"({response.status_code} {response.text[:120]})"
                    )
    assert mismatches == []
