"""Both job queues keep the Protocol's promises: a key queues a job once while it is queued or
active, a failing job is tried again, abort stops a running job, state tells where it is."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy import select

from confide.auth.models import AuthSession, RefreshToken, User
from confide.auth.purge import purge_expired_sessions
from confide.db.base import utcnow
from confide.db.engine import Database
from confide.jobs import JobDefinition, JobQueue
from confide.jobs.inprocess import InProcessQueue
from confide.jobs.redis_queue import SaqQueue
from tests.redis_server import RedisServer

WAIT_SECONDS = 30.0


class Recorder:
    """Job functions whose calls a test can wait for and hold."""

    def __init__(self) -> None:
        self.calls: list[dict[str, str]] = []
        self.changed = asyncio.Event()
        self.release = asyncio.Event()
        self.failures_left = 0
        self.ticks = 0
        self.ticked = asyncio.Event()

    async def record(self, **kwargs: str) -> None:
        self.calls.append(kwargs)
        self.changed.set()
        if self.failures_left > 0:
            self.failures_left -= 1
            raise RuntimeError("failing on purpose")

    async def tick(self) -> None:
        self.ticks += 1
        self.ticked.set()

    async def hold(self, **kwargs: str) -> None:
        self.calls.append(kwargs)
        self.changed.set()
        await self.release.wait()

    async def wait_calls(self, n: int) -> None:
        async with asyncio.timeout(WAIT_SECONDS):
            while len(self.calls) < n:
                self.changed.clear()
                await self.changed.wait()


def definitions(recorder: Recorder) -> list[JobDefinition]:
    return [
        JobDefinition("record", recorder.record, tries=3, timeout_seconds=10),
        JobDefinition("hold", recorder.hold, tries=1, timeout_seconds=None),
        # Every second (croniter's sixth field): a scheduled job the test can see fire.
        JobDefinition("tick", recorder.tick, tries=1, cron="* * * * * *"),
    ]


@pytest.fixture(params=["inprocess", "saq"])
async def queue_and_recorder(
    request: pytest.FixtureRequest,
) -> AsyncIterator[tuple[JobQueue, Recorder]]:
    recorder = Recorder()
    queue: JobQueue
    if request.param == "inprocess":
        queue = InProcessQueue(definitions(recorder))
    else:
        server: RedisServer = request.getfixturevalue("redis_server")
        client = Redis.from_url(server.url)
        await client.flushall()
        await client.aclose()
        queue = SaqQueue(
            server.url, definitions(recorder), execute=True, concurrency=4, lease_seconds=3
        )
    await queue.start()
    try:
        yield queue, recorder
    finally:
        recorder.release.set()
        await queue.aclose()


async def test_a_key_queues_its_job_once_while_it_is_active(
    queue_and_recorder: tuple[JobQueue, Recorder],
) -> None:
    queue, recorder = queue_and_recorder
    await queue.enqueue("hold", key="k1", n="1")
    await recorder.wait_calls(1)
    assert await queue.state("k1") == "active"
    await queue.enqueue("hold", key="k1", n="2")  # the same key: nothing new
    await queue.enqueue("record", key="k2", n="3")  # another key: runs
    await recorder.wait_calls(2)
    assert [c["n"] for c in recorder.calls] == ["1", "3"]
    recorder.release.set()
    async with asyncio.timeout(WAIT_SECONDS):
        while await queue.state("k1") != "missing":
            await asyncio.sleep(0.05)


async def test_a_failing_job_is_tried_again(queue_and_recorder: tuple[JobQueue, Recorder]) -> None:
    queue, recorder = queue_and_recorder
    recorder.failures_left = 2
    await queue.enqueue("record", key="flaky", n="x")
    await recorder.wait_calls(3)  # two failures, then the try that succeeds
    assert recorder.failures_left == 0
    assert [c["n"] for c in recorder.calls] == ["x", "x", "x"]


async def test_abort_stops_a_running_job(queue_and_recorder: tuple[JobQueue, Recorder]) -> None:
    queue, recorder = queue_and_recorder
    await queue.enqueue("hold", key="long", n="1")
    await recorder.wait_calls(1)
    assert await queue.abort("long") == "active"
    async with asyncio.timeout(WAIT_SECONDS):
        while await queue.state("long") != "missing":
            await asyncio.sleep(0.05)
    assert await queue.abort("long") == "missing"
    assert len(recorder.calls) == 1  # not tried again


async def test_a_scheduled_job_fires_by_itself(
    queue_and_recorder: tuple[JobQueue, Recorder],
) -> None:
    _, recorder = queue_and_recorder
    await asyncio.wait_for(recorder.ticked.wait(), WAIT_SECONDS)
    assert recorder.ticks >= 1
    assert recorder.calls == []  # nothing else ran


async def test_the_nightly_purge_deletes_sessions_over_and_is_safe_twice(
    settings_factory: Callable[..., Any], tmp_path: Path
) -> None:
    settings = settings_factory()
    database = Database.from_settings(settings)
    now = utcnow()
    try:
        async with database.session() as db:
            email = f"purge-{now.timestamp()}@example.org"
            user = User(email=email, email_key=email, password_hash="x")
            db.add(user)
            await db.flush()
            sessions = {
                "live": AuthSession(
                    user_id=user.id,
                    mode="bearer",
                    label="a",
                    ip=None,
                    expires_at=now + timedelta(days=3),
                ),
                "expired": AuthSession(
                    user_id=user.id,
                    mode="bearer",
                    label="b",
                    ip=None,
                    expires_at=now - timedelta(days=2),
                ),
                "ended": AuthSession(
                    user_id=user.id,
                    mode="bearer",
                    label="c",
                    ip=None,
                    expires_at=now + timedelta(days=3),
                    ended_at=now - timedelta(days=2),
                    end_reason="signed_out",
                ),
                "just_ended": AuthSession(
                    user_id=user.id,
                    mode="bearer",
                    label="d",
                    ip=None,
                    expires_at=now + timedelta(days=3),
                    ended_at=now - timedelta(hours=1),
                    end_reason="signed_out",
                ),
            }
            db.add_all(sessions.values())
            await db.flush()
            for name, session in sessions.items():
                db.add(RefreshToken(session_id=session.id, token_hash=f"{name:0<64}"[:64]))
        assert await purge_expired_sessions(database) == 2
        assert await purge_expired_sessions(database) == 0  # a second run: nothing more
        async with database.session() as db:
            left = set((await db.execute(select(AuthSession.label))).scalars())
            tokens = len((await db.execute(select(RefreshToken.id))).all())
        assert left >= {"a", "d"}
        assert not left & {"b", "c"}
        assert tokens >= 2
    finally:
        await database.dispose()
