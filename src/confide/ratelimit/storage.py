"""Where budgets are counted: this process's memory, or the deployment's Redis.

Both are the `limits` library's own async storages. The Redis one runs on the process's
Redis connection pool (shared/redis.py: its short time-outs and retry), through redis-py
(`implementation="redispy"`), so a Redis that is down fails the request with 503
`unavailable` as every other Redis path does (error_handlers.py), never lets it through.
"""

from __future__ import annotations

from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from redis.asyncio import Redis

from confide.shared.redis import KEY_PREFIX

KEY_PREFIX_RATE_LIMITS = f"{KEY_PREFIX}ratelimit"


def make_storage(redis: Redis | None) -> Storage:
    """Memory without Redis; otherwise Redis, on `redis`'s own connection pool."""
    if redis is None:
        return MemoryStorage()
    # The URL only names the scheme: the connections come from the pool.
    return RedisStorage(
        "async+redis://",
        implementation="redispy",
        key_prefix=KEY_PREFIX_RATE_LIMITS,
        connection_pool=redis.connection_pool,  # type: ignore[arg-type]
    )
