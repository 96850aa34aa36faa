"""A short-lived cache of live sessions, so the per-request session check costs no query."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request acts for: a user, through one live session."""

    user_id: uuid.UUID
    session_id: uuid.UUID
    email: str
    display_name: str | None
    is_admin: bool
    created_at: datetime
    # Epoch seconds when the session ends if nothing happens (idle or absolute limit).
    deadline: float


class SessionCache(Protocol):
    """Where live sessions are remembered for a moment. Invalidation must be immediate."""

    def get(self, session_id: uuid.UUID) -> Principal | None:
        """The cached principal, or None when absent or stale."""

    def put(self, principal: Principal) -> None:
        """Remember a principal that was just checked against the database."""

    def invalidate(self, session_id: uuid.UUID) -> None:
        """Forget one session (it ended)."""

    def invalidate_user(self, user_id: uuid.UUID) -> None:
        """Forget every session of a user (their account changed)."""


class MemorySessionCache:
    """In-process cache; each entry lives `ttl` seconds and never past its session's deadline."""

    def __init__(self, ttl: float, max_entries: int = 100_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[uuid.UUID, tuple[float, Principal]] = {}

    def get(self, session_id: uuid.UUID) -> Principal | None:
        entry = self._entries.get(session_id)
        if entry is None:
            return None
        valid_until, principal = entry
        if time.time() >= valid_until:
            self._entries.pop(session_id, None)
            return None
        return principal

    def put(self, principal: Principal) -> None:
        if self.ttl <= 0:
            return
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        valid_until = min(time.time() + self.ttl, principal.deadline)
        self._entries[principal.session_id] = (valid_until, principal)

    def invalidate(self, session_id: uuid.UUID) -> None:
        self._entries.pop(session_id, None)

    def invalidate_user(self, user_id: uuid.UUID) -> None:
        for session_id in [s for s, (_, p) in self._entries.items() if p.user_id == user_id]:
            self._entries.pop(session_id, None)
