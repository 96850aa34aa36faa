"""Where budgets are counted: this process's memory, or the deployment's Redis.

Both count as `limits`' sliding window counter does: on Redis with the library's own storage
and scripts, in memory with its arithmetic (see `MemoryCounter` for why not its storage). A
hit is one `Counter.acquire`: the hit and the read of the window it leaves (for the
`RateLimit-*` headers) together. The Redis one runs on the process's Redis connection pool
(shared/redis.py: its short time-outs and retry), through redis-py
(`implementation="redispy"`), so a Redis that is down fails the request with 503
`unavailable` as every other Redis path does (error_handlers.py), never lets it through.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any, Protocol

from limits.aio.storage import RedisStorage
from limits.aio.storage.redis.redispy import RedispyBridge
from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError

from confide.shared.redis import KEY_PREFIX

KEY_PREFIX_RATE_LIMITS = f"{KEY_PREFIX}ratelimit"

# What limits' `get_sliding_window` answers: the previous window's count and seconds left,
# the current window's count and seconds left.
Window = tuple[int, float, int, float]


# One budget of an `acquire_many`: its key, its amount and its window's length in seconds.
Budget = tuple[str, int, int]


class Counter(Protocol):
    """Spends one unit of a sliding-window budget and reads the window it leaves."""

    async def acquire(self, key: str, limit: int, expiry: int) -> tuple[bool, Window]: ...

    async def acquire_many(self, budgets: list[Budget]) -> list[tuple[bool, Window]]:
        """`acquire` of each budget in turn, up to and including the first that refuses: the
        budgets after it are not counted. The answers of those counted, in order."""
        ...


class MemoryCounter:
    """This process's memory: limits' sliding window counter as its `MemoryStorage` keeps it
    (windows aligned on the clock, the previous window's count weighted by the part of it still
    in the budget's span), kept here in one dict instead of that storage.

    Speed (bench/ratelimit_bench.py, figures in bench/README.md): limits' async `MemoryStorage`
    starts, on every increment, a task that walks every key it holds to drop expired ones: a
    hit and its read cost 30 us with 1 key held and 1,250 us with 10,000 (every user's and
    session's budgets are keys). Here a hit is a dict lookup, 4 us whatever the number of keys,
    and windows that ended go in a sweep once the dict has doubled (amortised O(1) a hit).
    No await: a hit is one step of the event loop, so concurrent requests never race on a
    count."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        # key -> (the window's length, its index (time // length), previous count, current count)
        self._windows: dict[str, tuple[int, int, int, int]] = {}
        self._sweep_at = _SWEEP_MIN

    async def acquire(self, key: str, limit: int, expiry: int) -> tuple[bool, Window]:
        now = self.clock()
        index = int(now // expiry)
        previous = current = 0
        found = self._windows.get(key)
        if found is not None:
            _, at, was_previous, was_current = found
            if at == index:
                previous, current = was_previous, was_current
            elif at == index - 1:
                previous = was_current
        left = expiry - now % expiry  # of this window
        allowed = math.floor(previous * left / expiry + current) + 1 <= limit
        if allowed:
            current += 1
        self._windows[key] = (expiry, index, previous, current)
        if len(self._windows) >= self._sweep_at:
            self._sweep(now)
        return allowed, (previous, left if previous else 0.0, current, left + expiry)

    async def acquire_many(self, budgets: list[Budget]) -> list[tuple[bool, Window]]:
        answers: list[tuple[bool, Window]] = []
        for key, limit, expiry in budgets:
            answers.append(await self.acquire(key, limit, expiry))
            if not answers[-1][0]:
                break
        return answers

    def __len__(self) -> int:
        return len(self._windows)

    def _sweep(self, now: float) -> None:
        """Drop the keys whose windows both ended (they count nothing any more)."""
        self._windows = {
            key: entry
            for key, entry in self._windows.items()
            if entry[1] >= int(now // entry[0]) - 1
        }
        self._sweep_at = max(_SWEEP_MIN, 2 * len(self._windows))


_SWEEP_MIN = 1024


class RedisCounter:
    """Redis, in one round trip: limits' acquire and read scripts sent as one pipeline.

    Speed (bench/ratelimit_bench.py, figures in bench/README.md): the storage's own two calls
    are two round trips; this is one, and 44-46 % less CPU a hit (454 against 247 us). The
    pipeline's EVALSHAs go without redis-py's SCRIPT EXISTS check; a NOSCRIPT answer, after a
    Redis restart, loads the scripts and sends again. The keys, scripts and answers are the
    storage's own, so `limits` reads and clears what this writes (tests/ratelimit check it)."""

    def __init__(self, redis: Redis) -> None:
        # The URL only names the scheme: the connections come from the pool.
        self.storage = RedisStorage(
            "async+redis://",
            implementation="redispy",
            key_prefix=KEY_PREFIX_RATE_LIMITS,
            connection_pool=redis.connection_pool,  # type: ignore[arg-type]
        )
        self.redis = redis
        bridge = self.storage.bridge
        assert isinstance(bridge, RedispyBridge)  # implementation="redispy"
        self.bridge = bridge
        self._many: AsyncScript | None = None  # registered at the first acquire_many

    async def acquire(self, key: str, limit: int, expiry: int) -> tuple[bool, Window]:
        bridge = self.bridge
        keys = self._keys(key)
        try:
            acquired, window = await self._send(keys, limit, expiry)
        except NoScriptError:  # Redis restarted (or flushed its scripts) since they loaded
            for script in (bridge.lua_acquire_sliding_window, bridge.lua_sliding_window):
                script.sha = await self.redis.script_load(script.script)
            acquired, window = await self._send(keys, limit, expiry)
        return bool(acquired), _window(window)

    async def _send(self, keys: tuple[str, str], limit: int, expiry: int) -> list[Any]:
        bridge = self.bridge
        pipe = self.redis.pipeline(transaction=False)
        pipe.evalsha(bridge.lua_acquire_sliding_window.sha, 2, *keys, limit, expiry, 1)
        pipe.evalsha(bridge.lua_sliding_window.sha, 2, *keys, expiry)
        answers: list[Any] = await pipe.execute()
        return answers

    async def acquire_many(self, budgets: list[Budget]) -> list[tuple[bool, Window]]:
        """All the budgets in one script call (`_ACQUIRE_MANY`: limits' two scripts as
        functions, called budget by budget, stopping after the first refusal). A chat run
        counts three budgets: one round trip instead of three, and 62-71 % less CPU a run
        start (bench/ratelimit_bench.py, its second table: 382 against 146 us)."""
        keys: list[str] = []
        args: list[int] = []
        for key, limit, expiry in budgets:
            keys.extend(self._keys(key))
            args.extend((limit, expiry))
        if self._many is None:
            bridge = self.bridge
            self._many = self.redis.register_script(
                _ACQUIRE_MANY.format(
                    acquire=bridge.SCRIPT_ACQUIRE_SLIDING_WINDOW.decode(),
                    window=bridge.SCRIPT_SLIDING_WINDOW.decode(),
                )
            )
        # redis-py's script call sends EVALSHA and, on NOSCRIPT (Redis restarted), loads it.
        answer: list[Any] = await self._many(keys=keys, args=args)
        return [(bool(answer[i]), _window(answer[i + 1])) for i in range(0, len(answer), 2)]

    def _keys(self, key: str) -> tuple[str, str]:
        bridge = self.bridge
        return (
            bridge.prefixed_key(self.storage._previous_window_key(key)),
            bridge.prefixed_key(self.storage._current_window_key(key)),
        )


# limits' acquire and read scripts (the storage's own text, so the keys and arithmetic stay
# the library's) as two functions, called for each budget: KEYS holds two keys a budget, ARGV
# its amount and window length. The answer: 1 or 0 and the window read, per budget counted.
_ACQUIRE_MANY = """
local function acquire(KEYS, ARGV)
{acquire}
end
local function window(KEYS, ARGV)
{window}
end
local answer = {{}}
for i = 1, #KEYS / 2 do
    local keys = {{KEYS[2 * i - 1], KEYS[2 * i]}}
    local limit, expiry = ARGV[2 * i - 1], ARGV[2 * i]
    local allowed = acquire(keys, {{limit, expiry, 1}}) and 1 or 0
    answer[#answer + 1] = allowed
    answer[#answer + 1] = window(keys, {{expiry}})
    if allowed == 0 then
        break
    end
end
return answer
"""


def _window(answer: list[int | bytes | None] | None) -> Window:
    """The read script's answer as `RedispyBridge.get_sliding_window` converts it."""
    if not answer:
        return 0, 0.0, 0, 0.0
    return (
        int(answer[0] or 0),
        max(0, float(answer[1] or 0)) / 1000,
        int(answer[2] or 0),
        max(0, float(answer[3] or 0)) / 1000,
    )


def make_counter(redis: Redis | None) -> Counter:
    """Memory without Redis; otherwise Redis, on `redis`'s own connection pool."""
    return MemoryCounter() if redis is None else RedisCounter(redis)
