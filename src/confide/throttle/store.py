"""Where the failure counters live: the database (the default) or Redis, behind one small
Protocol, so they hold across workers and restarts either way."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import WatchError
from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from confide.db.engine import Database
from confide.shared.redis import key as redis_key
from confide.throttle.counters import Counter
from confide.throttle.models import ThrottleCounter

Change = Callable[[Counter | None], Counter]


class CounterStore(Protocol):
    async def locks(self, db: AsyncSession, keys: Sequence[str]) -> dict[str, float]:
        """For each of `keys` that has a counter: its `locked_until` (0: not locked). One
        small read; `db` is the request's session (the Redis store ignores it)."""
        ...

    async def update(
        self, key: str, change: Change, *, ttl_seconds: int, db: AsyncSession | None = None
    ) -> tuple[Counter | None, Counter]:
        """Apply `change` to the counter atomically; the counter before and after. In a
        transaction of its own (committed before this returns), or with `db` in that
        session's, for a request that stores its refusal anyway (a wrong MFA code): on SQLite
        a transaction of its own would wait for the request's write lock."""
        ...

    async def reset(self, db: AsyncSession, key: str) -> None:
        """Forget the counter (in the request's transaction for the database store)."""
        ...


def _dt(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class DatabaseCounterStore:
    """Rows of `throttle_counters`, updated under a row lock (PostgreSQL) or the writer's
    turn (SQLite)."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def locks(self, db: AsyncSession, keys: Sequence[str]) -> dict[str, float]:
        rows = await db.execute(
            select(ThrottleCounter.key, ThrottleCounter.locked_until).where(
                ThrottleCounter.key.in_(keys)
            )
        )
        return {key: until.timestamp() if until else 0.0 for key, until in rows.all()}

    async def update(
        self, key: str, change: Change, *, ttl_seconds: int, db: AsyncSession | None = None
    ) -> tuple[Counter | None, Counter]:
        if db is not None:
            return await self._update(await db.connection(), key, change)
        async with self.database.begin() as conn:
            return await self._update(conn, key, change)

    async def _update(
        self, conn: AsyncConnection, key: str, change: Change
    ) -> tuple[Counter | None, Counter]:
        epoch = _dt(0)
        insert = sqlite_insert if self.database.is_sqlite else pg_insert
        # A zero row first, so that the row lock below serialises concurrent failures
        # (a zero counter means the same as none to the rules).
        await conn.execute(
            insert(ThrottleCounter)
            .values(
                key=key,
                failures=0,
                window_start=epoch,
                last_failure_at=epoch,
                locked_until=None,
                notified=False,
            )
            .on_conflict_do_nothing(index_elements=["key"])
        )
        row = (
            await conn.execute(
                select(ThrottleCounter).where(ThrottleCounter.key == key).with_for_update()
            )
        ).one()
        before = Counter(
            failures=row.failures,
            window_start=row.window_start.timestamp(),
            last_failure_at=row.last_failure_at.timestamp(),
            locked_until=row.locked_until.timestamp() if row.locked_until else 0.0,
            notified=row.notified,
        )
        after = change(before)
        await conn.execute(
            update(ThrottleCounter)
            .where(ThrottleCounter.key == key)
            .values(
                failures=after.failures,
                window_start=_dt(after.window_start),
                last_failure_at=_dt(after.last_failure_at),
                locked_until=_dt(after.locked_until) if after.locked_until else None,
                notified=after.notified,
            )
        )
        return before, after

    async def reset(self, db: AsyncSession, key: str) -> None:
        await db.execute(delete(ThrottleCounter).where(ThrottleCounter.key == key))


def _decode(raw: dict[bytes, bytes]) -> Counter | None:
    if not raw:
        return None
    value = {name.decode(): data.decode() for name, data in raw.items()}
    return Counter(
        failures=int(value.get("failures", "0")),
        window_start=float(value.get("window_start", "0")),
        last_failure_at=float(value.get("last_failure_at", "0")),
        locked_until=float(value.get("locked_until", "0")),
        notified=value.get("notified") == "1",
    )


def _encode(counter: Counter) -> dict[str, str]:
    return {
        "failures": str(counter.failures),
        "window_start": repr(counter.window_start),
        "last_failure_at": repr(counter.last_failure_at),
        "locked_until": repr(counter.locked_until),
        "notified": "1" if counter.notified else "0",
    }


class RedisCounterStore:
    """One hash per counter (`confide:throttle:<key>`), updated with WATCH/MULTI and expiring
    once it no longer matters."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    @staticmethod
    def _key(key: str) -> str:
        return redis_key("throttle", key)

    async def locks(self, db: AsyncSession, keys: Sequence[str]) -> dict[str, float]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.hget(self._key(key), "locked_until")
            values = await pipe.execute()
        return {
            key: float(value) for key, value in zip(keys, values, strict=True) if value is not None
        }

    async def update(
        self, key: str, change: Change, *, ttl_seconds: int, db: AsyncSession | None = None
    ) -> tuple[Counter | None, Counter]:
        name = self._key(key)
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(name)
                    before = _decode(await pipe.hgetall(name))  # type: ignore[misc]
                    after = change(before)
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.hset(name, mapping=_encode(after))
                    pipe.expire(name, ttl_seconds)
                    await pipe.execute()
                    return before, after
                except WatchError:  # another process changed it meanwhile: again
                    continue

    async def reset(self, db: AsyncSession, key: str) -> None:
        await self.redis.delete(self._key(key))
