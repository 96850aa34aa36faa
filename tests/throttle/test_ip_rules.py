"""/api/admin/ip-rules: CRUD, the permission, the blocks-self guard, CIDR validation, and the
middleware refusing a blocked address on every route (403 `ip_blocked`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from confide.throttle.middleware import IpRulesMiddleware
from tests.admin.helpers import admin, audit, detail
from tests.factories import PASSWORD, assert_problem, signed_up, unique_email
from tests.throttle.helpers import client_from, sign_in

RULES = "/api/admin/ip-rules"
BLOCKED = "198.51.100.23"


async def add_rule(
    client: httpx.AsyncClient, headers: dict[str, str], **body: Any
) -> dict[str, Any]:
    response = await client.post(RULES, json=body, headers=headers)
    assert response.status_code == 201, response.text
    rule: dict[str, Any] = response.json()
    return rule


async def test_rules_are_created_listed_and_deleted(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    me, headers = await admin(client, app)
    expires = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    first = await add_rule(
        client, headers, cidr="198.51.100.0/24", action="block", note="scanner",
        expires_at=expires.isoformat(),
    )  # fmt: skip
    assert set(first) == {"id", "cidr", "action", "note", "created_at", "created_by", "expires_at"}
    assert first["cidr"] == "198.51.100.0/24"
    assert first["action"] == "block"
    assert first["note"] == "scanner"
    assert first["created_by"] == me["id"]
    assert datetime.fromisoformat(first["expires_at"]) == expires
    # A single address is stored as its one-address network; IPv6 works alike.
    second = await add_rule(client, headers, cidr=" 2001:db8::1 ", action="allow")
    assert second["cidr"] == "2001:db8::1/128"
    assert second["note"] == ""
    assert second["expires_at"] is None

    listing = (await client.get(RULES, headers=headers)).json()
    assert listing["next_cursor"] is None
    assert [rule["id"] for rule in listing["items"]] == [second["id"], first["id"]]

    assert (await client.delete(f"{RULES}/{first['id']}", headers=headers)).status_code == 204
    listing = (await client.get(RULES, headers=headers)).json()
    assert [rule["id"] for rule in listing["items"]] == [second["id"]]
    missing = await client.delete(f"{RULES}/{first['id']}", headers=headers)
    assert_problem(missing, 404, "ip_rule_not_found")

    created = await audit(app, "ip_rule.created")
    assert [detail(e)["cidr"] for e in created] == ["198.51.100.0/24", "2001:db8::1/128"]
    assert str(created[0].actor_id) == me["id"]
    deleted = await audit(app, "ip_rule.deleted")
    assert [e.target_id for e in deleted] == [first["id"]]


async def test_a_plain_user_may_not_read_or_change_rules(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, headers = await signed_up(client)
    assert_problem(await client.get(RULES, headers=headers), 403, "forbidden")
    response = await client.post(
        RULES, json={"cidr": "10.0.0.0/8", "action": "block"}, headers=headers
    )
    assert_problem(response, 403, "forbidden")
    _, admin_headers = await admin(client, app)
    rule = await add_rule(client, admin_headers, cidr="10.0.0.0/8", action="block")
    response = await client.delete(f"{RULES}/{rule['id']}", headers=headers)
    assert_problem(response, 403, "forbidden")
    assert_problem(await client.get(RULES), 401, "not_authenticated")


@pytest.mark.parametrize(
    ("cidr", "code"),
    [
        ("not-an-address", "invalid_cidr"),
        ("10.0.0.5/8", "invalid_cidr"),  # host bits set: refused, not widened
        ("10.0.0.0/33", "invalid_cidr"),
        ("2001:db8::/129", "invalid_cidr"),
        ("", "validation_error"),
    ],
)
async def test_what_is_not_an_address_or_range_is_refused(
    app: FastAPI, client: httpx.AsyncClient, cidr: str, code: str
) -> None:
    _, headers = await admin(client, app)
    response = await client.post(RULES, json={"cidr": cidr, "action": "block"}, headers=headers)
    assert_problem(response, 422, code)


async def test_other_invalid_rules_are_refused(app: FastAPI, client: httpx.AsyncClient) -> None:
    _, headers = await admin(client, app)
    wrong_action = await client.post(
        RULES, json={"cidr": "10.0.0.0/8", "action": "deny"}, headers=headers
    )
    assert_problem(wrong_action, 422, "validation_error")
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    expired = await client.post(
        RULES, json={"cidr": "10.0.0.0/8", "action": "block", "expires_at": past}, headers=headers
    )
    assert_problem(expired, 422, "invalid_expiry")
    assert (await client.get(RULES, headers=headers)).json()["items"] == []


async def test_a_rule_that_would_block_the_caller_is_refused(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    # The test client comes from 127.0.0.1.
    _, headers = await admin(client, app)
    for cidr in ("127.0.0.1", "127.0.0.0/8", "::ffff:127.0.0.1"):
        response = await client.post(RULES, json={"cidr": cidr, "action": "block"}, headers=headers)
        body = assert_problem(response, 409, "blocks_self")
        assert "127.0.0.1" in body["detail"]
    # Allowed first, the caller's address is not blocked by the range...
    allow = await add_rule(client, headers, cidr="127.0.0.1", action="allow")
    await add_rule(client, headers, cidr="127.0.0.0/8", action="block")
    assert (await client.get(RULES, headers=headers)).status_code == 200
    # ...and removing that allow rule would block the caller: refused.
    response = await client.delete(f"{RULES}/{allow['id']}", headers=headers)
    assert_problem(response, 409, "blocks_self")
    assert len((await client.get(RULES, headers=headers)).json()["items"]) == 2


async def test_a_blocked_address_is_refused_on_every_route(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user, headers = await signed_up(client, email=unique_email())
    _, admin_headers = await admin(client, app)
    async with client_from(app, BLOCKED) as blocked, client_from(app, "198.51.101.1") as other:
        assert (await sign_in(blocked, user["email"], PASSWORD)).status_code == 200  # before
        rule = await add_rule(client, admin_headers, cidr="198.51.100.0/24", action="block")
        for method, path in [
            ("GET", "/api/health"),
            ("GET", "/api/auth/me"),
            ("POST", "/api/auth/login"),
            ("GET", "/api/threads"),
            ("GET", "/"),
            ("GET", "/no/such/page"),
        ]:
            response = await blocked.request(method, path, headers=headers)
            body = assert_problem(response, 403, "ip_blocked")
            assert body["instance"] == path
        # Other addresses are served.
        assert (await other.get("/api/auth/me", headers=headers)).status_code == 200
        # Deleted: served again at once (this process's cache was dropped on commit).
        await client.delete(f"{RULES}/{rule['id']}", headers=admin_headers)
        assert (await blocked.get("/api/auth/me", headers=headers)).status_code == 200


async def test_an_allow_rule_beats_a_block_rule_and_expired_rules_do_not_apply(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, headers = await admin(client, app)
    await add_rule(client, headers, cidr="198.51.100.0/24", action="block")
    await add_rule(client, headers, cidr=f"{BLOCKED}/32", action="allow")
    soon = datetime.now(UTC) + timedelta(hours=1)
    await add_rule(
        client, headers, cidr="192.0.2.0/24", action="block", expires_at=soon.isoformat()
    )
    async with (
        client_from(app, BLOCKED) as allowed,
        client_from(app, "198.51.100.24") as blocked,
        client_from(app, "192.0.2.1") as expiring,
    ):
        assert (await allowed.get("/api/health")).status_code == 200
        assert_problem(await blocked.get("/api/health"), 403, "ip_blocked")
        assert_problem(await expiring.get("/api/health"), 403, "ip_blocked")
        # Two hours on (the middleware's clock), the expiring rule no longer applies.
        middleware = _ip_rules_middleware(app)
        middleware.clock = lambda: soon.timestamp() + 3600
        assert (await expiring.get("/api/health")).status_code == 200
        assert_problem(await blocked.get("/api/health"), 403, "ip_blocked")


async def test_a_blocked_websocket_is_closed_before_it_is_accepted(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, headers = await admin(client, app)
    await add_rule(client, headers, cidr="198.51.100.0/24", action="block")
    reached: list[str] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        reached.append(scope["type"])

    middleware = IpRulesMiddleware(inner, rules=app.state.ip_rules)
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    scope = {"type": "websocket", "path": "/api/ws", "client": (BLOCKED, 1234), "headers": []}
    await middleware(scope, receive, send)
    assert sent == [{"type": "websocket.close", "code": 1008}]
    assert reached == []
    await middleware({**scope, "client": ("192.0.2.1", 1234)}, receive, send)
    assert reached == ["websocket"]


def _ip_rules_middleware(app: FastAPI) -> IpRulesMiddleware:
    """The app's instance of the middleware (built on the first request)."""
    layer: Any = app.middleware_stack
    while layer is not None and not isinstance(layer, IpRulesMiddleware):
        layer = getattr(layer, "app", None)
    assert isinstance(layer, IpRulesMiddleware)
    return layer
