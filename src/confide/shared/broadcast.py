"""Pub/sub over Redis for one process: one subscriber connection, handlers called per message.

Redis pub/sub delivers a message only to the connections subscribed when it is published; a
process whose connection was down missed whatever was said meanwhile, and nothing tells it
what. So the listener reconnects by itself (with backoff), `connected` says whether messages
are being heard right now, and the `on_reset` callbacks run each time the subscription is
(re)established, before `connected` turns true, for state that must be rebuilt because
messages may have been missed (a cache empties itself).

A connection is never reused after an error: redis-py would reconnect it and re-subscribe
silently, hiding the gap. Each attempt makes a new `PubSub`, and one that reconnects under us
(a connect callback sees it) is treated as lost. A silent network (no error, no data) is
caught by a heartbeat: a PING whenever nothing was heard for `heartbeat_seconds`, the
connection given up when nothing at all is heard for three of them.

In the app's lifespan: `await broadcast.start()` before serving, `await broadcast.aclose()` at
shutdown (before the Redis client is closed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import RedisError

from confide.shared.redis import key

log = logging.getLogger("confide.broadcast")

Handler = Callable[[bytes], None]
# Every process's broadcast subscribes to it (so its connection is a subscriber before any
# feature subscribes): `PUBSUB NUMSUB confide:broadcast:processes` counts the live processes.
PROCESSES_CHANNEL = key("broadcast", "processes")
HEARTBEAT_SECONDS = 2.5
BACKOFF_SECONDS = (0.1, 5.0)
# How long `start()` waits for the first attempt to connect before serving without it.
FIRST_CONNECT_SECONDS = 5.0


class _Lost(Exception):
    """The subscription cannot be trusted any more (as a connection error)."""


class Broadcast:
    """One process's pub/sub: `subscribe` handlers, `publish` bytes, `connected`, `on_reset`."""

    def __init__(
        self,
        redis: Redis,
        *,
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
        backoff_seconds: tuple[float, float] = BACKOFF_SECONDS,
    ) -> None:
        self._redis = redis
        self._heartbeat = heartbeat_seconds
        self._backoff_min, self._backoff_max = backoff_seconds
        self._handlers: dict[str, list[Handler]] = {}
        self._resets: list[Callable[[], None]] = []
        # True while the subscription is established: what is published now is heard. A plain
        # attribute (read on every authenticated request); only the listener sets it.
        self.connected = False
        self._pubsub: PubSub | None = None
        self._reconnected = False
        self._listener: asyncio.Task[None] | None = None
        self._first_attempt = asyncio.Event()
        self._spawned: set[asyncio.Task[Any]] = set()

    def subscribe(self, channel: str, handler: Handler) -> None:
        """Call `handler(data)` for each message on `channel`, on the loop, in order.

        Subscribe at start-up: a channel added while connected is heard from the moment Redis
        takes its SUBSCRIBE, which `connected` does not tell.
        """
        new = channel not in self._handlers
        self._handlers.setdefault(channel, []).append(handler)
        if new and self._pubsub is not None:
            self.spawn(self._subscribe_late(self._pubsub, channel))

    def on_reset(self, callback: Callable[[], None]) -> None:
        """Call `callback()` each time the subscription is (re)established."""
        self._resets.append(callback)

    async def publish(self, channel: str, data: bytes) -> int:
        """Send `data` to every subscriber of `channel`; how many Redis delivered it to.

        Raises redis' errors: the caller decides what an unheard message means.
        """
        return int(await self._redis.publish(channel, data))

    def spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        """Run `work` in the background (a handler's follow-up); cancelled by `aclose()`."""
        task = asyncio.get_running_loop().create_task(work)
        self._spawned.add(task)
        task.add_done_callback(self._spawned.discard)

    async def start(self) -> None:
        """Start listening; returns once the first attempt connected or failed (bounded)."""
        if self._listener is not None:
            return
        self._listener = asyncio.get_running_loop().create_task(self._run())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._first_attempt.wait(), FIRST_CONNECT_SECONDS)

    async def aclose(self) -> None:
        """Stop listening and drop the subscriber connection."""
        self.connected = False
        tasks = [*self._spawned]
        if self._listener is not None:
            tasks.append(self._listener)
            self._listener = None
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # The listener ------------------------------------------------------------------------------

    async def _run(self) -> None:
        delay = self._backoff_min
        failing = False  # the last attempt failed too (and that was logged)
        while True:
            pubsub = self._redis.pubsub()
            try:
                await self._listen(pubsub)
            except (RedisError, OSError, _Lost) as exc:
                lost = self.connected
                if lost or not failing:
                    message = "broadcast lost; retrying" if lost else "broadcast cannot reach Redis"
                    log.warning(message, extra={"error": repr(exc)})
                else:
                    log.debug("broadcast still cannot reach Redis", extra={"error": repr(exc)})
                if lost:
                    delay = self._backoff_min
                failing = True
            except Exception:
                log.exception("broadcast listener failed; retrying")
            finally:
                self.connected = False
                self._pubsub = None
                self._first_attempt.set()
                await self._discard(pubsub)
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._backoff_max)

    async def _listen(self, pubsub: PubSub) -> None:
        loop = asyncio.get_running_loop()
        channels = [PROCESSES_CHANNEL, *self._handlers]
        await pubsub.subscribe(*channels)
        connection = pubsub.connection
        assert connection is not None
        self._reconnected = False
        connection.register_connect_callback(self._on_reconnect)
        try:
            await self._confirm(pubsub, set(channels))
            self._pubsub = pubsub
            late = [channel for channel in self._handlers if channel not in channels]
            if late:
                await pubsub.subscribe(*late)
            for reset in self._resets:
                reset()
            self.connected = True
            self._first_attempt.set()
            log.info("broadcast connected", extra={"channels": len(self._handlers)})
            heard = loop.time()
            while True:
                message = await pubsub.get_message(timeout=self._heartbeat)
                if self._reconnected:
                    raise _Lost("the connection was re-established under the subscription")
                now = loop.time()
                if message is not None:
                    heard = now
                    if message["type"] == "message":
                        self._dispatch(message["channel"], message["data"])
                elif now - heard >= 3 * self._heartbeat:
                    raise _Lost("nothing heard from Redis")
                else:
                    await pubsub.ping()
        finally:
            connection.deregister_connect_callback(self._on_reconnect)

    async def _confirm(self, pubsub: PubSub, pending: set[str]) -> None:
        """Read the SUBSCRIBE confirmations: from then on, every message is heard."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 3 * self._heartbeat
        while pending:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise _Lost("Redis did not confirm the subscription")
            message = await pubsub.get_message(timeout=remaining)
            if message is None:
                continue
            if message["type"] == "subscribe":
                pending.discard(_text(message["channel"]))
            elif message["type"] == "message":
                self._dispatch(message["channel"], message["data"])

    def _dispatch(self, channel: bytes | str, data: bytes) -> None:
        for handler in self._handlers.get(_text(channel), ()):
            try:
                handler(data)
            except Exception:
                log.exception("broadcast handler failed", extra={"channel": _text(channel)})

    def _on_reconnect(self, _connection: AbstractConnection) -> None:
        # redis-py reconnected the subscriber by itself: whatever came meanwhile was missed.
        self.connected = False
        self._reconnected = True

    async def _subscribe_late(self, pubsub: PubSub, channel: str) -> None:
        try:
            await pubsub.subscribe(channel)
        except (RedisError, OSError):
            log.debug("late subscription failed; the reconnection subscribes it")

    async def _discard(self, pubsub: PubSub) -> None:
        with contextlib.suppress(RedisError, OSError):
            await pubsub.aclose()  # type: ignore[no-untyped-call]  # untyped in redis-py


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
