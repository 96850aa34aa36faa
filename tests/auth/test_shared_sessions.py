"""The session cache shared over Redis: pub/sub, invalidation on every process before it
returns, no trust while Redis is gone, recovery when it is back. Against a private
redis-server (tests/redis_server.py); two "processes" are two clients, broadcasts and caches
on this event loop, or two apps on one database."""

from __future__ import annotations

import asyncio
import io
import json
import signal
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis

from confide.auth import cache as cache_module
from confide.auth.cache import (
    INVALIDATE_CHANNEL,
    MemorySessionCache,
    Principal,
    RedisSessionCache,
    SessionCache,
)
from confide.auth.service import AuthService
from confide.shared.broadcast import Broadcast
from tests.conftest import client_for
from tests.factories import PASSWORD, assert_problem, bearer, login, register, signed_up
from tests.redis_server import RedisServer

DEADLINE_SECONDS = 30.0


async def eventually(condition: Callable[[], bool], what: str) -> None:
    """Wait until `condition()` holds (polling the loop), failing after a generous deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE_SECONDS
    while not condition():
        assert loop.time() < deadline, f"timed out waiting until {what}"
        await asyncio.sleep(0.01)


@pytest.fixture
async def broadcasts(
    clients: Callable[[], Redis],
) -> AsyncIterator[Callable[[], Broadcast]]:
    """`broadcasts()`: a Broadcast on its own client (not started), closed after the test."""
    made: list[Broadcast] = []

    def make() -> Broadcast:
        made.append(Broadcast(clients(), heartbeat_seconds=0.5, backoff_seconds=(0.01, 0.2)))
        return made[-1]

    yield make
    for broadcast in made:
        await broadcast.aclose()


def principal(user_id: uuid.UUID | None = None) -> Principal:
    return Principal(
        user_id=user_id or uuid.uuid4(),
        session_id=uuid.uuid4(),
        email="someone@example.org",
        display_name=None,
        created_at=datetime.now(UTC),
        deadline=datetime.now(UTC).timestamp() + 3600,
    )


# Broadcast ----------------------------------------------------------------------------------


async def test_a_message_reaches_every_subscriber_in_order(
    broadcasts: Callable[[], Broadcast],
) -> None:
    first, second = broadcasts(), broadcasts()
    heard: dict[str, asyncio.Queue[bytes]] = {"first": asyncio.Queue(), "second": asyncio.Queue()}
    first.subscribe("confide:test", heard["first"].put_nowait)
    second.subscribe("confide:test", heard["second"].put_nowait)
    await first.start()
    await second.start()
    assert first.connected
    assert second.connected
    for data in (b"one", b"two", b"three"):
        assert await first.publish("confide:test", data) == 2
    for queue in heard.values():
        got = [await asyncio.wait_for(queue.get(), DEADLINE_SECONDS) for _ in range(3)]
        assert got == [b"one", b"two", b"three"]


async def test_a_failing_handler_does_not_stop_the_others(
    broadcasts: Callable[[], Broadcast],
) -> None:
    broadcast = broadcasts()
    heard: asyncio.Queue[bytes] = asyncio.Queue()

    def failing(_data: bytes) -> None:
        raise RuntimeError("handler bug")

    broadcast.subscribe("confide:test", failing)
    broadcast.subscribe("confide:test", heard.put_nowait)
    await broadcast.start()
    await broadcast.publish("confide:test", b"first")
    await broadcast.publish("confide:test", b"second")
    assert await asyncio.wait_for(heard.get(), DEADLINE_SECONDS) == b"first"
    assert await asyncio.wait_for(heard.get(), DEADLINE_SECONDS) == b"second"
    assert broadcast.connected


async def test_a_channel_subscribed_after_start_is_heard(
    broadcasts: Callable[[], Broadcast], clients: Callable[[], Redis]
) -> None:
    broadcast = broadcasts()
    await broadcast.start()
    heard: asyncio.Queue[bytes] = asyncio.Queue()
    broadcast.subscribe("confide:late", heard.put_nowait)
    observer = clients()

    async def subscribers() -> int:
        counts = await observer.pubsub_numsub("confide:late")
        return int(counts[0][1])

    deadline = asyncio.get_running_loop().time() + DEADLINE_SECONDS
    while await subscribers() == 0:
        assert asyncio.get_running_loop().time() < deadline, "never subscribed"
        await asyncio.sleep(0.01)
    assert await broadcast.publish("confide:late", b"hello") == 1
    assert await asyncio.wait_for(heard.get(), DEADLINE_SECONDS) == b"hello"


async def test_it_reconnects_and_resets_when_redis_comes_back(
    broadcasts: Callable[[], Broadcast], server: RedisServer
) -> None:
    broadcast = broadcasts()
    resets: list[bool] = []
    heard: asyncio.Queue[bytes] = asyncio.Queue()
    broadcast.on_reset(lambda: resets.append(broadcast.connected))
    broadcast.subscribe("confide:test", heard.put_nowait)
    await broadcast.start()
    assert broadcast.connected
    assert resets == [False]  # called before `connected` turns true
    server.stop()
    await eventually(lambda: not broadcast.connected, "the broadcast notices Redis is gone")
    with pytest.raises(Exception, match="onnect"):
        await broadcast.publish("confide:test", b"lost")
    server.start()
    await eventually(lambda: broadcast.connected, "the broadcast reconnects")
    assert resets == [False, False]
    assert await broadcast.publish("confide:test", b"back") == 1
    assert await asyncio.wait_for(heard.get(), DEADLINE_SECONDS) == b"back"


async def test_a_redis_that_stops_answering_is_noticed_by_the_heartbeat(
    broadcasts: Callable[[], Broadcast], server: RedisServer
) -> None:
    broadcast = broadcasts()
    await broadcast.start()
    assert server.process is not None
    server.process.send_signal(signal.SIGSTOP)  # the connection stays open, nothing answers
    try:
        await eventually(lambda: not broadcast.connected, "the heartbeat notices the silence")
    finally:
        server.process.send_signal(signal.SIGCONT)
    await eventually(lambda: broadcast.connected, "the broadcast reconnects")


async def test_it_keeps_trying_when_redis_is_absent_at_start(
    broadcasts: Callable[[], Broadcast], server: RedisServer
) -> None:
    server.stop()
    broadcast = broadcasts()
    await broadcast.start()  # returns after the first attempt failed
    assert not broadcast.connected
    server.start()
    await eventually(lambda: broadcast.connected, "the broadcast connects")


async def test_aclose_stops_listening(broadcasts: Callable[[], Broadcast]) -> None:
    broadcast = broadcasts()
    await broadcast.start()
    await broadcast.aclose()
    assert not broadcast.connected


# The in-process cache's fences and load tokens -------------------------------------------------


def remember(cache: SessionCache, p: Principal) -> None:
    """What a load does: begin (the session must not be fenced), then put its answer."""
    token = cache.begin_load(p.session_id, p.user_id)
    assert token is not None, "fenced, or nothing trusted"
    cache.put(p, generation=token)


async def test_an_invalidated_session_is_fenced_against_a_load_racing_the_commit() -> None:
    cache = MemorySessionCache(ttl=60)
    p = principal()
    await cache.invalidate(p.session_id)
    # A load now could read the session as live (its end is not committed yet): it is the
    # request's own check, neither shared nor cached.
    assert cache.begin_load(p.session_id, p.user_id) is None


async def test_a_user_invalidation_fences_every_session_of_the_user() -> None:
    cache = MemorySessionCache(ttl=60)
    mine, other = principal(), principal()
    remember(cache, mine)
    remember(cache, other)
    await cache.invalidate_user(mine.user_id)
    assert cache.get(mine.session_id) is None
    assert cache.get(other.session_id) == other
    assert cache.begin_load(uuid.uuid4(), mine.user_id) is None
    assert cache.begin_load(other.session_id, other.user_id) is not None


async def test_a_fence_lifts() -> None:
    cache = MemorySessionCache(ttl=60, fence_seconds=0)
    p = principal()
    await cache.invalidate(p.session_id)
    remember(cache, p)
    assert cache.get(p.session_id) == p


async def test_a_load_that_began_before_a_drop_is_not_cached() -> None:
    cache = MemorySessionCache(ttl=60)
    p = principal()
    began = cache.begin_load(p.session_id, p.user_id)
    assert began is not None
    await cache.invalidate(uuid.uuid4())  # any session: the load may have read anything
    assert cache.begin_load(p.session_id, p.user_id) != began  # not shared either
    cache.put(p, generation=began)
    assert cache.get(p.session_id) is None
    cache.clear()
    remember(cache, p)
    assert cache.get(p.session_id) == p


async def test_a_request_after_a_sign_out_never_joins_a_load_that_began_before_it(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = await register(client)
    ending = await login(client, email=user["email"])
    other = bearer((await login(client, email=user["email"]))["access_token"])
    assert (await client.get("/api/auth/me", headers=other)).status_code == 200
    reached, gate = asyncio.Event(), asyncio.Event()
    original = AuthService.load_principal

    async def slow(self: AuthService, session_id: uuid.UUID, user_id: uuid.UUID) -> Any:
        found = await original(self, session_id, user_id)
        if str(session_id) == ending["session_id"] and not reached.is_set():
            reached.set()  # it read the session as live, and has not answered yet
            await gate.wait()
        return found

    monkeypatch.setattr(AuthService, "load_principal", slow)
    headers = bearer(ending["access_token"])
    before = asyncio.create_task(client.get("/api/auth/me", headers=headers))
    await asyncio.wait_for(reached.wait(), DEADLINE_SECONDS)
    ended = await client.delete(f"/api/auth/sessions/{ending['session_id']}", headers=other)
    assert ended.status_code == 204
    after = await asyncio.wait_for(client.get("/api/auth/me", headers=headers), DEADLINE_SECONDS)
    assert_problem(after, 401, "session_expired")
    gate.set()
    assert (await before).status_code == 200  # concurrent with the sign-out: either is right
    assert_problem(await client.get("/api/auth/me", headers=headers), 401, "session_expired")


# The Redis cache across processes -------------------------------------------------------------


async def shared_cache(
    clients: Callable[[], Redis], broadcasts: Callable[[], Broadcast]
) -> RedisSessionCache:
    broadcast = broadcasts()
    cache = RedisSessionCache(redis=clients(), broadcast=broadcast, ttl=60)
    await broadcast.start()
    assert broadcast.connected
    return cache


async def test_an_invalidation_has_reached_every_process_when_it_returns(
    clients: Callable[[], Redis], broadcasts: Callable[[], Broadcast]
) -> None:
    a, b, c = [await shared_cache(clients, broadcasts) for _ in range(3)]
    p, kept = principal(), principal()
    for cache in (a, b, c):
        remember(cache, p)
        remember(cache, kept)
        assert cache.get(p.session_id) == p
    await a.invalidate(p.session_id)
    # No waiting: every process acknowledged before `invalidate` returned.
    assert [cache.get(p.session_id) for cache in (a, b, c)] == [None, None, None]
    assert [cache.get(kept.session_id) for cache in (a, b, c)] == [kept, kept, kept]
    assert b.begin_load(p.session_id, p.user_id) is None  # fenced there too


async def test_a_user_invalidation_has_reached_every_process_when_it_returns(
    clients: Callable[[], Redis], broadcasts: Callable[[], Broadcast]
) -> None:
    a, b = [await shared_cache(clients, broadcasts) for _ in range(2)]
    first, other = principal(), principal()
    second = principal(first.user_id)
    for cache in (a, b):
        for p in (first, second, other):
            remember(cache, p)
    await b.invalidate_user(first.user_id)
    for cache in (a, b):
        assert cache.get(first.session_id) is None
        assert cache.get(second.session_id) is None
        assert cache.get(other.session_id) == other


async def test_without_redis_nothing_is_trusted_and_everything_is_forgotten_on_return(
    clients: Callable[[], Redis], broadcasts: Callable[[], Broadcast], server: RedisServer
) -> None:
    broadcast = broadcasts()
    cache = RedisSessionCache(redis=clients(), broadcast=broadcast, ttl=60)
    p = principal()
    assert cache.begin_load(p.session_id, p.user_id) is None  # not started: nothing trusted
    cache.put(p, generation=0)
    assert cache.get(p.session_id) is None
    await broadcast.start()
    remember(cache, p)
    assert cache.get(p.session_id) == p
    server.stop()
    await eventually(lambda: not broadcast.connected, "the cache's broadcast notices")
    assert cache.get(p.session_id) is None
    assert cache.begin_load(p.session_id, p.user_id) is None
    await cache.invalidate(uuid.uuid4())  # cannot publish: logged, not raised
    server.start()
    await eventually(lambda: broadcast.connected, "the cache's broadcast reconnects")
    assert cache.get(p.session_id) is None  # it may have missed invalidations: emptied
    remember(cache, p)
    assert cache.get(p.session_id) == p


async def test_a_subscriber_that_never_acknowledges_is_waited_for_a_bounded_time(
    clients: Callable[[], Redis],
    broadcasts: Callable[[], Broadcast],
    monkeypatch: pytest.MonkeyPatch,
    log_lines: io.StringIO,
) -> None:
    monkeypatch.setattr(cache_module, "ACK_SECONDS", 0.2)
    cache = await shared_cache(clients, broadcasts)
    silent = clients().pubsub()
    await silent.subscribe(INVALIDATE_CHANNEL)
    confirmed = await silent.get_message(timeout=DEADLINE_SECONDS)
    assert confirmed is not None
    assert confirmed["type"] == "subscribe"
    try:
        await cache.invalidate(uuid.uuid4())
    finally:
        await silent.aclose()  # type: ignore[no-untyped-call]
    [warning] = [
        json.loads(line) for line in log_lines.getvalue().splitlines() if "not acknowledged" in line
    ]
    assert (warning["receivers"], warning["acknowledged"]) == (2, 1)


async def test_a_malformed_message_is_ignored(
    clients: Callable[[], Redis], broadcasts: Callable[[], Broadcast]
) -> None:
    cache = await shared_cache(clients, broadcasts)
    p = principal()
    remember(cache, p)
    for junk in (b"", b"s", b"x ack " + p.session_id.hex.encode(), b"s ack not-a-uuid", b"\xff"):
        await clients().publish(INVALIDATE_CHANNEL, junk)
    await cache.invalidate(uuid.uuid4())  # acknowledged once the junk before it was read
    assert cache.get(p.session_id) == p


# Two apps on one database and one Redis -------------------------------------------------------


Apps = tuple[FastAPI, FastAPI]


@pytest.fixture
async def two_apps(app_factory: Callable[..., FastAPI], server: RedisServer) -> AsyncIterator[Apps]:
    """Two apps (as two processes would build them), their broadcasts started."""
    apps = (app_factory(redis_url=server.url), app_factory(redis_url=server.url))
    for app in apps:
        await app.state.auth.broadcast.start()
    yield apps
    for app in apps:
        await app.state.auth.broadcast.aclose()
        await app.state.redis.aclose()
        await app.state.database.dispose()


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[uuid.UUID]:
    """The session ids checked against the database, in order."""
    seen: list[uuid.UUID] = []
    original = AuthService.load_principal

    async def counting(self: AuthService, session_id: uuid.UUID, user_id: uuid.UUID) -> Any:
        seen.append(session_id)
        return await original(self, session_id, user_id)

    monkeypatch.setattr(AuthService, "load_principal", counting)
    return seen


def requests(app: FastAPI) -> Callable[..., Awaitable[httpx.Response]]:
    async def send(method: str, path: str, **kwargs: Any) -> httpx.Response:
        async with client_for(app) as client:
            return await client.request(method, path, **kwargs)

    return send


async def test_a_sign_out_on_one_app_is_refused_by_the_other_at_once(
    two_apps: Apps, loads: list[uuid.UUID]
) -> None:
    a, b = two_apps
    async with client_for(a) as client:
        _, headers = await signed_up(client)
    on_b = requests(b)
    assert (await on_b("GET", "/api/auth/me", headers=headers)).status_code == 200
    assert (await on_b("GET", "/api/auth/me", headers=headers)).status_code == 200
    assert len(loads) == 1  # B answers from its cache
    assert (await requests(a)("POST", "/api/auth/logout", headers=headers)).status_code == 204
    assert_problem(await on_b("GET", "/api/auth/me", headers=headers), 401, "session_expired")


async def test_a_reused_refresh_token_on_one_app_ends_the_session_on_the_other(
    two_apps: Apps,
) -> None:
    a, b = two_apps
    async with client_for(a) as client:
        user = await register(client)
        tokens = await login(client, email=user["email"])
        refreshed = await client.post(
            "/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
        )
        assert refreshed.status_code == 200
        headers = bearer(refreshed.json()["access_token"])
        assert (await requests(b)("GET", "/api/auth/me", headers=headers)).status_code == 200
        reused = await client.post(
            "/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
        )
        assert_problem(reused, 401, "refresh_token_reused")
    assert_problem(
        await requests(b)("GET", "/api/auth/me", headers=headers), 401, "session_expired"
    )


async def test_a_password_change_on_one_app_ends_the_other_sessions_on_the_other(
    two_apps: Apps,
) -> None:
    a, b = two_apps
    async with client_for(a) as client:
        user = await register(client)
        current = bearer((await login(client, email=user["email"]))["access_token"])
        other = bearer((await login(client, email=user["email"]))["access_token"])
    on_b = requests(b)
    assert (await on_b("GET", "/api/auth/me", headers=other)).status_code == 200
    changed = await requests(a)(
        "POST",
        "/api/auth/password",
        headers=current,
        json={"current_password": PASSWORD, "new_password": "quartz-meadow-lantern-77"},
    )
    assert changed.status_code == 204, changed.text
    assert_problem(await on_b("GET", "/api/auth/me", headers=other), 401, "session_expired")
    assert (await on_b("GET", "/api/auth/me", headers=current)).status_code == 200


async def test_with_redis_gone_every_request_asks_the_database_and_the_cache_recovers(
    two_apps: Apps, server: RedisServer, loads: list[uuid.UUID]
) -> None:
    a, b = two_apps
    async with client_for(a) as client:
        _, headers = await signed_up(client)
        _, still_signed_in = await signed_up(client)
    on_a, on_b = requests(a), requests(b)
    for _ in range(2):
        assert (await on_b("GET", "/api/auth/me", headers=headers)).status_code == 200
    assert len(loads) == 1
    server.stop()
    await eventually(
        lambda: not any(app.state.auth.broadcast.connected for app in two_apps),
        "both apps notice Redis is gone",
    )
    for _ in range(2):
        assert (await on_b("GET", "/api/auth/me", headers=headers)).status_code == 200
    assert len(loads) == 3  # the database, every time
    # Signing out still works (in the database, which every process now asks).
    assert (await on_a("POST", "/api/auth/logout", headers=headers)).status_code == 204
    assert_problem(await on_b("GET", "/api/auth/me", headers=headers), 401, "session_expired")
    server.start()
    await eventually(
        lambda: all(app.state.auth.broadcast.connected for app in two_apps),
        "both apps reconnect",
    )
    del loads[:]
    for _ in range(3):
        assert (await on_b("GET", "/api/auth/me", headers=still_signed_in)).status_code == 200
    assert len(loads) == 1  # cached again
