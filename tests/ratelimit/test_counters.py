"""The counters under the budgets: a hit and its read in one call, on limits' own keys and
scripts, so the library reads what they wrote; Redis answering NOSCRIPT (restarted, or its
scripts flushed) costs one reload, not a failed request."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from limits import parse
from limits.aio.strategies import SlidingWindowCounterRateLimiter

from confide.ratelimit.service import _key, window_stats
from confide.ratelimit.storage import Counter, MemoryCounter, RedisCounter
from confide.shared.redis import connect_redis

BUDGET = parse("5/minute")


async def test_a_hit_counts_and_reads_what_it_left(counter: Counter) -> None:
    key = BUDGET.key_for("api", "alice")
    expiry = BUDGET.get_expiry()
    left = []
    for _ in range(BUDGET.amount):
        allowed, window = await counter.acquire(key, BUDGET.amount, expiry)
        assert allowed
        left.append(window_stats(BUDGET.amount, expiry, window)[0])
    assert left == [4, 3, 2, 1, 0]
    allowed, window = await counter.acquire(key, BUDGET.amount, expiry)
    assert not allowed, "the sixth hit of a 5/minute budget"
    remaining, reset_in = window_stats(BUDGET.amount, expiry, window)
    assert remaining == 0
    assert 0 < reset_in <= expiry


async def test_limits_reads_what_the_redis_counter_wrote(redis_server: Any) -> None:
    redis = connect_redis(redis_server.url)
    try:
        await redis.flushdb()
        counter = RedisCounter(redis)
        for _ in range(BUDGET.amount):
            await counter.acquire(BUDGET.key_for("api", "dora"), BUDGET.amount, 60)
        strategy = SlidingWindowCounterRateLimiter(counter.storage)
        assert (await strategy.get_window_stats(BUDGET, "api", "dora")).remaining == 0
        assert not await strategy.test(BUDGET, "api", "dora")
        assert await strategy.test(BUDGET, "api", "erin")
        await strategy.clear(BUDGET, "api", "dora")
        assert (await counter.acquire(BUDGET.key_for("api", "dora"), BUDGET.amount, 60))[0]
    finally:
        await redis.aclose()


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def test_memory_windows_roll_over_and_weigh_the_previous_one() -> None:
    clock = Clock(6000.0)  # the start of a minute window (6000 = 100 x 60)
    counter = MemoryCounter(clock)
    for _ in range(5):
        assert (await counter.acquire("k", 5, 60))[0]
    assert not (await counter.acquire("k", 5, 60))[0]
    clock.now += 60 + 30  # half-way through the next window: 5 x 1/2 of the last still count
    allowed, window = await counter.acquire("k", 5, 60)
    assert allowed
    assert window == (5, 30.0, 1, 90.0)
    assert window_stats(5, 60, window)[0] == 5 - 3  # floor(2.5 + 1)
    assert (await counter.acquire("k", 5, 60))[0]  # floor(2.5 + 1) + 1 = 4 <= 5
    assert (await counter.acquire("k", 5, 60))[0]  # floor(2.5 + 2) + 1 = 5 <= 5
    assert not (await counter.acquire("k", 5, 60))[0]  # floor(2.5 + 3) + 1 = 6
    clock.now += 120  # two windows later nothing counts
    assert (await counter.acquire("k", 5, 60))[1] == (0, 0.0, 1, 90.0)


async def test_memory_sweeps_the_keys_that_count_nothing_any_more() -> None:
    clock = Clock(0.0)
    counter = MemoryCounter(clock)
    for i in range(1000):
        await counter.acquire(f"old-{i}", 5, 60)
    clock.now = 600.0  # ten windows later
    for i in range(23):
        await counter.acquire(f"new-{i}", 5, 60)
    assert len(counter) == 1023  # a sweep waits for the dict to reach 1,024 keys
    await counter.acquire("new-23", 5, 60)
    assert len(counter) == 24, "the old windows went in the sweep, the live ones stayed"
    assert (await counter.acquire("new-1", 5, 60))[1][2] == 2, "with their counts"


@given(hits=st.lists(st.floats(0, 600, allow_nan=False), min_size=1, max_size=60))
async def test_memory_never_allows_more_than_the_budget_in_any_window(hits: list[float]) -> None:
    """However hits fall in time, no clock-aligned window sees more than `limit` allowed."""
    clock = Clock(0.0)
    counter = MemoryCounter(clock)
    allowed_in: dict[int, int] = {}
    for at in sorted(hits):
        clock.now = at
        if (await counter.acquire("k", 3, 60))[0]:
            allowed_in[int(at // 60)] = allowed_in.get(int(at // 60), 0) + 1
    assert all(count <= 3 for count in allowed_in.values())


async def test_redis_that_lost_its_scripts_reloads_them(redis_server: Any) -> None:
    redis = connect_redis(redis_server.url)
    try:
        await redis.flushdb()
        counter = RedisCounter(redis)
        key = BUDGET.key_for("api", "carol")
        assert (await counter.acquire(key, BUDGET.amount, BUDGET.get_expiry()))[0]
        await redis.script_flush()  # what a restarted Redis has: no scripts
        allowed, window = await counter.acquire(key, BUDGET.amount, BUDGET.get_expiry())
        assert allowed
        assert window_stats(BUDGET.amount, BUDGET.get_expiry(), window)[0] == 3
    finally:
        await redis.aclose()


@given(
    previous=st.integers(0, 50),
    previous_left=st.floats(0, 60),
    current=st.integers(0, 50),
    current_left=st.floats(60, 120),
)
def test_window_stats_is_the_strategys_arithmetic(
    previous: int, previous_left: float, current: int, current_left: float
) -> None:
    """Against the formula of limits' SlidingWindowCounterRateLimiter.get_window_stats."""
    amount, expiry = 30, 60
    remaining, reset_in = window_stats(
        amount, expiry, (previous, previous_left, current, current_left)
    )
    weighted = previous * previous_left / expiry + current
    assert remaining == max(0, amount - math.floor(weighted))
    if previous or current:
        assert 0 <= reset_in <= expiry
    else:
        assert reset_in == 0


@given(
    budget=st.sampled_from(["600/minute", "2/hour", "30 per 5 minutes", "1/second", "7/day"]),
    identifiers=st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=3),
)
def test_budget_keys_are_the_ones_limits_writes(budget: str, identifiers: list[str]) -> None:
    item = parse(budget)
    assert _key(item, tuple(identifiers)) == item.key_for(*identifiers)
