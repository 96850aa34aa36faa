"""GET /api/admin/audit: the trail for `audit:read` holders, filtered and paged; a refusal
(403) is itself recorded."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from confide.audit import actions
from confide.audit.models import AuditEvent
from tests.audit.trail import detail, events, only, set_status
from tests.factories import (
    PASSWORD,
    assert_problem,
    bearer,
    grant_role,
    login,
    register,
    signed_up,
)

AUDIT = "/api/admin/audit"


async def auditor(app: FastAPI, client: httpx.AsyncClient) -> tuple[dict[str, Any], dict[str, str]]:
    """A user holding the admin role (and so `audit:read`), signed in after the grant."""
    user = await register(client)
    await grant_role(app, user["id"], "admin")
    return user, bearer((await login(client, email=user["email"]))["access_token"])


async def listing(
    client: httpx.AsyncClient, headers: dict[str, str], **params: Any
) -> list[dict[str, Any]]:
    response = await client.get(AUDIT, params=params, headers=headers)
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["next_cursor"] is None
    items: list[dict[str, Any]] = page["items"]
    return items


async def test_a_plain_user_is_refused_and_the_refusal_is_recorded(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user, headers = await signed_up(client)
    response = await client.get(AUDIT, headers={**headers, "User-Agent": "curl/8.5.0"})
    assert_problem(response, 403, "forbidden")
    event = await only(app, actions.ACCESS_DENIED)
    assert event.outcome == "denied"
    assert (event.actor_id, event.actor) == (uuid.UUID(user["id"]), user["email"])
    assert detail(event) == {"permission": "audit:read", "method": "GET", "path": AUDIT}
    assert (event.ip, event.user_agent) == ("127.0.0.1", "curl/8.5.0")
    assert event.request_id == response.headers["x-request-id"]


async def test_a_refusal_records_the_path_without_its_query(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, headers = await signed_up(client)
    response = await client.get(AUDIT, params={"actor": "someone@example.org"}, headers=headers)
    assert_problem(response, 403, "forbidden")
    assert detail(await only(app, actions.ACCESS_DENIED))["path"] == AUDIT


async def test_a_pending_users_refusal_is_not_recorded(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user = await register(client)
    await set_status(app, user["id"], "pending")
    headers = bearer((await login(client, email=user["email"]))["access_token"])
    assert_problem(await client.get(AUDIT, headers=headers), 403, "pending_approval")
    assert await events(app, actions.ACCESS_DENIED) == []


async def test_anonymous_callers_are_asked_to_sign_in(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get(AUDIT), 401, "not_authenticated")


async def test_an_auditor_reads_every_event_newest_first(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user, headers = await signed_up(client)
    await client.get(AUDIT, headers=headers)  # refused, and recorded
    admin, admin_headers = await auditor(app, client)
    items = await listing(client, admin_headers)
    stored = await events(app)
    assert [item["id"] for item in items] == [e.id for e in reversed(stored)]
    denied = next(item for item in items if item["action"] == actions.ACCESS_DENIED)
    assert denied["actor_id"] == user["id"]
    assert denied["actor"] == user["email"]
    assert denied["outcome"] == "denied"
    assert denied["detail"] == {"permission": "audit:read", "method": "GET", "path": AUDIT}
    assert denied["ip"] == "127.0.0.1"
    assert denied["request_id"]
    newest = items[0]
    assert (newest["action"], newest["actor_id"]) == (actions.SIGNED_IN, admin["id"])
    assert newest["target_type"] == "session"
    assert datetime.fromisoformat(newest["at"]).utcoffset() == timedelta(0)
    assert set(newest) == {
        "id", "at", "actor_id", "actor", "action", "target_type", "target_id", "outcome",
        "ip", "user_agent", "request_id", "detail",
    }  # fmt: skip


async def test_filters(app: FastAPI, client: httpx.AsyncClient) -> None:
    alice, alice_headers = await signed_up(client)
    bob = await register(client)
    typed = alice["email"].upper()
    failed = await client.post("/api/auth/login", json={"email": typed, "password": "nope-nope"})
    assert_problem(failed, 401, "invalid_credentials")
    stranger = await client.post(
        "/api/auth/login", json={"email": "ghost@example.org", "password": "nope-nope"}
    )
    assert_problem(stranger, 401, "invalid_credentials")
    await login(client, email=bob["email"])
    session_id = (await login(client, email=bob["email"]))["session_id"]
    await client.post("/api/auth/logout", headers=alice_headers)
    _, headers = await auditor(app, client)

    def actions_of(items: list[dict[str, Any]]) -> list[tuple[str, str]]:
        return [(item["action"], item["outcome"]) for item in items]

    by_id = await listing(client, headers, actor=alice["id"])
    assert {item["actor_id"] for item in by_id} == {alice["id"]}
    assert actions_of(by_id) == [
        (actions.SIGNED_OUT, "success"),
        (actions.SIGNED_IN, "failure"),
        (actions.SIGNED_IN, "success"),
        *([(actions.REGISTERED, "success")] if by_id[-1]["action"] == actions.REGISTERED else []),
    ]
    # An email: the account's events, and every event naming it (whatever its case).
    by_email = await listing(client, headers, actor=alice["email"].lower())
    assert [item["id"] for item in by_email] == [item["id"] for item in by_id]
    ghost = await listing(client, headers, actor="GHOST@example.org")
    assert [(item["actor"], item["actor_id"]) for item in ghost] == [("ghost@example.org", None)]

    failures = await listing(client, headers, outcome="failure")
    assert {item["actor"] for item in failures} == {typed, "ghost@example.org"}
    sign_ins = await listing(client, headers, action=actions.SIGNED_IN, actor=bob["email"])
    assert actions_of(sign_ins) == [(actions.SIGNED_IN, "success")] * 2
    account = await listing(client, headers, action="auth.*", actor=alice["id"])
    assert [item["id"] for item in account] == [item["id"] for item in by_id]
    assert await listing(client, headers, action="auth_*") == []  # `_` is no wildcard

    targeted = await listing(client, headers, target=f"session:{session_id}")
    assert [(item["action"], item["actor_id"]) for item in targeted] == [
        (actions.SIGNED_IN, bob["id"])
    ]
    assert await listing(client, headers, target=session_id) == targeted
    assert await listing(client, headers, target=f"user:{session_id}") == []
    about_alice = await listing(client, headers, target=f"user:{alice['id']}")
    assert (actions.SIGNED_IN, "failure") in actions_of(about_alice)
    assert {item["target_id"] for item in about_alice} == {alice["id"]}


async def test_time_range(app: FastAPI, client: httpx.AsyncClient) -> None:
    _, headers = await auditor(app, client)
    first, second = (await events(app))[-2:]
    earlier = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    async with app.state.database.begin() as conn:
        # The time is part of the hash: this breaks the chain, which this test does not read.
        await conn.execute(update(AuditEvent).where(AuditEvent.id == first.id).values(at=earlier))
    later = await listing(client, headers, since="2030-01-01T12:00:00.000001Z")
    assert first.id not in [item["id"] for item in later]
    exactly = await listing(client, headers, since="2030-01-01T12:00:00Z", until="2030-01-01T13:00")
    assert [item["id"] for item in exactly] == [first.id]  # since inclusive, naive = UTC
    before = await listing(client, headers, until="2030-01-01T12:00:00+00:00")
    assert first.id not in [item["id"] for item in before]
    assert second.id in [item["id"] for item in before]
    zoned = await listing(client, headers, since="2030-01-01T13:00:00+01:00", until="2030-01-02")
    assert [item["id"] for item in zoned] == [first.id]


async def test_pages_walk_the_whole_trail_once(app: FastAPI, client: httpx.AsyncClient) -> None:
    for _ in range(3):
        await signed_up(client)
    _, headers = await auditor(app, client)
    expected = [e.id for e in reversed(await events(app))]
    seen: list[int] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        response = await client.get(AUDIT, params=params, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= 2
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == expected
    assert len(seen) >= 7


async def test_a_filtered_page_keeps_its_filter(app: FastAPI, client: httpx.AsyncClient) -> None:
    user = await register(client)
    for _ in range(3):
        await login(client, email=user["email"])
    _, headers = await auditor(app, client)
    params = {"actor": user["id"], "action": actions.SIGNED_IN, "limit": 2}
    page = (await client.get(AUDIT, params=params, headers=headers)).json()
    assert len(page["items"]) == 2
    rest = await client.get(
        AUDIT, params={**params, "cursor": page["next_cursor"]}, headers=headers
    )
    assert [item["actor_id"] for item in rest.json()["items"]] == [user["id"]]
    assert rest.json()["next_cursor"] is None


async def test_bad_parameters(app: FastAPI, client: httpx.AsyncClient) -> None:
    _, headers = await auditor(app, client)
    for params, status, code in (
        ({"cursor": "not-a-cursor"}, 400, "invalid_cursor"),
        ({"cursor": "WyJ4Il0"}, 400, "invalid_cursor"),  # ["x"]
        ({"outcome": "maybe"}, 422, "validation_error"),
        ({"since": "yesterday"}, 422, "validation_error"),
        ({"limit": 0}, 422, "validation_error"),
    ):
        assert_problem(await client.get(AUDIT, params=params, headers=headers), status, code)


async def test_a_custom_role_with_audit_read_may_read(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    from sqlalchemy import insert

    from confide.access.models import Role, RolePermission

    role_id = uuid.uuid4()
    now = datetime.now(UTC)
    async with app.state.database.begin() as conn:
        await conn.execute(
            insert(Role).values(
                id=role_id, name="auditor", parent_id=None, builtin=False, description="",
                created_at=now, updated_at=now,
            )
        )  # fmt: skip
        await conn.execute(insert(RolePermission).values(role_id=role_id, permission="audit:read"))
    user = await register(client)
    await grant_role(app, user["id"], "auditor")
    tokens = await login(client, email=user["email"], password=PASSWORD)
    response = await client.get(AUDIT, headers=bearer(tokens["access_token"]))
    assert response.status_code == 200, response.text
    assert response.json()["items"]
