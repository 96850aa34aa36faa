"""Unwrapped data keys, kept in this process's memory for a bounded time only.

An entry lives at most `ttl_seconds` from when it was loaded (a hit does not extend it), and
at most `max_entries` users' keys are held (the least recently used goes first). Concurrent
callers for one user share one load (single flight). `forget` drops a user's key (account
deletion, rotation); a load in flight when it is called is not cached. Expired entries are
dropped on every miss and by `prune` (so a quiet process can be swept on a timer).
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from uuid import UUID

from confide.crypto.keys import DataKey

DEFAULT_TTL_SECONDS = 300.0
DEFAULT_MAX_ENTRIES = 1024


@dataclass(frozen=True, slots=True)
class _Entry:
    key: DataKey
    expires_at: float


class DataKeyCache:
    """Users' unwrapped data keys, by user id."""

    def __init__(
        self,
        *,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl_seconds <= 0 or max_entries < 1:
            raise ValueError("the TTL must be positive and the cache hold at least one key")
        self._ttl = ttl_seconds
        self._max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[UUID, _Entry] = OrderedDict()
        self._loading: dict[UUID, asyncio.Future[DataKey]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    async def get(self, user_id: UUID, loader: Callable[[], Awaitable[DataKey]]) -> DataKey:
        """The user's data key: cached, or from `loader` (one call for concurrent callers)."""
        while True:
            cached = self._fresh(user_id)
            if cached is not None:
                return cached
            pending = self._loading.get(user_id)
            if pending is None:
                return await self._load(user_id, loader)
            try:
                return await asyncio.shield(pending)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if not pending.cancelled() or (task is not None and task.cancelling()):
                    raise
                # The caller that was loading it was cancelled: load it ourselves.

    def forget(self, user_id: UUID) -> None:
        """Drop the user's key, and keep a load now in flight from being cached."""
        self._entries.pop(user_id, None)
        self._loading.pop(user_id, None)

    def clear(self) -> None:
        self._entries.clear()
        self._loading.clear()

    def prune(self) -> None:
        """Drop every expired entry."""
        now = self._clock()
        for user_id in [u for u, entry in self._entries.items() if entry.expires_at <= now]:
            del self._entries[user_id]

    def _fresh(self, user_id: UUID) -> DataKey | None:
        entry = self._entries.get(user_id)
        if entry is None:
            return None
        if entry.expires_at <= self._clock():
            del self._entries[user_id]
            return None
        self._entries.move_to_end(user_id)
        return entry.key

    async def _load(self, user_id: UUID, loader: Callable[[], Awaitable[DataKey]]) -> DataKey:
        future: asyncio.Future[DataKey] = asyncio.get_running_loop().create_future()
        self._loading[user_id] = future
        try:
            key = await loader()
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: the waiters (if any) raise it themselves
            raise
        finally:
            if self._loading.get(user_id) is future:
                del self._loading[user_id]
                still_wanted = True
            else:
                still_wanted = False  # forgotten (or cleared) while loading
        if still_wanted:
            self._store(user_id, key)
        future.set_result(key)
        return key

    def _store(self, user_id: UUID, key: DataKey) -> None:
        self.prune()
        self._entries[user_id] = _Entry(key, self._clock() + self._ttl)
        self._entries.move_to_end(user_id)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)
