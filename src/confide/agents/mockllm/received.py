"""What the mock LLM received: one record per chat completion request, shared with test threads."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from typing import Any, Literal

RECEIVED_LIMIT = 100
Outcome = Literal["pending", "streaming", "completed", "disconnected", "error"]


@dataclasses.dataclass(slots=True)
class ReceivedRequest:
    """One chat completion request as the server read it, and how far its answer got."""

    number: int  # 1 for the first request the app received
    body: dict[str, Any] | None  # the JSON body as sent, markers included; None if not an object
    stream: bool
    outcome: Outcome = "pending"  # "streaming" while a stream is open
    chunks_sent: int = 0  # SSE events written, `data: [DONE]` included
    status: int | None = None
    # The token counts of the answer (sent in a stream only when `include_usage` asks).
    usage: dict[str, int] | None = None


class RequestLog:
    """The last requests, shared with test threads: a lock and a condition, not asyncio."""

    def __init__(self, limit: int = RECEIVED_LIMIT) -> None:
        self.records: list[ReceivedRequest] = []
        self._limit = limit
        self._count = 0
        self._changed = threading.Condition()

    def add(self, body: dict[str, Any] | None, *, stream: bool) -> ReceivedRequest:
        """Record a request as it arrives, before it is parsed."""
        with self._changed:
            self._count += 1
            record = ReceivedRequest(number=self._count, body=body, stream=stream)
            self.records.append(record)
            del self.records[: -self._limit]
            self._changed.notify_all()
        return record

    def update(
        self, record: ReceivedRequest, outcome: Outcome, *, status: int | None = None
    ) -> None:
        """Note how far the answer to `record` got (and its status, once known)."""
        with self._changed:
            record.outcome = outcome
            record.status = record.status if status is None else status
            self._changed.notify_all()

    def sent_chunk(self, record: ReceivedRequest) -> None:
        """Count one more SSE event handed to the server for `record`."""
        with self._changed:
            record.chunks_sent += 1
            self._changed.notify_all()

    def snapshot(self) -> list[dict[str, Any]]:
        """The records as JSON-ready dicts, oldest first."""
        with self._changed:
            return [dataclasses.asdict(record) for record in self.records]

    def wait_for(
        self, predicate: Callable[[ReceivedRequest], bool], timeout: float = 10.0
    ) -> ReceivedRequest:
        """The oldest record `predicate` accepts, waiting for one; TimeoutError after `timeout`."""
        with self._changed:
            found = self._changed.wait_for(
                lambda: next((r for r in self.records if predicate(r)), None), timeout
            )
            if found is None:
                seen = [(r.number, r.stream, r.outcome, r.chunks_sent) for r in self.records]
                raise TimeoutError(
                    f"no request matched within {timeout:g}s; "
                    f"received (number, stream, outcome, chunks_sent): {seen}"
                )
            return found
