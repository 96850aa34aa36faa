"""Redis for the shared session cache and tickets: a server of the test's own, and clients
standing for the processes of a deployment."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from confide.shared.redis import connect_redis
from tests.redis_server import RedisServer, redis_server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    """Per test: some tests stop and start it."""
    with redis_server(tmp_path) as running:
        yield running


@pytest.fixture
async def clients(server: RedisServer) -> AsyncIterator[Callable[[], Redis]]:
    """`clients()`: a new Redis client (one per simulated process), closed after the test."""
    made: list[Redis] = []

    def make() -> Redis:
        made.append(connect_redis(server.url))
        return made[-1]

    yield make
    for client in made:
        await client.aclose()
