"""Redis faults: readiness follows Redis, and a request that needs Redis while it is gone is
answered 503 `unavailable` (never a 500). A private redis-server, stopped and started again."""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from tests.factories import assert_problem
from tests.redis_server import RedisServer, redis_server

# Redis is the subject here; SQLite is enough for the rest.
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

UNAVAILABLE_DETAIL = "Redis is not answering right now; try again in a moment."


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    directory = tmp_path / "redis"
    directory.mkdir()
    with redis_server(directory) as running:
        yield running


@pytest.fixture
async def app(app_factory: Callable[..., FastAPI], server: RedisServer) -> AsyncIterator[FastAPI]:
    application = app_factory(redis_url=server.url)
    assert application.state.redis is not None
    yield application
    await application.state.redis.aclose()
    await application.state.database.dispose()


async def test_ready_follows_redis(
    app: FastAPI, client: httpx.AsyncClient, server: RedisServer
) -> None:
    response = await client.get("/api/ready")
    assert response.status_code == 200, response.text

    server.stop()
    body = assert_problem(await client.get("/api/ready"), 503, "not_ready")
    assert body["detail"] == "Redis cannot be reached."
    # Liveness does not depend on Redis.
    assert (await client.get("/api/health")).json() == {"status": "ok"}

    server.start()  # empty, on the same port: the client reconnects on its own
    response = await client.get("/api/ready")
    assert response.status_code == 200, response.text


def without_retries(server: RedisServer, *, socket_timeout: float | None = None) -> Redis:
    """A client that reports the first failure (the app's retries are its own business)."""
    return Redis.from_url(server.url, retry=Retry(NoBackoff(), 0), socket_timeout=socket_timeout)


def add_redis_route(app: FastAPI, redis: Redis) -> None:
    async def counter() -> dict[str, int]:
        return {"n": int(await redis.incr("confide:test:counter"))}

    app.add_api_route("/api/test/counter", counter)


async def test_a_request_needing_redis_while_it_is_down_is_503(
    app: FastAPI, client: httpx.AsyncClient, server: RedisServer
) -> None:
    redis = without_retries(server)
    add_redis_route(app, redis)
    try:
        assert (await client.get("/api/test/counter")).json() == {"n": 1}
        server.stop()
        response = await client.get("/api/test/counter")
        body = assert_problem(response, 503, "unavailable")
        assert body["detail"] == UNAVAILABLE_DETAIL
        assert response.headers["retry-after"] == "2"
        for leak in (str(server.port), "Errno", "Traceback", "redis://"):
            assert leak not in response.text
        server.start()
        assert (await client.get("/api/test/counter")).json() == {"n": 1}  # a new, empty server
    finally:
        await redis.aclose()


async def test_redis_that_stops_answering_is_503(
    app: FastAPI, client: httpx.AsyncClient, server: RedisServer
) -> None:
    redis = without_retries(server, socket_timeout=0.05)
    add_redis_route(app, redis)
    assert server.process is not None
    try:
        assert (await client.get("/api/test/counter")).status_code == 200
        os.kill(server.process.pid, signal.SIGSTOP)  # alive, connected, silent
        try:
            response = await client.get("/api/test/counter")
        finally:
            os.kill(server.process.pid, signal.SIGCONT)
        assert_problem(response, 503, "unavailable")
    finally:
        await redis.aclose()


async def test_a_redis_error_that_is_a_bug_stays_a_500(
    app: FastAPI, client: httpx.AsyncClient, server: RedisServer
) -> None:
    redis = without_retries(server)

    async def wrong_type() -> None:
        await redis.set("confide:test:text", "plain")
        await redis.execute_command("LPUSH", "confide:test:text", "x")  # WRONGTYPE: a bug

    app.add_api_route("/api/test/wrong-type", wrong_type)
    try:
        assert_problem(await client.get("/api/test/wrong-type"), 500, "internal_error")
    finally:
        await redis.aclose()
