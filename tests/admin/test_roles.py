"""/api/admin/roles and /api/admin/permissions: custom roles, one parent each, the built-in
roles' rules, and nobody granting what they do not hold."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from confide.access.permissions import MAX_ROLE_DEPTH, PermissionRegistry
from tests.admin.helpers import account, admin, audit, detail, make_role
from tests.factories import assert_problem, signed_up

ROLES = "/api/admin/roles"
USER_GRANTS = ["agents:use:*", "threads:read", "threads:share", "threads:write"]


async def roles_of(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    response = await client.get(ROLES, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["next_cursor"] is None
    return {role["name"]: role for role in response.json()["items"]}


async def test_the_built_in_roles(client: httpx.AsyncClient, app: FastAPI) -> None:
    _, headers = await admin(client, app)
    roles = await roles_of(client, headers)
    assert sorted(roles) == ["admin", "user"]
    user, admin_role = roles["user"], roles["admin"]
    assert (user["builtin"], user["parent"], user["permissions"]) == (True, None, USER_GRANTS)
    assert user["effective_permissions"] == USER_GRANTS
    assert (admin_role["builtin"], admin_role["parent"]) == (True, "user")
    registry: PermissionRegistry = app.state.auth.permissions
    assert set(admin_role["effective_permissions"]) == set(registry.admin)
    assert "threads:read:any" not in admin_role["effective_permissions"]
    assert "agents:use:assistant" in admin_role["effective_permissions"]
    one = await client.get(f"{ROLES}/user", headers=headers)
    assert one.json() == user
    assert_problem(await client.get(f"{ROLES}/nope", headers=headers), 404, "role_not_found")


async def test_the_permissions_are_listed_with_a_line_of_text(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    _, headers = await admin(client, app)
    response = await client.get("/api/admin/permissions", headers=headers)
    assert response.status_code == 200
    listed = {item["name"]: item["description"] for item in response.json()["items"]}
    assert set(listed) == set(app.state.auth.permissions.all)
    assert {"threads:read:any", "agents:use:*", "agents:use:assistant", "roles:manage"} <= set(
        listed
    )
    assert all(text.strip() for text in listed.values())


async def test_creating_editing_and_deleting_a_role(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    me, headers = await admin(client, app)
    created = await make_role(client, headers, "support", ["users:read"], parent="user")
    assert created["parent"] == "user"
    assert created["permissions"] == ["users:read"]
    assert created["effective_permissions"] == sorted([*USER_GRANTS, "users:read"])
    assert created["builtin"] is False
    patched = await client.patch(
        f"{ROLES}/support",
        json={
            "name": "helpdesk",
            "parent": None,
            "permissions": ["users:read", "audit:read"],
            "description": "First line.",
        },
        headers=headers,
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert (body["name"], body["parent"], body["description"]) == ("helpdesk", None, "First line.")
    assert body["permissions"] == body["effective_permissions"] == ["audit:read", "users:read"]
    assert_problem(await client.get(f"{ROLES}/support", headers=headers), 404, "role_not_found")
    assert (await client.delete(f"{ROLES}/helpdesk", headers=headers)).status_code == 204
    assert_problem(await client.delete(f"{ROLES}/helpdesk", headers=headers), 404, "role_not_found")

    [created_event] = await audit(app, "role.created")
    assert (created_event.actor, created_event.target_type, created_event.target_id) == (
        me["email"],
        "role",
        "support",
    )
    assert detail(created_event) == {"permissions": ["users:read"], "parent": "user"}
    [updated] = await audit(app, "role.updated")
    assert updated.target_id == "helpdesk"
    assert detail(updated) == {
        "name": {"old": "support", "new": "helpdesk"},
        "parent": {"old": "user", "new": None},
        "permissions_added": ["audit:read"],
        "permissions_removed": [],
        "description_changed": True,
    }
    [deleted] = await audit(app, "role.deleted")
    assert (deleted.target_id, detail(deleted)) == ("helpdesk", {"holders": 0})


async def test_a_patch_changes_only_what_it_names(client: httpx.AsyncClient, app: FastAPI) -> None:
    _, headers = await admin(client, app)
    await make_role(client, headers, "base", ["audit:read"])
    await make_role(client, headers, "child", ["users:read"], parent="base")
    response = await client.patch(f"{ROLES}/child", json={"description": "x"}, headers=headers)
    body = response.json()
    assert (body["parent"], body["permissions"], body["description"]) == (
        "base",
        ["users:read"],
        "x",
    )
    unchanged = await client.patch(f"{ROLES}/child", json={}, headers=headers)
    assert unchanged.status_code == 200
    assert [detail(e) for e in await audit(app, "role.updated")] == [{"description_changed": True}]
    for bad in ({"name": None}, {"permissions": None}, {"name": "Has Spaces"}, {"builtin": True}):
        assert_problem(
            await client.patch(f"{ROLES}/child", json=bad, headers=headers), 422, "validation_error"
        )


async def test_bad_names_permissions_and_parents_are_refused(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    _, headers = await admin(client, app)
    await make_role(client, headers, "taken")
    for body, status, code in [
        ({"name": "taken"}, 409, "role_exists"),
        ({"name": "admin"}, 409, "role_exists"),
        ({"name": "UPPER"}, 422, "validation_error"),
        ({"name": "x" * 65}, 422, "validation_error"),
        ({"name": "new", "permissions": ["threads:fly"]}, 422, "unknown_permission"),
        ({"name": "new", "permissions": ["agents:use:nope"]}, 422, "unknown_permission"),
        ({"name": "new", "parent": "ghost"}, 422, "unknown_role"),
    ]:
        response = await client.post(ROLES, json=body, headers=headers)
        assert_problem(response, status, code)
    refused = await client.post(
        ROLES, json={"name": "new", "permissions": ["nope"]}, headers=headers
    )
    assert assert_problem(refused, 422, "unknown_permission")["permissions"] == ["nope"]
    rename = await client.patch(f"{ROLES}/taken", json={"name": "user"}, headers=headers)
    assert_problem(rename, 409, "role_exists")


async def test_the_built_in_roles_rules(client: httpx.AsyncClient, app: FastAPI) -> None:
    _, headers = await admin(client, app)
    await make_role(client, headers, "custom")
    for body in ({"description": "x"}, {"permissions": []}, {"parent": None}, {"name": "root"}):
        assert_problem(
            await client.patch(f"{ROLES}/admin", json=body, headers=headers), 409, "builtin_role"
        )
    assert_problem(await client.delete(f"{ROLES}/admin", headers=headers), 409, "builtin_role")
    assert_problem(await client.delete(f"{ROLES}/user", headers=headers), 409, "builtin_role")
    for body in ({"name": "member"}, {"parent": "custom"}):
        assert_problem(
            await client.patch(f"{ROLES}/user", json=body, headers=headers), 409, "builtin_role"
        )
    # The user role's grants and description may change.
    edited = await client.patch(
        f"{ROLES}/user",
        json={"permissions": ["threads:read", "threads:write"], "description": "Everyone."},
        headers=headers,
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["permissions"] == ["threads:read", "threads:write"]


async def test_a_role_others_inherit_from_cannot_be_deleted(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    _, headers = await admin(client, app)
    await make_role(client, headers, "parent")
    await make_role(client, headers, "kid", parent="parent")
    body = assert_problem(
        await client.delete(f"{ROLES}/parent", headers=headers), 409, "role_in_use"
    )
    assert body["roles"] == ["kid"]
    assert (await client.patch(f"{ROLES}/kid", json={"parent": None}, headers=headers)).is_success
    assert (await client.delete(f"{ROLES}/parent", headers=headers)).status_code == 204


async def test_deleting_a_role_takes_it_from_its_holders_at_once(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    _, headers = await admin(client, app)
    await make_role(client, headers, "auditors", ["audit:read"])
    _, holder = await account(client, app, "auditors")
    assert "audit:read" in (await client.get("/api/auth/me", headers=holder)).json()["permissions"]
    assert (await client.delete(f"{ROLES}/auditors", headers=headers)).status_code == 204
    me = (await client.get("/api/auth/me", headers=holder)).json()
    assert me["roles"] == ["user"]
    assert "audit:read" not in me["permissions"]
    [event] = await audit(app, "role.deleted")
    assert detail(event) == {"holders": 1}


# Hierarchy ------------------------------------------------------------------------------------


async def test_a_holder_of_a_child_role_gets_the_parents_grants(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    _, headers = await admin(client, app)
    await make_role(client, headers, "readers", ["users:read"])
    child = await make_role(client, headers, "auditors", ["audit:read"], parent="readers")
    assert child["permissions"] == ["audit:read"]
    assert child["effective_permissions"] == ["audit:read", "users:read"]
    _, holder = await account(client, app, "auditors")
    assert (await client.get("/api/admin/users", headers=holder)).status_code == 200


async def test_a_grant_removed_from_a_parent_stops_working_for_a_child_holder_at_once(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    _, headers = await admin(client, app)
    await make_role(client, headers, "readers", ["users:read"])
    await make_role(client, headers, "mid", parent="readers")
    await make_role(client, headers, "leaf", parent="mid")
    _, holder = await account(client, app, "leaf")
    assert (await client.get("/api/admin/users", headers=holder)).status_code == 200
    assert (await client.get("/api/admin/users", headers=holder)).status_code == 200  # cached
    removed = await client.patch(f"{ROLES}/readers", json={"permissions": []}, headers=headers)
    assert removed.status_code == 200
    assert_problem(await client.get("/api/admin/users", headers=holder), 403, "forbidden")
    # And given back to the parent, it works again on the next request.
    await client.patch(f"{ROLES}/readers", json={"permissions": ["users:read"]}, headers=headers)
    assert (await client.get("/api/admin/users", headers=holder)).status_code == 200


async def test_changing_a_parent_reaches_the_holders_at_once(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    _, headers = await admin(client, app)
    await make_role(client, headers, "readers", ["users:read"])
    await make_role(client, headers, "leaf")
    _, holder = await account(client, app, "leaf")
    assert_problem(await client.get("/api/admin/users", headers=holder), 403, "forbidden")
    await client.patch(f"{ROLES}/leaf", json={"parent": "readers"}, headers=headers)
    assert (await client.get("/api/admin/users", headers=holder)).status_code == 200
    await client.patch(f"{ROLES}/leaf", json={"parent": None}, headers=headers)
    assert_problem(await client.get("/api/admin/users", headers=holder), 403, "forbidden")


async def test_a_cycle_is_refused(client: httpx.AsyncClient, app: FastAPI) -> None:
    _, headers = await admin(client, app)
    await make_role(client, headers, "a")
    await make_role(client, headers, "b", parent="a")
    await make_role(client, headers, "c", parent="b")
    for name, parent in [("a", "c"), ("a", "b"), ("a", "a")]:
        response = await client.patch(f"{ROLES}/{name}", json={"parent": parent}, headers=headers)
        assert_problem(response, 409, "role_cycle")
    assert (await client.get(f"{ROLES}/a", headers=headers)).json()["parent"] is None


async def test_a_chain_deeper_than_eight_is_refused(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    _, headers = await admin(client, app)
    await make_role(client, headers, "level1")
    for depth in range(2, MAX_ROLE_DEPTH + 1):
        await make_role(client, headers, f"level{depth}", parent=f"level{depth - 1}")
    deepest = MAX_ROLE_DEPTH
    too_deep = await client.post(
        ROLES, json={"name": "level9", "parent": f"level{deepest}"}, headers=headers
    )
    assert_problem(too_deep, 409, "role_too_deep")
    # Hanging a chain under another role is counted whole, too.
    await make_role(client, headers, "top")
    response = await client.patch(f"{ROLES}/level1", json={"parent": "top"}, headers=headers)
    assert_problem(response, 409, "role_too_deep")


# Anti-escalation ------------------------------------------------------------------------------


async def role_manager(client: httpx.AsyncClient, app: FastAPI) -> dict[str, str]:
    """The headers of someone who manages roles and holds only `user`'s grants besides."""
    _, headers = await admin(client, app)
    await make_role(client, headers, "designers", ["roles:manage", "users:read"])
    _, designer = await account(client, app, "designers")
    return designer


async def test_nobody_grants_a_permission_they_do_not_hold(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    headers = await role_manager(client, app)
    ok = await client.post(
        ROLES, json={"name": "writers", "permissions": ["threads:write"]}, headers=headers
    )
    assert ok.status_code == 201, ok.text
    refused = await client.post(
        ROLES, json={"name": "auditors", "permissions": ["audit:read"]}, headers=headers
    )
    assert assert_problem(refused, 403, "permission_not_held")["permissions"] == ["audit:read"]
    # Not through a parent either.
    inherited = await client.post(ROLES, json={"name": "sub", "parent": "admin"}, headers=headers)
    assert_problem(inherited, 403, "permission_not_held")
    # Nor by editing a role it may otherwise edit.
    edit = await client.patch(
        f"{ROLES}/writers", json={"permissions": ["threads:write", "audit:read"]}, headers=headers
    )
    assert_problem(edit, 403, "permission_not_held")
    reparent = await client.patch(f"{ROLES}/writers", json={"parent": "admin"}, headers=headers)
    assert_problem(reparent, 403, "permission_not_held")
    # threads:read:any is held by nobody, admins included.
    admin_headers = (await account(client, app, "admin"))[1]
    any_reader = await client.post(
        ROLES, json={"name": "snoops", "permissions": ["threads:read:any"]}, headers=admin_headers
    )
    assert_problem(any_reader, 403, "permission_not_held")
    denied = [e for e in await audit(app) if e.outcome == "denied" and e.action.startswith("role.")]
    assert [(e.action, detail(e)["code"]) for e in denied] == [
        ("role.created", "permission_not_held"),
        ("role.created", "permission_not_held"),
        ("role.updated", "permission_not_held"),
        ("role.updated", "permission_not_held"),
        ("role.created", "permission_not_held"),
    ]
    assert_problem(await client.get(f"{ROLES}/auditors", headers=headers), 404, "role_not_found")


async def test_nobody_edits_or_deletes_a_role_granting_what_they_lack(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    headers = await role_manager(client, app)
    _, admin_headers = await admin(client, app)
    await make_role(client, admin_headers, "auditors", ["audit:read"])
    for body in ({"description": "harmless?"}, {"permissions": []}, {"name": "renamed"}):
        refused = await client.patch(f"{ROLES}/auditors", json=body, headers=headers)
        assert_problem(refused, 403, "role_exceeds_caller")
    assert_problem(
        await client.delete(f"{ROLES}/auditors", headers=headers), 403, "role_exceeds_caller"
    )
    assert (await client.get(f"{ROLES}/auditors", headers=headers)).json()["permissions"] == [
        "audit:read"
    ]


async def test_managing_roles_needs_roles_manage(client: httpx.AsyncClient, app: FastAPI) -> None:
    _, admin_headers = await admin(client, app)
    await make_role(client, admin_headers, "viewers", ["users:read"])
    _, viewer = await account(client, app, "viewers")
    _, plain = await signed_up(client)
    assert (await client.get(ROLES, headers=viewer)).status_code == 200  # reading: users:read
    assert (await client.get("/api/admin/permissions", headers=viewer)).status_code == 200
    for headers in (viewer, plain):
        assert_problem(
            await client.post(ROLES, json={"name": "x"}, headers=headers), 403, "forbidden"
        )
        assert_problem(
            await client.patch(f"{ROLES}/viewers", json={}, headers=headers), 403, "forbidden"
        )
        assert_problem(await client.delete(f"{ROLES}/viewers", headers=headers), 403, "forbidden")
    assert_problem(await client.get(ROLES, headers=plain), 403, "forbidden")


async def pages(client: httpx.AsyncClient, path: str, headers: dict[str, str]) -> list[str]:
    names: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get(path, params=params, headers=headers)).json()
        assert len(page["items"]) <= 2
        names += [item["name"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return names


async def test_roles_and_permissions_come_in_pages(client: httpx.AsyncClient, app: FastAPI) -> None:
    _, headers = await admin(client, app)
    for name in ("c-role", "a-role", "b-role"):
        await make_role(client, headers, name)
    assert await pages(client, ROLES, headers) == ["a-role", "admin", "b-role", "c-role", "user"]
    listed = await pages(client, "/api/admin/permissions", headers)
    assert listed == [p.name for p in app.state.auth.permissions.listing()]
    for path, cursor in [(ROLES, "junk"), ("/api/admin/permissions", "junk")]:
        bad = await client.get(path, params={"cursor": cursor}, headers=headers)
        assert_problem(bad, 400, "invalid_cursor")
