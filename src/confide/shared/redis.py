"""The Redis client of a process, when CONFIDE_REDIS_URL is set.

One client (one connection pool) per process, made here and closed at shutdown. Its time-outs
are short: Redis answers in well under a millisecond, so a request that needs it and finds it
gone fails fast with 503 `unavailable` (error_handlers.py) rather than hanging. Blocking reads
(`XREAD BLOCK`, pub/sub) block for less than `SOCKET_TIMEOUT_SECONDS`.
"""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

CONNECT_TIMEOUT_SECONDS = 2.0
SOCKET_TIMEOUT_SECONDS = 10.0
# The longest a blocking read waits for new data before it looks again (below the socket
# time-out, so an idle stream never reads as a dead connection).
BLOCK_MILLISECONDS = 5000
KEY_PREFIX = "confide:"


def connect_redis(url: str) -> Redis:
    """A client for `url` (no connection is made until the first command)."""
    return Redis.from_url(
        url,
        socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
        socket_timeout=SOCKET_TIMEOUT_SECONDS,
        health_check_interval=30,
        decode_responses=False,
        # After a Redis restart each pooled connection fails its first command: tried again
        # on a new connection at once, rather than a 503 per connection. A Redis that is
        # really away still fails within the connect time-out.
        retry=Retry(ExponentialBackoff(cap=0.1, base=0.01), retries=1),
        retry_on_error=[RedisConnectionError],
    )


def key(*parts: str) -> str:
    """A Confide key: `confide:<part>:<part>...` (one deployment per Redis database)."""
    return KEY_PREFIX + ":".join(parts)
