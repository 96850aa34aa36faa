"""What a rate-limit budget costs per request: CPU microseconds per hit (the hit and the read
of what it leaves, for the `RateLimit-*` headers), in memory and on Redis, for Confide's
counters (src/confide/ratelimit/storage.py) beside the `limits` strategy's own two calls on
the library's storages, with 1 and more other keys held (every user's and session's budgets
are keys). Then a chat run's three budgets (session, channel, user): three `acquire` calls
against one `acquire_many` (on Redis one script call instead of three round trips).

Run with `.venv/bin/python bench/ratelimit_bench.py [--redis redis://127.0.0.1:6379/15]`
(`make bench-ratelimit`). The Redis database given is flushed first: use a spare one.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable

from limits import parse
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from rich.console import Console
from rich.table import Table

from confide.ratelimit.storage import Counter, MemoryCounter, RedisCounter
from confide.shared.redis import connect_redis

BUDGET = parse("100000000/minute")  # never reached: every hit is counted and allowed


async def cpu_per_call(call: Callable[[], Awaitable[object]], n: int, rounds: int) -> float:
    """The median over rounds of CPU microseconds per call (this process: the client's side
    of Redis, which is where a server spends it)."""
    for _ in range(100):
        await call()
    figures = []
    for _ in range(rounds):
        start = time.process_time()
        for _ in range(n):
            await call()
            await asyncio.sleep(0)  # what a server does between requests: its tasks run
        figures.append((time.process_time() - start) / n * 1e6)
    return statistics.median(figures)


def ours(counter: Counter) -> Callable[[], Awaitable[object]]:
    key, expiry = BUDGET.key_for("api", "bench"), BUDGET.get_expiry()
    return lambda: counter.acquire(key, BUDGET.amount, expiry)


RUN_BUDGETS = ("runs-session", "runs-channel", "runs-user")


def one_by_one(counter: Counter) -> Callable[[], Awaitable[object]]:
    budgets = [(BUDGET.key_for(name, "bench"), BUDGET.amount, 60) for name in RUN_BUDGETS]

    async def call() -> None:
        for key, limit, expiry in budgets:
            await counter.acquire(key, limit, expiry)

    return call


def all_at_once(counter: Counter) -> Callable[[], Awaitable[object]]:
    budgets = [(BUDGET.key_for(name, "bench"), BUDGET.amount, 60) for name in RUN_BUDGETS]
    return lambda: counter.acquire_many(budgets)


def library(storage: Storage) -> Callable[[], Awaitable[object]]:
    strategy = SlidingWindowCounterRateLimiter(storage)

    async def call() -> None:
        await strategy.hit(BUDGET, "api", "library")
        await strategy.get_window_stats(BUDGET, "api", "library")

    return call


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/15")
    parser.add_argument("-n", type=int, default=5000, help="hits per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--keys", type=int, nargs="+", default=[1, 10_000])
    args = parser.parse_args()
    table = Table(title="CPU per budget hit (hit + read), median of rounds")
    table.add_column("storage")
    table.add_column("other keys held", justify="right")
    table.add_column("limits: hit + get_window_stats", justify="right")
    table.add_column("Confide: Counter.acquire", justify="right")
    redis = connect_redis(args.redis)
    try:
        await redis.ping()
        on_redis = True
    except OSError as exc:
        Console().print(f"[yellow]Redis at {args.redis} not reachable ({exc}): memory only")
        on_redis = False
    for keys in args.keys:
        rows: list[tuple[str, Storage, Counter]] = [("memory", MemoryStorage(), MemoryCounter())]
        if on_redis:
            await redis.flushdb()
            counter = RedisCounter(redis)
            rows.append(("redis", counter.storage, counter))
        for name, storage, ours_counter in rows:
            await hold(keys, storage, ours_counter)
            before = await cpu_per_call(library(storage), args.n, args.rounds)
            after = await cpu_per_call(ours(ours_counter), args.n, args.rounds)
            table.add_row(
                name, f"{keys:,}", f"{before:.0f} µs", f"{after:.0f} µs ({after / before - 1:+.0%})"
            )
    runs = Table(title="CPU per run start (its three budgets), median of rounds")
    runs.add_column("storage")
    runs.add_column("3 x Counter.acquire", justify="right")
    runs.add_column("Counter.acquire_many", justify="right")
    counters: list[tuple[str, Counter]] = [("memory", MemoryCounter())]
    if on_redis:
        await redis.flushdb()
        counters.append(("redis", RedisCounter(redis)))
    for name, counter in counters:
        before = await cpu_per_call(one_by_one(counter), args.n, args.rounds)
        after = await cpu_per_call(all_at_once(counter), args.n, args.rounds)
        runs.add_row(name, f"{before:.0f} µs", f"{after:.0f} µs ({after / before - 1:+.0%})")
    await redis.aclose()
    Console().print(table)
    Console().print(runs)


async def hold(keys: int, storage: Storage, counter: Counter) -> None:
    """`keys` other budgets with a hit each, in both."""
    strategy = SlidingWindowCounterRateLimiter(storage)
    for i in range(keys - 1):
        await strategy.hit(BUDGET, "api", f"other-{i}")
        await counter.acquire(BUDGET.key_for("api", f"other-{i}"), BUDGET.amount, 60)


if __name__ == "__main__":
    asyncio.run(main())
