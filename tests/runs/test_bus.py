"""The Redis event bus: every follower hears each event once, in order, whatever else joins."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

from redis.asyncio import Redis

from confide.runs.bus import RedisBus
from confide.runs.events import EventBase, MessageDelta, RunCompleted
from tests.redis_server import RedisServer

WAIT_SECONDS = 30.0


def delta(run_id: uuid.UUID, n: int) -> MessageDelta:
    event = MessageDelta(run_id=run_id, delta=f"w{n} ")
    event.id = n
    return event


async def test_a_follower_hears_each_event_once_while_others_join(
    redis_server: RedisServer,
) -> None:
    redis = Redis.from_url(redis_server.url)
    bus = RedisBus(redis, max_events=1000, ttl_seconds=60)
    run_id, other = uuid.uuid4(), uuid.uuid4()
    heard: list[int] = []
    try:
        reader = bus.read(run_id, 0)

        async def next_batch() -> list[EventBase]:
            async with asyncio.timeout(WAIT_SECONDS):
                while True:
                    batch = await anext(reader)
                    if batch:
                        return batch

        first = asyncio.create_task(next_batch())
        await asyncio.sleep(0)  # the follower has joined
        await bus.publish(run_id, [delta(run_id, 1)])
        heard += [e.id for e in await first]
        # Two batches wait for the follower, which takes only the first before others join.
        await bus.publish(run_id, [delta(run_id, 2)])
        await bus.publish(run_id, [delta(run_id, 3)])
        async with asyncio.timeout(WAIT_SECONDS):
            while len(heard) < 2:
                heard += [e.id for e in await next_batch()]
        joined = bus.read(other, 0)
        joining = asyncio.create_task(anext(joined))
        await asyncio.sleep(0)
        end = RunCompleted(run_id=run_id, status="completed")
        end.id = 4
        await bus.publish(run_id, [end])
        async with asyncio.timeout(WAIT_SECONDS):
            while heard[-1] != 4:
                heard += [e.id for e in await next_batch()]
        assert heard == [1, 2, 3, 4]
        joining.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await joining
        await reader.aclose()
    finally:
        await bus.aclose()
        await redis.aclose()
