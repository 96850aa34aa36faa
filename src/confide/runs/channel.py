"""The live events of a run, in memory: numbered, replayable from any id, followable."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from typing import TypeVar

from confide.runs.events import EventBase, ends_stream

E = TypeVar("E", bound=EventBase)


class RunChannel:
    """Every event a run emitted, in order. Followers wait for new ones until the run ends."""

    def __init__(
        self,
        run_id: uuid.UUID,
        *,
        on_end: Callable[[RunChannel], None] | None = None,
        after: int = 0,
    ) -> None:
        self.run_id = run_id
        # A run resumed after a wait: its earlier events are in the database, ids up to `base`.
        self.base = after
        self.events: list[EventBase] = []
        self.closed = False
        self._changed = asyncio.Event()
        self._ended = asyncio.Event()
        self._on_end = on_end

    def publish(self, event: E) -> E:
        self.push(self.prepare(event))
        return event

    def prepare(self, event: E) -> E:
        """Number the next event without making it visible (to store it before anyone sees
        it)."""
        event.id = self.next_id
        return event

    @property
    def next_id(self) -> int:
        return self.base + len(self.events) + 1

    @property
    def last_id(self) -> int:
        return self.base + len(self.events)

    def prepare_many(self, events: Sequence[EventBase]) -> list[EventBase]:
        """Number the next events in order, none yet visible."""
        first = self.next_id
        for offset, event in enumerate(events):
            event.id = first + offset
        return list(events)

    def push(self, event: EventBase) -> None:
        assert event.id == self.next_id, "events are pushed in order"
        self.events.append(event)
        if ends_stream(event):
            self._end()
        self._wake()

    def close(self) -> None:
        """End the channel without a final event (followers then read the database)."""
        self._end()
        self._wake()

    def _end(self) -> None:
        if not self.closed:
            self.closed = True
            self._ended.set()
            if self._on_end is not None:
                self._on_end(self)

    async def drain(self) -> None:
        """Wait until every event pushed has reached the other processes (if any do)."""

    def _wake(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def ended(self) -> None:
        """Wait until the run has ended (its final event pushed, or the channel closed),
        without waking for each event as a follower does."""
        await self._ended.wait()

    async def follow(self, after: int = 0) -> AsyncIterator[EventBase]:
        """Events with an id above `after` (and `base`), then new ones as they come, until the
        run ends."""
        position = max(after - self.base, 0)
        while True:
            while position < len(self.events):
                yield self.events[position]
                position += 1
            if self.closed:
                return
            await self._changed.wait()
