"""/api/admin/users: listing (filters, sort, pages), status, roles, sessions, and the rules
that keep anyone from gaining or taking more than they hold."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.admin.helpers import account, admin, audit, detail, make_role
from tests.factories import assert_problem, login, register, signed_up, unique_email

USERS = "/api/admin/users"


async def all_pages(
    client: httpx.AsyncClient, headers: dict[str, str], **params: Any
) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await client.get(USERS, params=query, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


# Reading --------------------------------------------------------------------------------------


async def test_the_list_shows_each_account_with_its_roles_and_last_sign_in(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    me, headers = await admin(client, app)
    other = await register(client, display_name="Never Signed In")
    response = await client.get(USERS, headers=headers)
    assert response.status_code == 200
    items = {item["id"]: item for item in response.json()["items"]}
    assert items[me["id"]]["roles"] == ["admin", "user"]
    assert items[me["id"]]["status"] == "active"
    assert items[me["id"]]["last_sign_in_at"] is not None
    assert items[other["id"]] == {
        "id": other["id"],
        "email": other["email"],
        "display_name": "Never Signed In",
        "status": "active",
        "roles": ["user"],
        "created_at": other["created_at"],
        "last_sign_in_at": None,
    }
    one = await client.get(f"{USERS}/{other['id']}", headers=headers)
    assert one.json() == items[other["id"]]
    assert_problem(
        await client.get(f"{USERS}/{uuid.uuid4()}", headers=headers), 404, "user_not_found"
    )


async def test_filters_by_text_role_and_status(client: httpx.AsyncClient, app: FastAPI) -> None:
    _, headers = await admin(client, app)
    ada = await register(client, email="ada.lovelace@example.org", display_name="Countess")
    bob = await register(client, email="bob@example.org", display_name="Ada's friend")
    carol, _ = await account(client, app, "admin", email="carol@example.org")
    await make_role(client, headers, "editors")
    put = await client.put(
        f"{USERS}/{bob['id']}/roles", json={"roles": ["user", "editors"]}, headers=headers
    )
    assert put.status_code == 200, put.text
    patched = await client.patch(
        f"{USERS}/{ada['id']}", json={"status": "disabled"}, headers=headers
    )
    assert patched.status_code == 200

    async def ids(**params: Any) -> set[str]:
        return {item["id"] for item in await all_pages(client, headers, **params)}

    assert await ids(q="ADA") == {ada["id"], bob["id"]}  # email or display name, any case
    assert await ids(q="lovelace@") == {ada["id"]}
    assert await ids(q="%") == set()  # a LIKE wildcard is a plain character
    assert await ids(role="editors") == {bob["id"]}
    assert carol["id"] in await ids(role="admin")
    assert await ids(role="nobody-holds-this") == set()
    assert await ids(status="disabled") == {ada["id"]}
    assert await ids(q="ada", status="active") == {bob["id"]}
    assert_problem(
        await client.get(USERS, params={"status": "gone"}, headers=headers), 422, "validation_error"
    )


@pytest.mark.parametrize(
    ("sort", "key", "descending"),
    [
        ("-created_at", "created_at", True),
        ("created_at", "created_at", False),
        ("email", "email", False),
        ("-email", "email", True),
    ],
)
async def test_every_sort_pages_through_every_account_once(
    client: httpx.AsyncClient, app: FastAPI, sort: str, key: str, descending: bool
) -> None:
    _, headers = await admin(client, app)
    for _ in range(6):
        await register(client)
    items = await all_pages(client, headers, sort=sort, limit=2)
    assert len(items) == 7
    assert len({item["id"] for item in items}) == 7
    values = [item[key].lower() if key == "email" else item[key] for item in items]
    assert values == sorted(values, reverse=descending)


async def test_the_default_order_is_newest_first(client: httpx.AsyncClient, app: FastAPI) -> None:
    _, headers = await admin(client, app)
    newest = await register(client)
    first = (await client.get(USERS, params={"limit": 1}, headers=headers)).json()
    assert first["items"][0]["id"] == newest["id"]
    assert first["next_cursor"] is not None


async def test_a_cursor_works_only_with_its_own_sort(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    _, headers = await admin(client, app)
    await register(client)
    page = (await client.get(USERS, params={"limit": 1, "sort": "email"}, headers=headers)).json()
    other = await client.get(
        USERS, params={"cursor": page["next_cursor"], "sort": "-created_at"}, headers=headers
    )
    assert_problem(other, 400, "invalid_cursor")
    assert_problem(
        await client.get(USERS, params={"cursor": "junk"}, headers=headers), 400, "invalid_cursor"
    )


async def test_reading_needs_users_read_and_changing_needs_users_manage(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    _, admin_headers = await admin(client, app)
    target = await register(client)
    await make_role(client, admin_headers, "viewer", ["users:read"])
    _, plain = await signed_up(client)
    _, viewer = await account(client, app, "viewer")
    assert_problem(await client.get(USERS, headers=plain), 403, "forbidden")
    assert (await client.get(USERS, headers=viewer)).status_code == 200
    assert (await client.get(f"{USERS}/{target['id']}", headers=viewer)).status_code == 200
    for method, path, body in [
        ("PATCH", f"{USERS}/{target['id']}", {"status": "disabled"}),
        ("PUT", f"{USERS}/{target['id']}/roles", {"roles": []}),
        ("DELETE", f"{USERS}/{target['id']}/sessions", None),
    ]:
        refused = await client.request(method, path, json=body, headers=viewer)
        assert_problem(refused, 403, "forbidden")
    assert_problem(await client.get(USERS), 401, "not_authenticated")


# Status ---------------------------------------------------------------------------------------


async def test_disabling_ends_every_session_at_once(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    me, headers = await admin(client, app)
    target, target_headers = await signed_up(client)
    second = await login(client, email=target["email"])
    assert (await client.get("/api/threads", headers=target_headers)).status_code == 200
    response = await client.patch(
        f"{USERS}/{target['id']}", json={"status": "disabled"}, headers=headers
    )
    assert response.status_code == 200
    assert response.json()["status"] == "disabled"
    # The very next request, although the session was cached a moment ago.
    assert_problem(await client.get("/api/threads", headers=target_headers), 401, "session_expired")
    refreshed = await client.post(
        "/api/auth/refresh", json={"refresh_token": second["refresh_token"]}
    )
    assert_problem(refreshed, 401, "session_expired")
    assert_problem(
        await client.post(
            "/api/auth/login", json={"email": target["email"], "password": "plum-orchard-velvet-42"}
        ),
        403,
        "account_disabled",
    )
    [event] = await audit(app, "user.status_changed")
    assert (event.actor_id, event.actor, event.target_type) == (
        uuid.UUID(me["id"]),
        me["email"],
        "user",
    )
    assert event.target_id == target["id"]
    assert detail(event) == {"old": "active", "new": "disabled", "sessions_ended": 2}

    enabled = await client.patch(
        f"{USERS}/{target['id']}", json={"status": "active"}, headers=headers
    )
    assert enabled.json()["status"] == "active"
    assert (await login(client, email=target["email"]))["access_token"]


async def test_setting_the_same_status_changes_and_records_nothing(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    _, headers = await admin(client, app)
    target = await register(client)
    response = await client.patch(
        f"{USERS}/{target['id']}", json={"status": "active"}, headers=headers
    )
    assert response.status_code == 200
    assert await audit(app, "user.status_changed") == []


async def test_a_status_must_be_one_of_three(client: httpx.AsyncClient, app: FastAPI) -> None:
    _, headers = await admin(client, app)
    target = await register(client)
    for body in ({"status": "deleted"}, {}, {"status": "active", "is_admin": True}):
        response = await client.patch(f"{USERS}/{target['id']}", json=body, headers=headers)
        assert_problem(response, 422, "validation_error")
    missing = await client.patch(
        f"{USERS}/{uuid.uuid4()}", json={"status": "active"}, headers=headers
    )
    assert_problem(missing, 404, "user_not_found")


async def test_ending_a_users_sessions(client: httpx.AsyncClient, app: FastAPI) -> None:
    me, headers = await admin(client, app)
    target, target_headers = await signed_up(client)
    response = await client.delete(f"{USERS}/{target['id']}/sessions", headers=headers)
    assert response.status_code == 204
    assert_problem(await client.get("/api/auth/me", headers=target_headers), 401, "session_expired")
    assert (await login(client, email=target["email"]))["access_token"]  # not disabled
    [event] = await audit(app, "user.sessions_ended")
    assert (event.actor_id, event.target_id) == (uuid.UUID(me["id"]), target["id"])
    assert detail(event) == {"sessions_ended": 1}


# Roles ----------------------------------------------------------------------------------------


async def test_setting_the_full_set_of_roles(client: httpx.AsyncClient, app: FastAPI) -> None:
    me, headers = await admin(client, app)
    target, target_headers = await signed_up(client)
    await make_role(client, headers, "auditors", ["audit:read"])
    response = await client.put(
        f"{USERS}/{target['id']}/roles",
        json={"roles": ["auditors", "user", "auditors"]},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["roles"] == ["auditors", "user"]
    me_now = (await client.get("/api/auth/me", headers=target_headers)).json()
    assert me_now["roles"] == ["auditors", "user"]  # the next request, no new sign-in
    assert "audit:read" in me_now["permissions"]
    [event] = await audit(app, "user.roles_changed")
    assert (event.actor_id, event.target_id) == (uuid.UUID(me["id"]), target["id"])
    assert detail(event) == {"old": ["user"], "new": ["auditors", "user"]}


async def test_the_user_role_may_be_removed(client: httpx.AsyncClient, app: FastAPI) -> None:
    """A custom read-only role is possible: without `user` an account holds only what its
    other roles grant."""
    _, headers = await admin(client, app)
    target, target_headers = await signed_up(client)
    await make_role(client, headers, "reader", ["threads:read"])
    assert (await client.post("/api/threads", json={}, headers=target_headers)).status_code == 201
    response = await client.put(
        f"{USERS}/{target['id']}/roles", json={"roles": ["reader"]}, headers=headers
    )
    assert response.json()["roles"] == ["reader"]
    assert (await client.get("/api/threads", headers=target_headers)).status_code == 200
    assert_problem(
        await client.post("/api/threads", json={}, headers=target_headers), 403, "forbidden"
    )
    emptied = await client.put(f"{USERS}/{target['id']}/roles", json={"roles": []}, headers=headers)
    assert emptied.json()["roles"] == []
    assert_problem(await client.get("/api/threads", headers=target_headers), 403, "forbidden")
    assert (await client.get("/api/auth/me", headers=target_headers)).json()["permissions"] == []


async def test_unknown_roles_are_refused(client: httpx.AsyncClient, app: FastAPI) -> None:
    _, headers = await admin(client, app)
    target = await register(client)
    response = await client.put(
        f"{USERS}/{target['id']}/roles", json={"roles": ["user", "wizard"]}, headers=headers
    )
    body = assert_problem(response, 422, "unknown_role")
    assert body["roles"] == ["wizard"]


# Anti-escalation ------------------------------------------------------------------------------


async def test_nobody_changes_their_own_roles(client: httpx.AsyncClient, app: FastAPI) -> None:
    me, headers = await admin(client, app)
    response = await client.put(
        f"{USERS}/{me['id']}/roles", json={"roles": ["user"]}, headers=headers
    )
    assert_problem(response, 403, "own_roles")
    [event] = await audit(app, "user.roles_changed")
    assert (event.outcome, detail(event)) == ("denied", {"code": "own_roles"})
    assert (await client.get("/api/auth/me", headers=headers)).json()["roles"] == ["admin", "user"]


async def helpdesk(
    client: httpx.AsyncClient, app: FastAPI
) -> tuple[dict[str, str], dict[str, str]]:
    """An admin's headers, and those of a user manager who is no administrator."""
    _, admin_headers = await admin(client, app)
    await make_role(
        client, admin_headers, "helpdesk", ["users:read", "users:manage", "threads:read"]
    )
    user, helpdesk_headers = await signed_up(client)
    only_helpdesk = {"roles": ["helpdesk"]}  # without `user`'s grants
    response = await client.put(
        f"{USERS}/{user['id']}/roles", json=only_helpdesk, headers=admin_headers
    )
    assert response.status_code == 200, response.text
    return admin_headers, helpdesk_headers


async def test_nobody_assigns_or_removes_a_role_granting_what_they_lack(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    admin_headers, headers = await helpdesk(client, app)
    await make_role(client, admin_headers, "auditors", ["audit:read"])
    await make_role(client, admin_headers, "readers", ["threads:read"])
    await make_role(client, admin_headers, "lookers", ["users:read"])
    target = await register(client)
    path = f"{USERS}/{target['id']}/roles"
    assert (await client.put(path, json={"roles": ["readers"]}, headers=admin_headers)).is_success
    # `user` grants threads:write, which the helpdesk lacks: it can give it no more than
    # auditors' audit:read or admin's everything.
    for roles in (["readers", "auditors"], ["readers", "admin"], ["readers", "user"]):
        refused = await client.put(path, json={"roles": roles}, headers=headers)
        body = assert_problem(refused, 403, "role_exceeds_caller")
        assert body["permissions"]
    allowed = await client.put(path, json={"roles": ["lookers", "readers"]}, headers=headers)
    assert allowed.status_code == 200, allowed.text
    assert (await client.put(path, json={"roles": []}, headers=headers)).status_code == 200
    denied = [e for e in await audit(app, "user.roles_changed") if e.outcome == "denied"]
    assert [detail(e)["code"] for e in denied] == ["role_exceeds_caller"] * 3
    assert detail(denied[0])["permissions"] == ["audit:read"]


async def test_nobody_acts_on_an_account_holding_more_than_they_do(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    admin_headers, headers = await helpdesk(client, app)
    boss, boss_headers = await account(client, app, "admin")
    for method, path, body in [
        ("PATCH", f"{USERS}/{boss['id']}", {"status": "disabled"}),
        ("PUT", f"{USERS}/{boss['id']}/roles", {"roles": ["admin", "user", "helpdesk"]}),
        ("DELETE", f"{USERS}/{boss['id']}/sessions", None),
    ]:
        refused = await client.request(method, path, json=body, headers=headers)
        assert_problem(refused, 403, "user_outranks_caller")
    assert (await client.get("/api/auth/me", headers=boss_headers)).json()["status"] == "active"
    # An account within the caller's own permissions is fine.
    _, plain_headers = await signed_up(client)
    plain = (await client.get("/api/auth/me", headers=plain_headers)).json()
    await make_role(client, admin_headers, "readers", ["threads:read"])
    plain_roles = await client.put(
        f"{USERS}/{plain['id']}/roles", json={"roles": ["readers"]}, headers=admin_headers
    )
    assert plain_roles.status_code == 200
    ok = await client.patch(f"{USERS}/{plain['id']}", json={"status": "disabled"}, headers=headers)
    assert ok.status_code == 200, ok.text


async def test_the_last_active_admin_cannot_be_disabled_or_demoted(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    me, headers = await admin(client, app)
    await make_role(client, headers, "deputies", ["users:read", "users:manage"])
    for status in ("disabled", "pending"):
        refused = await client.patch(
            f"{USERS}/{me['id']}", json={"status": status}, headers=headers
        )
        assert_problem(refused, 409, "last_admin")
    # A second admin, not yet active, does not count.
    other, _ = await account(client, app, "admin")
    assert (
        await client.patch(f"{USERS}/{other['id']}", json={"status": "pending"}, headers=headers)
    ).status_code == 200
    assert_problem(
        await client.patch(f"{USERS}/{me['id']}", json={"status": "disabled"}, headers=headers),
        409,
        "last_admin",
    )
    assert (
        await client.patch(f"{USERS}/{other['id']}", json={"status": "active"}, headers=headers)
    ).status_code == 200
    other_headers = {
        "Authorization": f"Bearer {(await login(client, email=other['email']))['access_token']}"
    }
    # Now either may demote the other, but not both.
    demoted = await client.put(
        f"{USERS}/{other['id']}/roles", json={"roles": ["user"]}, headers=headers
    )
    assert demoted.status_code == 200, demoted.text
    assert_problem(await client.get(USERS, headers=other_headers), 403, "forbidden")
    third, _ = await account(client, app, "deputies")
    await client.put(f"{USERS}/{third['id']}/roles", json={"roles": ["admin"]}, headers=headers)
    response = await client.patch(
        f"{USERS}/{third['id']}", json={"status": "disabled"}, headers=headers
    )
    assert response.status_code == 200  # a disabled admin is not the last active one
    assert_problem(
        await client.patch(f"{USERS}/{me['id']}", json={"status": "disabled"}, headers=headers),
        409,
        "last_admin",
    )


async def test_two_admins_demoting_each_other_at_once_leave_one(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    import asyncio

    first, first_headers = await admin(client, app)
    second, second_headers = await admin(client, app)
    results = await asyncio.gather(
        client.put(
            f"{USERS}/{second['id']}/roles", json={"roles": ["user"]}, headers=first_headers
        ),
        client.put(
            f"{USERS}/{first['id']}/roles", json={"roles": ["user"]}, headers=second_headers
        ),
    )
    statuses = sorted(r.status_code for r in results)
    # One demotion wins; the other is refused, as the last admin's, or because the loser is
    # no longer an admin by the time its request is checked.
    assert statuses[0] == 200
    assert statuses[1] in (403, 409)
    holders = await all_pages(
        client, first_headers if results[0].status_code == 200 else second_headers, role="admin"
    )
    assert len(holders) == 1


async def test_a_plain_user_learns_nothing_about_accounts(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    """The admin API is for admins: a plain user learns nothing about other accounts."""
    _, plain = await signed_up(client)
    target = await register(client, email=unique_email("hidden"))
    for path in (f"{USERS}/{target['id']}", f"{USERS}/{uuid.uuid4()}"):
        assert_problem(await client.get(path, headers=plain), 403, "forbidden")
