"""A short-lived cache of live sessions, so the per-request session check costs no query.

A load (a cache miss checked in the database) is shared by the concurrent requests of its
session. Two rules keep the cache, and a shared load, from answering for a session that ended:

- A load begins with `begin_load`, whose token changes whenever an entry is dropped: the
  answer of a load that began before a drop is neither cached nor shared with a request that
  came after it (the load may have read the database before the session ended).
- Invalidation happens inside the transaction that ends the session, before its commit (the
  request commits after its endpoint returns), so a load may still read the session as live
  after it was invalidated. The session (or user) is therefore *fenced* for `FENCE_SECONDS`:
  each request checks it in the database itself, and nothing caches it. Its end is committed
  long before the fence lifts (a moment later, by the same request).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
import uuid
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, cast

from redis.asyncio import Redis
from redis.exceptions import RedisError

from confide.shared.broadcast import Broadcast
from confide.shared.redis import key

log = logging.getLogger("confide.auth")

# Longer than any wait between an invalidation and its transaction's commit.
FENCE_SECONDS = 30.0
INVALIDATE_CHANNEL = key("auth", "invalidate")
# How long an invalidation waits for every process to acknowledge it.
ACK_SECONDS = 2.0
ACK_KEY_TTL_SECONDS = 10
_SESSIONS, _USER, _ALL = b"s", b"u", b"a"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request acts for: a user, through one live session."""

    user_id: uuid.UUID
    session_id: uuid.UUID
    email: str
    display_name: str | None
    created_at: datetime
    # Epoch seconds when the session ends if nothing happens (idle or absolute limit).
    deadline: float
    status: str = "active"  # or "pending": signed in, waiting for an admin's approval
    roles: frozenset[str] = frozenset()
    # Everything the roles grant (inherited grants included); none while pending, and only
    # what CONFIDE_UNVERIFIED_USERS allows while the email is not verified.
    permissions: frozenset[str] = frozenset()
    # A role held requires MFA and the user has none yet: only enrolment is open (mfa/gate.py).
    mfa_enrolment_required: bool = False
    email_verified: bool = True

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    def can(self, permission: str) -> bool:
        return permission in self.permissions


class SessionCache(Protocol):
    """Where live sessions are remembered for a moment. Invalidation must be immediate: once
    `invalidate` returns, no process answers from the entries it dropped (RedisSessionCache
    says exactly how far that holds across processes)."""

    def get(self, session_id: uuid.UUID) -> Principal | None:
        """The cached principal, or None when absent, stale or not to be trusted now."""

    def begin_load(self, session_id: uuid.UUID, user_id: uuid.UUID) -> int | None:
        """Called before a load reads the database: the token to `put` its answer with (loads
        are shared only between requests given the same one), or None when the answer must be
        neither shared nor cached (the session is fenced, or nothing can be trusted now)."""

    def put(self, principal: Principal, *, generation: int) -> None:
        """Remember a principal a load checked against the database; ignored when anything
        was dropped since `begin_load` gave `generation`."""

    async def invalidate(self, *session_ids: uuid.UUID) -> None:
        """Forget these sessions (they are ending) everywhere, and fence them."""

    async def invalidate_user(self, user_id: uuid.UUID) -> None:
        """Forget every session of a user (their account changed) everywhere, and fence it."""

    async def invalidate_users(self, user_ids: Iterable[uuid.UUID]) -> None:
        """`invalidate_user` for many users at once (a role they hold changed): one message."""

    async def invalidate_all(self) -> None:
        """Forget every session everywhere and fence them all (a change affecting too many
        users to name them): until the fence lifts every request checks the database."""


class MemorySessionCache:
    """In-process cache; each entry lives `ttl` seconds and never past its session's deadline."""

    def __init__(
        self, ttl: float, max_entries: int = 100_000, *, fence_seconds: float = FENCE_SECONDS
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.fence_seconds = fence_seconds
        self.generation = 0
        self._entries: dict[uuid.UUID, tuple[float, Principal]] = {}
        # Monotonic time until which a session, or every session of a user, is fenced.
        self._fenced_sessions: dict[uuid.UUID, float] = {}
        self._fenced_users: dict[uuid.UUID, float] = {}
        self._fenced_all_until = 0.0

    def get(self, session_id: uuid.UUID) -> Principal | None:
        entry = self._entries.get(session_id)
        if entry is None:
            return None
        valid_until, principal = entry
        if time.time() >= valid_until:
            self._entries.pop(session_id, None)
            return None
        return principal

    def begin_load(self, session_id: uuid.UUID, user_id: uuid.UUID) -> int | None:
        if self._fenced_sessions or self._fenced_users or self._fenced_all_until:
            now = time.monotonic()
            if now < self._fenced_all_until:
                return None
            if now < self._fenced_sessions.get(session_id, 0.0):
                return None
            if now < self._fenced_users.get(user_id, 0.0):
                return None
        return self.generation

    def put(self, principal: Principal, *, generation: int) -> None:
        # A drop since `begin_load` changed the generation; a fence set since came with one.
        if self.ttl <= 0 or generation != self.generation:
            return
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        valid_until = min(time.time() + self.ttl, principal.deadline)
        self._entries[principal.session_id] = (valid_until, principal)

    async def invalidate(self, *session_ids: uuid.UUID) -> None:
        if session_ids:
            self.drop(session_ids)

    async def invalidate_user(self, user_id: uuid.UUID) -> None:
        self.drop_user(user_id)

    async def invalidate_users(self, user_ids: Iterable[uuid.UUID]) -> None:
        self.drop_users(user_ids)

    async def invalidate_all(self) -> None:
        self.drop_all()

    def drop(self, session_ids: Iterable[uuid.UUID]) -> None:
        """Forget and fence sessions in this process."""
        self.generation += 1
        until = self._fence_until(self._fenced_sessions)
        for session_id in session_ids:
            self._entries.pop(session_id, None)
            self._fenced_sessions[session_id] = until

    def drop_user(self, user_id: uuid.UUID) -> None:
        """Forget and fence every session of a user in this process."""
        self.drop_users([user_id])

    def drop_users(self, user_ids: Iterable[uuid.UUID]) -> None:
        """Forget and fence every session of these users in this process."""
        users = set(user_ids)
        if not users:
            return
        self.generation += 1
        until = self._fence_until(self._fenced_users)
        for user_id in users:
            self._fenced_users[user_id] = until
        for session_id in [s for s, (_, p) in self._entries.items() if p.user_id in users]:
            self._entries.pop(session_id, None)

    def drop_all(self) -> None:
        """Forget every entry and fence every session in this process."""
        self.generation += 1
        self._entries.clear()
        self._fenced_all_until = time.monotonic() + self.fence_seconds

    def clear(self) -> None:
        """Forget every entry (fences stay)."""
        self.generation += 1
        self._entries.clear()

    def _fence_until(self, fences: dict[uuid.UUID, float]) -> float:
        now = time.monotonic()
        for fenced in [k for k, until in fences.items() if until <= now]:
            del fences[fenced]
        return now + self.fence_seconds


class RedisSessionCache:
    """The in-process cache on each of many processes, invalidated on all of them over Redis.

    Entries live in this process's memory, as with `MemorySessionCache`: a hit costs no Redis
    round trip. An invalidation drops and fences the entries here, then is published; each
    process drops and fences them in its listener and acknowledges (RPUSH to a key named in
    the message), and `invalidate` returns once every subscriber Redis counted for the PUBLISH
    has acknowledged, or after `ACK_SECONDS` (logged). The request that ended the session
    then commits, and answers.

    Why acknowledgements: PUBLISH returning only means Redis wrote the message towards each
    process. Process B reads it on its subscriber connection and the client's next request on
    another socket; nothing orders the two, so B could answer that request from its entry
    before its listener runs. Waiting for B's acknowledgement removes the race without costing
    the hot path anything; a version check per request would close it too, for a Redis round
    trip on every authenticated request (about 250 us with redis-py here, ten times what the
    whole authentication may cost, bench/README.md).

    The guarantee: a request sent after that answer, to any process that was subscribed when
    the invalidation was published, is checked against the database (where the end is
    committed), whichever of the request and the message that process read first. A process
    whose subscription is down trusts nothing (`get` and `begin_load` answer None: each
    request checks the database itself) and empties itself when it is back, since it may have
    missed invalidations meanwhile.

    What it does not cover: a process whose subscription broke without its noticing yet
    (Redis dropped it an instant ago; a silent network is noticed within three heartbeats) is
    not counted, so not waited for, and may answer from an entry until it notices or the entry
    expires; so may a process that did not acknowledge within `ACK_SECONDS` (its loop stalled),
    until it reads the message; and when Redis cannot be reached to publish, the invalidation
    is applied in this process, logged, and the others learn of it only by losing Redis too.
    """

    def __init__(
        self,
        *,
        redis: Redis,
        broadcast: Broadcast,
        ttl: float,
        max_entries: int = 100_000,
        fence_seconds: float = FENCE_SECONDS,
    ) -> None:
        self._local = MemorySessionCache(ttl, max_entries, fence_seconds=fence_seconds)
        self._redis = redis
        self._broadcast = broadcast
        broadcast.subscribe(INVALIDATE_CHANNEL, self._received)
        broadcast.on_reset(self._local.clear)

    def get(self, session_id: uuid.UUID) -> Principal | None:
        if not self._broadcast.connected:
            return None
        return self._local.get(session_id)

    def begin_load(self, session_id: uuid.UUID, user_id: uuid.UUID) -> int | None:
        # Unheard invalidations may be pending: each request checks the database itself.
        if not self._broadcast.connected:
            return None
        return self._local.begin_load(session_id, user_id)

    def put(self, principal: Principal, *, generation: int) -> None:
        if self._broadcast.connected:
            self._local.put(principal, generation=generation)

    async def invalidate(self, *session_ids: uuid.UUID) -> None:
        if session_ids:
            self._local.drop(session_ids)
            await self._publish(_SESSIONS, session_ids)

    async def invalidate_user(self, user_id: uuid.UUID) -> None:
        await self.invalidate_users([user_id])

    async def invalidate_users(self, user_ids: Iterable[uuid.UUID]) -> None:
        users = list(dict.fromkeys(user_ids))
        if users:
            self._local.drop_users(users)
            await self._publish(_USER, users)

    async def invalidate_all(self) -> None:
        self._local.drop_all()
        await self._publish(_ALL, [])

    async def _publish(self, kind: bytes, ids: Iterable[uuid.UUID]) -> None:
        ack = secrets.token_hex(8)
        message = b" ".join([kind, ack.encode(), *(i.hex.encode() for i in ids)])
        try:
            receivers = await self._broadcast.publish(INVALIDATE_CHANNEL, message)
            acknowledged = await self._acknowledgements(ack, receivers)
        except RedisError as exc:
            log.warning(
                "session invalidation not published; other processes rely on their own "
                "loss of Redis",
                extra={"error": repr(exc)},
            )
            return
        if acknowledged < receivers:
            log.warning(
                "session invalidation not acknowledged by every process in time",
                extra={"receivers": receivers, "acknowledged": acknowledged},
            )

    async def _acknowledgements(self, ack: str, receivers: int) -> int:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + ACK_SECONDS
        ack_key = key("auth", "invalidate-ack", ack)
        for count in range(receivers):
            remaining = deadline - loop.time()
            if remaining <= 0:
                return count
            # redis-py types its commands for both clients; this one is the asyncio client.
            popped = cast(
                Awaitable[list[bytes] | None], self._redis.blpop([ack_key], timeout=remaining)
            )
            if await popped is None:
                return count
        return receivers

    def _received(self, data: bytes) -> None:
        try:
            kind, raw_ack, *raw_ids = data.split(b" ")
            ack = raw_ack.decode("ascii")
            ids = [uuid.UUID(hex=raw.decode("ascii")) for raw in raw_ids]
        except ValueError:
            log.warning("malformed session invalidation ignored")
            return
        if kind == _SESSIONS:
            self._local.drop(ids)
        elif kind == _USER:
            self._local.drop_users(ids)
        elif kind == _ALL:
            self._local.drop_all()
        else:
            return
        self._broadcast.spawn(self._acknowledge(ack))

    async def _acknowledge(self, ack: str) -> None:
        ack_key = key("auth", "invalidate-ack", ack)
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.rpush(ack_key, b"1")
                pipe.expire(ack_key, ACK_KEY_TTL_SECONDS)
                await pipe.execute()
        except RedisError as exc:
            log.debug("session invalidation not acknowledged", extra={"error": repr(exc)})
