"""`confide roles grant|revoke` (the shell: the root of trust) and the hint `confide serve`
prints while no administrator exists. Real processes, as operators run them."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from confide.access.models import RolePermission
from confide.access.permissions import USER_ROLE_ID
from confide.auth.models import User
from confide.cli import NO_ADMIN_HINT, has_active_admin
from tests.admin.helpers import account, admin, audit, detail, make_role
from tests.conftest import TEST_SECRET, client_for
from tests.factories import assert_problem, register
from tests.redis_server import RedisServer
from tests.test_cli import Server, cli_env, confide, create_admin, free_port, servers

__all__ = ["servers"]  # the fixture, used below


def user_role_grants(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        rows = db.execute(
            "SELECT permission FROM role_permissions WHERE role_id = ?", (USER_ROLE_ID.hex,)
        ).fetchall()
    return {permission for (permission,) in rows}


def cli_events(path: Path) -> list[tuple[str, str | None, str | None, dict[str, object]]]:
    with sqlite3.connect(path) as db:
        rows = db.execute(
            "SELECT action, actor, target_id, detail FROM audit_events WHERE actor = 'cli' "
            "ORDER BY id"
        ).fetchall()
    return [(action, actor, target, json.loads(raw)) for action, actor, target, raw in rows]


def test_roles_grant_and_revoke_from_the_shell(tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    create_admin(tmp_path, env)
    database = tmp_path / "confide.db"

    granted = confide("roles", "grant", "user", "threads:read:any", cwd=tmp_path, env=env)
    assert granted.returncode == 0, granted.stderr
    assert "Granted threads:read:any to role user" in granted.stdout
    assert "threads:read:any" in user_role_grants(database)
    again = confide("roles", "grant", "user", "threads:read:any", cwd=tmp_path, env=env)
    assert again.returncode == 0
    assert "nothing changed" in again.stdout

    revoked = confide("roles", "revoke", "user", "threads:read:any", cwd=tmp_path, env=env)
    assert revoked.returncode == 0, revoked.stderr
    assert "threads:read:any" not in user_role_grants(database)
    assert "threads:read" in user_role_grants(database)

    for args, code in [
        (("grant", "admin", "threads:read:any"), "builtin_role"),
        (("grant", "user", "threads:fly"), "unknown_permission"),
        (("grant", "ghost", "threads:read"), "role_not_found"),
    ]:
        refused = confide("roles", *args, cwd=tmp_path, env=env)
        assert refused.returncode == 1, refused.stdout
        assert code in refused.stderr
        assert "Traceback" not in refused.stderr

    events = cli_events(database)
    assert [(action, target) for action, _, target, _ in events] == [
        ("auth.registered", events[0][2]),
        ("role.updated", "user"),
        ("role.updated", "user"),
    ]
    assert events[0][3]["roles"] == ["admin", "user"]
    assert events[1][3] == {"permissions_added": ["threads:read:any"], "permissions_removed": []}
    assert events[2][3] == {"permissions_added": [], "permissions_removed": ["threads:read:any"]}


def test_an_agents_permission_is_known_to_the_shell(tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    create_admin(tmp_path, env)
    granted = confide("roles", "grant", "user", "agents:use:calculator", cwd=tmp_path, env=env)
    assert granted.returncode == 0, granted.stderr


async def test_a_revocation_from_the_shell_reaches_a_running_server_over_redis(
    app_factory: Callable[..., FastAPI],
    database_url: str,
    redis_server: RedisServer,
    tmp_path: Path,
) -> None:
    # A cache entry outlives the command: only the published invalidation drops it.
    app = app_factory(redis_url=redis_server.url, session_cache_ttl_seconds=60)
    await app.state.auth.broadcast.start()
    try:
        async with client_for(app) as client:
            _, headers = await admin(client, app)
            await make_role(client, headers, "viewers", ["users:read"])
            _, holder = await account(client, app, "viewers")
            assert (await client.get("/api/admin/users", headers=holder)).status_code == 200
            # In a thread: this loop must go on serving, to acknowledge the invalidation.
            revoked = await asyncio.to_thread(
                confide, "roles", "revoke", "viewers", "users:read",
                cwd=tmp_path,
                env=cli_env(
                    tmp_path / "cli",
                    CONFIDE_DATABASE_URL=database_url,
                    CONFIDE_REDIS_URL=redis_server.url,
                    CONFIDE_SECRET_KEY=TEST_SECRET,
                ),
            )  # fmt: skip
            assert revoked.returncode == 0, revoked.stdout + revoked.stderr
            refused = await client.get("/api/admin/users", headers=holder)
            assert_problem(refused, 403, "forbidden")
        async with app.state.database.session() as db:
            grants = (await db.execute(select(RolePermission.permission))).scalars().all()
        assert "users:read" not in grants
        [event] = [e for e in await audit(app, "role.updated") if e.actor == "cli"]
        assert (event.actor_id, event.target_id) == (None, "viewers")
        assert detail(event)["permissions_removed"] == ["users:read"]
    finally:
        await app.state.auth.broadcast.aclose()
        await app.state.redis.aclose()
        await app.state.database.dispose()


# The serve hint --------------------------------------------------------------------------------


def test_serve_says_how_to_make_the_first_admin(tmp_path: Path, servers: list[Server]) -> None:
    port = free_port()
    server = Server([], cwd=tmp_path, env=cli_env(tmp_path, CONFIDE_PORT=str(port)), port=port)
    servers.append(server)
    assert server.wait_until_healthy().status_code == 200
    server.stop()
    assert NO_ADMIN_HINT in server.output()
    assert "confide users create --admin --email you@example.org" in NO_ADMIN_HINT


def test_serve_is_quiet_about_it_once_an_admin_exists(
    tmp_path: Path, servers: list[Server]
) -> None:
    port = free_port()
    env = cli_env(tmp_path, CONFIDE_PORT=str(port))
    create_admin(tmp_path, env)
    server = Server([], cwd=tmp_path, env=env, port=port)
    servers.append(server)
    assert server.wait_until_healthy().status_code == 200
    server.stop()
    assert "No administrator yet" not in server.output()


@pytest.mark.parametrize("status", ["disabled", "pending"])
async def test_only_an_active_admin_counts(
    client: httpx.AsyncClient, app: FastAPI, status: str
) -> None:
    settings = app.state.settings
    assert not await has_active_admin(settings)
    await register(client)
    assert not await has_active_admin(settings)
    me, headers = await admin(client, app)
    assert await has_active_admin(settings)
    other, _ = await account(client, app, "admin")
    response = await client.patch(
        f"/api/admin/users/{me['id']}", json={"status": status}, headers=headers
    )
    assert response.status_code == 200
    assert await has_active_admin(settings)  # the other one
    async with app.state.database.begin() as conn:
        other_id = uuid.UUID(other["id"])
        await conn.execute(update(User).where(User.id == other_id).values(status=status))
    assert not await has_active_admin(settings)
