"""A change of access stops working on the affected users' next request on every process:
two apps on one database and one Redis (a private redis-server), as two hosts would be."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis

from confide.admin import service as admin_service
from confide.auth.cache import MemorySessionCache, Principal, RedisSessionCache
from confide.auth.service import AuthService
from confide.shared.broadcast import Broadcast
from confide.shared.redis import connect_redis
from tests.admin.helpers import account, admin, make_role
from tests.conftest import client_for
from tests.factories import assert_problem, signed_up
from tests.redis_server import RedisServer

Apps = tuple[FastAPI, FastAPI]


def principal(user_id: uuid.UUID | None = None) -> Principal:
    return Principal(
        user_id=user_id or uuid.uuid4(),
        session_id=uuid.uuid4(),
        email="someone@example.org",
        display_name=None,
        created_at=datetime.now(UTC),
        deadline=datetime.now(UTC).timestamp() + 3600,
    )


def remember(cache: MemorySessionCache | RedisSessionCache, p: Principal) -> None:
    generation = cache.begin_load(p.session_id, p.user_id)
    assert generation is not None
    cache.put(p, generation=generation)


# The caches ------------------------------------------------------------------------------------


async def test_a_batch_of_users_is_dropped_and_fenced_in_memory() -> None:
    cache = MemorySessionCache(ttl=60)
    first, second, other = principal(), principal(), principal()
    for p in (first, second, other):
        remember(cache, p)
    await cache.invalidate_users([first.user_id, second.user_id])
    assert [cache.get(p.session_id) for p in (first, second)] == [None, None]
    assert cache.get(other.session_id) == other
    assert cache.begin_load(first.session_id, first.user_id) is None
    assert cache.begin_load(other.session_id, other.user_id) is not None


async def test_invalidating_everything_fences_every_session_until_it_lifts() -> None:
    cache = MemorySessionCache(ttl=60)
    p = principal()
    remember(cache, p)
    began = cache.begin_load(uuid.uuid4(), uuid.uuid4())
    assert began is not None
    await cache.invalidate_all()
    assert cache.get(p.session_id) is None
    assert cache.begin_load(p.session_id, p.user_id) is None
    assert cache.begin_load(uuid.uuid4(), uuid.uuid4()) is None  # any session at all
    late = principal()
    cache.put(late, generation=began)  # a load that began before: not cached
    assert cache.get(late.session_id) is None
    lifted = MemorySessionCache(ttl=60, fence_seconds=0)
    await lifted.invalidate_all()
    remember(lifted, p)
    assert lifted.get(p.session_id) == p


@pytest.fixture
async def caches(redis_server: RedisServer) -> AsyncIterator[Callable[[], Any]]:
    """`make()`: a RedisSessionCache on a client and broadcast of its own, started."""
    made: list[tuple[Redis, Broadcast]] = []

    async def make() -> RedisSessionCache:
        redis = connect_redis(redis_server.url)
        broadcast = Broadcast(redis, heartbeat_seconds=0.5, backoff_seconds=(0.01, 0.2))
        made.append((redis, broadcast))
        cache = RedisSessionCache(redis=redis, broadcast=broadcast, ttl=60)
        await broadcast.start()
        assert broadcast.connected
        return cache

    yield make
    for redis, broadcast in made:
        await broadcast.aclose()
        await redis.aclose()


async def test_batch_and_global_invalidations_reach_every_process_before_returning(
    caches: Callable[[], Any],
) -> None:
    a, b = await caches(), await caches()
    first, second, other = principal(), principal(), principal()
    for cache in (a, b):
        for p in (first, second, other):
            remember(cache, p)
    await a.invalidate_users([first.user_id, second.user_id])
    # No waiting: every process acknowledged before `invalidate_users` returned.
    assert [b.get(p.session_id) for p in (first, second, other)] == [None, None, other]
    assert b.begin_load(first.session_id, first.user_id) is None
    await a.invalidate_all()
    assert b.get(other.session_id) is None
    assert b.begin_load(other.session_id, other.user_id) is None


# Two apps ---------------------------------------------------------------------------------------


@pytest.fixture
async def two_apps(
    app_factory: Callable[..., FastAPI], redis_server: RedisServer
) -> AsyncIterator[Apps]:
    apps = (app_factory(redis_url=redis_server.url), app_factory(redis_url=redis_server.url))
    for app in apps:
        await app.state.auth.broadcast.start()
    yield apps
    for app in apps:
        await app.state.auth.broadcast.aclose()
        await app.state.redis.aclose()
        await app.state.database.dispose()


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[uuid.UUID]:
    """The sessions checked against the database, in order."""
    seen: list[uuid.UUID] = []
    original = AuthService.load_principal

    async def counting(self: AuthService, session_id: uuid.UUID, user_id: uuid.UUID) -> Any:
        seen.append(session_id)
        return await original(self, session_id, user_id)

    monkeypatch.setattr(AuthService, "load_principal", counting)
    return seen


async def on(app: FastAPI, method: str, path: str, **kwargs: Any) -> httpx.Response:
    async with client_for(app) as client:
        return await client.request(method, path, **kwargs)


async def cached_on(app: FastAPI, headers: dict[str, str], loads: list[uuid.UUID]) -> None:
    """B has the session in its cache (the second request costs no load)."""
    assert (await on(app, "GET", "/api/auth/me", headers=headers)).status_code == 200
    before = len(loads)
    assert (await on(app, "GET", "/api/auth/me", headers=headers)).status_code == 200
    assert len(loads) == before


@pytest.mark.parametrize("invalidate_all", [False, True], ids=["named-users", "everyone"])
async def test_a_grant_removed_from_a_parent_role_on_one_app_is_refused_by_the_other(
    two_apps: Apps,
    loads: list[uuid.UUID],
    monkeypatch: pytest.MonkeyPatch,
    invalidate_all: bool,
) -> None:
    if invalidate_all:
        monkeypatch.setattr(admin_service, "INVALIDATE_ALL_ABOVE", 0)
    a, b = two_apps
    async with client_for(a) as client:
        _, headers = await admin(client, a)
        await make_role(client, headers, "readers", ["users:read"])
        await make_role(client, headers, "leaf", parent="readers")
        _, holder = await account(client, a, "leaf")
    assert (await on(b, "GET", "/api/admin/users", headers=holder)).status_code == 200
    await cached_on(b, holder, loads)
    removed = await on(
        a, "PATCH", "/api/admin/roles/readers", json={"permissions": []}, headers=headers
    )
    assert removed.status_code == 200
    assert_problem(await on(b, "GET", "/api/admin/users", headers=holder), 403, "forbidden")


async def test_roles_and_status_changed_on_one_app_count_on_the_other_at_once(
    two_apps: Apps, loads: list[uuid.UUID]
) -> None:
    a, b = two_apps
    async with client_for(a) as client:
        _, headers = await admin(client, a)
        await make_role(client, headers, "auditors", ["audit:read", "users:read"])
        # One account per change: after a change the account is fenced for a while (every
        # request checks the database), so it could not be shown cached on B again.
        accounts = [await signed_up(client) for _ in range(3)]
    for _, user_headers in accounts:
        await cached_on(b, user_headers, loads)
    (promoted, promoted_headers), (held, held_headers), (gone, gone_headers) = accounts

    given = await on(
        a, "PUT", f"/api/admin/users/{promoted['id']}/roles", json={"roles": ["auditors"]},
        headers=headers,
    )  # fmt: skip
    assert given.status_code == 200
    me = (await on(b, "GET", "/api/auth/me", headers=promoted_headers)).json()
    assert me["roles"] == ["auditors"]
    assert (await on(b, "GET", "/api/admin/users", headers=promoted_headers)).status_code == 200

    pending = {"status": "pending"}
    await on(a, "PATCH", f"/api/admin/users/{held['id']}", json=pending, headers=headers)
    assert_problem(
        await on(b, "GET", "/api/threads", headers=held_headers), 403, "pending_approval"
    )

    disabled = {"status": "disabled"}
    await on(a, "PATCH", f"/api/admin/users/{gone['id']}", json=disabled, headers=headers)
    assert_problem(await on(b, "GET", "/api/auth/me", headers=gone_headers), 401, "session_expired")


async def test_sessions_ended_by_an_admin_on_one_app_end_on_the_other(
    two_apps: Apps, loads: list[uuid.UUID]
) -> None:
    a, b = two_apps
    async with client_for(a) as client:
        _, headers = await admin(client, a)
        user, user_headers = await signed_up(client)
    await cached_on(b, user_headers, loads)
    ended = await on(a, "DELETE", f"/api/admin/users/{user['id']}/sessions", headers=headers)
    assert ended.status_code == 204
    assert_problem(await on(b, "GET", "/api/auth/me", headers=user_headers), 401, "session_expired")
