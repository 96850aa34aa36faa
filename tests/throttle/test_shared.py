"""With CONFIDE_REDIS_URL the counters live in Redis, shared by every process: two apps on one
database and one Redis (a private redis-server, tests/redis_server.py) stand for two workers.
An IP rule changed on one is applied by the other at once, through the broadcast."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from confide.shared.redis import key
from confide.throttle.counters import IpPolicy, account_key
from confide.throttle.models import ThrottleCounter
from confide.throttle.store import RedisCounterStore
from tests.admin.helpers import admin
from tests.conftest import client_for
from tests.conftest import settle_jobs as settle
from tests.factories import PASSWORD, assert_problem, register, unique_email
from tests.redis_server import RedisServer, redis_server
from tests.throttle.helpers import WRONG, Clock, client_from, sign_in

DEADLINE_SECONDS = 30.0
Apps = tuple[FastAPI, FastAPI]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    with redis_server(tmp_path) as running:
        yield running


@pytest.fixture
async def two_apps(app_factory: Callable[..., FastAPI], server: RedisServer) -> AsyncIterator[Apps]:
    apps = (
        app_factory(redis_url=server.url),
        app_factory(redis_url=server.url),
    )
    clock = Clock()
    for app in apps:
        app.state.throttle.clock = clock
        await app.state.auth.broadcast.start()
    yield apps
    for app in apps:
        await settle(app)
        await app.state.jobs.aclose()  # the notifications' queue, on its own connection
        await app.state.auth.broadcast.aclose()
        await app.state.redis.aclose()
        await app.state.database.dispose()


async def test_two_processes_share_one_account_counter(two_apps: Apps) -> None:
    first, second = two_apps
    assert isinstance(first.state.throttle.store, RedisCounterStore)
    async with client_for(first) as a, client_for(second) as b:
        user = await register(a)
        for client in (a, b, a, b, a):
            assert (await sign_in(client, user["email"], WRONG)).status_code == 401
        for client in (a, b):
            body = assert_problem(
                await sign_in(client, user["email"], PASSWORD), 429, "account_locked"
            )
            assert body["retry_after"] == 30
    # Nothing of it in the database: Redis holds the counters.
    async with first.state.database.session() as db:
        assert await db.scalar(select(func.count()).select_from(ThrottleCounter)) == 0
    ttl = await first.state.redis.ttl(key("throttle", account_key(user["email"])))
    assert 0 < ttl <= 86400


async def test_two_processes_share_one_address_counter(two_apps: Apps) -> None:
    first, second = two_apps
    for app in two_apps:
        app.state.throttle.ip = IpPolicy(threshold=4, window_seconds=900, block_seconds=900)
    async with client_from(first, "203.0.113.9") as a, client_from(second, "203.0.113.9") as b:
        for client in (a, b, a, b):
            assert (await sign_in(client, unique_email(), WRONG)).status_code == 401
        assert_problem(await sign_in(b, unique_email(), WRONG), 429, "ip_blocked")
        assert_problem(await sign_in(a, unique_email(), WRONG), 429, "ip_blocked")


async def test_a_success_on_one_process_resets_the_counter_for_both(two_apps: Apps) -> None:
    first, second = two_apps
    async with client_for(first) as a, client_for(second) as b:
        user = await register(a)
        for client in (a, b, a, b):
            assert (await sign_in(client, user["email"], WRONG)).status_code == 401
        assert (await sign_in(b, user["email"], PASSWORD)).status_code == 200
        for client in (a, b, a, b):
            assert (await sign_in(client, user["email"], WRONG)).status_code == 401
        assert (await sign_in(a, user["email"], PASSWORD)).status_code == 200


async def test_a_rule_added_on_one_process_applies_on_the_other_at_once(two_apps: Apps) -> None:
    first, second = two_apps
    async with client_for(first) as a, client_from(second, "198.51.100.77") as blocked:
        assert (await blocked.get("/api/health")).status_code == 200  # its cache is loaded
        before = second.state.ip_rules.generation
        _, headers = await admin(a, first)
        response = await a.post(
            "/api/admin/ip-rules",
            json={"cidr": "198.51.100.0/24", "action": "block"},
            headers=headers,
        )
        assert response.status_code == 201, response.text
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DEADLINE_SECONDS
        while second.state.ip_rules.generation == before:  # the broadcast is heard
            assert loop.time() < deadline, "the other process never heard of the change"
            await asyncio.sleep(0.01)
        assert_problem(await blocked.get("/api/health"), 403, "ip_blocked")
