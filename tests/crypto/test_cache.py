"""The data key cache: a bounded time (a moved clock, no sleeps), a bounded size (LRU), one
load for concurrent callers, and forget."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable

import pytest

from confide.crypto.cache import DataKeyCache
from confide.crypto.keys import DataKey
from tests.crypto.helpers import data_key


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Loader:
    """Counts its calls; each call gives a new key, so a reload is visible."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self) -> DataKey:
        self.calls += 1
        return data_key()


def gated() -> tuple[asyncio.Event, asyncio.Event, Loader, Callable[[], Awaitable[DataKey]]]:
    """A loader that says when it started and waits for `release` before it returns."""
    started, release, inner = asyncio.Event(), asyncio.Event(), Loader()

    async def load() -> DataKey:
        started.set()
        await release.wait()
        return await inner()

    return started, release, inner, load


USER, OTHER = uuid.uuid4(), uuid.uuid4()


async def test_a_key_is_loaded_once_then_served_from_memory() -> None:
    cache, load = DataKeyCache(), Loader()
    first = await cache.get(USER, load)
    assert await cache.get(USER, load) is first
    assert load.calls == 1
    assert len(cache) == 1


async def test_an_entry_lives_for_the_ttl_from_its_load_only() -> None:
    clock, load = Clock(), Loader()
    cache = DataKeyCache(ttl_seconds=300, clock=clock)
    first = await cache.get(USER, load)
    clock.now += 299.9
    assert await cache.get(USER, load) is first  # a hit does not extend it
    clock.now += 0.1
    second = await cache.get(USER, load)
    assert second is not first
    assert load.calls == 2


async def test_prune_drops_expired_entries_and_a_miss_does_too() -> None:
    clock, load = Clock(), Loader()
    cache = DataKeyCache(ttl_seconds=10, clock=clock)
    await cache.get(USER, load)
    clock.now += 5
    await cache.get(OTHER, load)
    clock.now += 5  # USER's entry has expired, OTHER's has not
    cache.prune()
    assert len(cache) == 1
    clock.now += 5
    await cache.get(uuid.uuid4(), load)  # a miss sweeps OTHER's, expired now
    assert len(cache) == 1


async def test_the_least_recently_used_key_goes_first() -> None:
    cache, load = DataKeyCache(max_entries=2), Loader()
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    key_a = await cache.get(a, load)
    await cache.get(b, load)
    assert await cache.get(a, load) is key_a  # a is now the most recently used
    await cache.get(c, load)  # evicts b
    assert len(cache) == 2
    assert load.calls == 3
    assert await cache.get(a, load) is key_a
    await cache.get(b, load)
    assert load.calls == 4


async def test_concurrent_callers_share_one_load() -> None:
    cache = DataKeyCache()
    started, release, inner, load = gated()
    callers = [asyncio.create_task(cache.get(USER, load)) for _ in range(5)]
    await started.wait()
    release.set()
    keys = await asyncio.gather(*callers)
    assert inner.calls == 1
    assert all(key is keys[0] for key in keys)


async def test_a_failed_load_fails_every_waiter_and_is_not_cached() -> None:
    cache = DataKeyCache()
    started, release = asyncio.Event(), asyncio.Event()

    async def broken() -> DataKey:
        started.set()
        await release.wait()
        raise LookupError("no wrapped key")

    owner = asyncio.create_task(cache.get(USER, broken))
    await started.wait()
    waiter = asyncio.create_task(cache.get(USER, broken))
    release.set()
    for task in (owner, waiter):
        with pytest.raises(LookupError, match="no wrapped key"):
            await task
    assert len(cache) == 0
    load = Loader()
    await cache.get(USER, load)
    assert load.calls == 1


async def test_a_waiter_loads_itself_when_the_loading_caller_is_cancelled() -> None:
    cache = DataKeyCache()
    started, _release, _inner, hanging = gated()
    load = Loader()
    owner = asyncio.create_task(cache.get(USER, hanging))
    waiter = asyncio.create_task(cache.get(USER, load))
    # Tasks start in the order they were made: by the time the owner's load has started and
    # this test resumes, the waiter has found that load in flight and waits for it.
    await started.wait()
    owner.cancel()
    with pytest.raises(asyncio.CancelledError):
        await owner
    key = await waiter
    assert load.calls == 1
    assert await cache.get(USER, load) is key


async def test_a_cancelled_waiter_leaves_the_load_to_the_others() -> None:
    cache = DataKeyCache()
    started, release, inner, load = gated()
    owner = asyncio.create_task(cache.get(USER, load))
    waiter = asyncio.create_task(cache.get(USER, load))
    await started.wait()  # as above: the waiter waits on the owner's load by now
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    release.set()
    key = await owner
    assert inner.calls == 1
    assert await cache.get(USER, load) is key


async def test_forget_drops_one_users_key() -> None:
    cache, load = DataKeyCache(), Loader()
    first = await cache.get(USER, load)
    other = await cache.get(OTHER, load)
    cache.forget(USER)
    assert await cache.get(USER, load) is not first
    assert await cache.get(OTHER, load) is other
    assert load.calls == 3


async def test_a_key_forgotten_while_loading_is_not_cached() -> None:
    cache = DataKeyCache()
    started, release, _inner, load = gated()
    loading = asyncio.create_task(cache.get(USER, load))
    await started.wait()
    cache.forget(USER)  # the account is being deleted
    release.set()
    stale = await loading
    after = Loader()
    assert await cache.get(USER, after) is not stale
    assert after.calls == 1


async def test_clear_drops_everything() -> None:
    cache, load = DataKeyCache(), Loader()
    await cache.get(USER, load)
    await cache.get(OTHER, load)
    cache.clear()
    assert len(cache) == 0
    await cache.get(USER, load)
    assert load.calls == 3


@pytest.mark.parametrize(("ttl", "size"), [(0, 10), (-1, 10), (10, 0)])
def test_the_bounds_must_be_real(ttl: float, size: int) -> None:
    with pytest.raises(ValueError, match="TTL must be positive"):
        DataKeyCache(ttl_seconds=ttl, max_entries=size)
