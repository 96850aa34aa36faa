"""The live events of a run, in memory: numbered, replayable from any id, followable."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

TERMINAL = frozenset({"run.completed", "run.failed", "run.cancelled"})


@dataclass(frozen=True, slots=True)
class Event:
    id: int
    type: str
    data: dict[str, Any]


class RunChannel:
    """Every event a run emitted, in order. Followers wait for new ones until the run ends."""

    def __init__(self, run_id: uuid.UUID) -> None:
        self.run_id = run_id
        self.events: list[Event] = []
        self.closed = False
        self._changed = asyncio.Event()

    def publish(self, type_: str, data: dict[str, Any] | None = None) -> Event:
        event = self.prepare(type_, data)
        self.push(event)
        return event

    def prepare(self, type_: str, data: dict[str, Any] | None = None) -> Event:
        """The next event, numbered but not yet visible (to store it before anyone sees it)."""
        (event,) = self.prepare_many([(type_, data or {})])
        return event

    def prepare_many(self, bodies: list[tuple[str, dict[str, Any]]]) -> list[Event]:
        """The next events, numbered in order, none yet visible."""
        first = len(self.events) + 1
        return [
            Event(first + offset, type_, {"run_id": str(self.run_id), **data})
            for offset, (type_, data) in enumerate(bodies)
        ]

    def push(self, event: Event) -> None:
        assert event.id == len(self.events) + 1, "events are pushed in order"
        self.events.append(event)
        if event.type in TERMINAL:
            self.closed = True
        self._wake()

    def close(self) -> None:
        self.closed = True
        self._wake()

    def _wake(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def follow(self, after: int = 0) -> AsyncIterator[Event]:
        """Events with an id above `after`, then new ones as they come, until the run ends."""
        position = max(after, 0)
        while True:
            while position < len(self.events):
                yield self.events[position]
                position += 1
            if self.closed:
                return
            await self._changed.wait()
