"""`Counter.acquire_many`: several budgets in one call (one script call on Redis), counted in
turn and stopping after the first that refuses, exactly as `acquire` one by one would."""

from __future__ import annotations

from typing import Any

from limits import parse
from limits.aio.strategies import SlidingWindowCounterRateLimiter

from confide.ratelimit.service import window_stats
from confide.ratelimit.storage import Counter, RedisCounter
from confide.shared.redis import connect_redis

WIDE, NARROW = parse("5/minute"), parse("1/minute")


def budgets(*names: str) -> list[tuple[str, int, int]]:
    items = {"wide": WIDE, "narrow": NARROW, "last": WIDE}
    return [(items[n].key_for("t", n), items[n].amount, items[n].get_expiry()) for n in names]


def remaining(answer: tuple[bool, Any], amount: int) -> int:
    return window_stats(amount, 60, answer[1])[0]


async def test_the_budgets_after_a_refusal_are_not_counted(counter: Counter) -> None:
    first = await counter.acquire_many(budgets("wide", "narrow", "last"))
    assert [allowed for allowed, _ in first] == [True, True, True]
    assert [remaining(a, n) for a, n in zip(first, (5, 1, 5), strict=True)] == [4, 0, 4]

    second = await counter.acquire_many(budgets("wide", "narrow", "last"))
    assert [allowed for allowed, _ in second] == [True, False]  # "last" not counted
    assert remaining(second[0], 5) == 3
    # "last" was hit once, by the first call only.
    (last,) = await counter.acquire_many(budgets("last"))
    assert last[0]
    assert remaining(last, 5) == 3


async def test_one_call_counts_as_single_acquires_do(counter: Counter) -> None:
    singles = [await counter.acquire(*b) for b in budgets("wide", "narrow")]
    (wide, narrow) = await counter.acquire_many(budgets("wide", "narrow"))
    assert [s[0] for s in singles] == [True, True]
    assert (wide[0], remaining(wide, 5)) == (True, 3)
    assert (narrow[0], remaining(narrow, 1)) == (False, 0)


async def test_limits_reads_what_acquire_many_wrote(redis_server: Any) -> None:
    redis = connect_redis(redis_server.url)
    try:
        await redis.flushdb()
        counter = RedisCounter(redis)
        await counter.acquire_many(budgets("wide", "narrow"))
        strategy = SlidingWindowCounterRateLimiter(counter.storage)
        assert (await strategy.get_window_stats(WIDE, "t", "wide")).remaining == 4
        assert not await strategy.test(NARROW, "t", "narrow")
    finally:
        await redis.aclose()


async def test_a_flushed_script_is_loaded_again(redis_server: Any) -> None:
    redis = connect_redis(redis_server.url)
    try:
        await redis.flushdb()
        counter = RedisCounter(redis)
        assert (await counter.acquire_many(budgets("wide")))[0][0]
        await redis.script_flush()  # as after a Redis restart
        (again,) = await counter.acquire_many(budgets("wide"))
        assert (again[0], remaining(again, 5)) == (True, 3)
    finally:
        await redis.aclose()
