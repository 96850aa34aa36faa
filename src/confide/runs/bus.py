"""Where a run's live events travel from the process executing it to every client following it.

Two implementations of one small Protocol (`EventBus`):

- `MemoryBus`, the default: the events stay in the memory of the process that runs them
  (`RunChannel`), which is the only one that can stream them live.
- `RedisBus`, with CONFIDE_REDIS_URL: every event is also appended to a Redis Stream per run
  (`confide:run:<id>:events`, capped at CONFIDE_RUN_STREAM_MAX_EVENTS and expiring
  CONFIDE_RUN_STREAM_TTL_SECONDS after its last event), under the entry id `<event id>-0`, so
  any process on any host streams it with the same event ids, and a client resumes by
  `Last-Event-ID` wherever its next request lands. One reader per process (`StreamReader`)
  blocks on every stream its clients follow in a single `XREAD`, so 1,000 followed runs cost
  one Redis connection, not 1,000.

The database keeps every event but the token deltas, for good: once a stream has expired (or
Redis lost it), a replay comes from there (`RunStore.events_after`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from confide.runs.channel import RunChannel
from confide.runs.events import EVENT_ADAPTER, EventBase, RunWaiting
from confide.shared.redis import BLOCK_MILLISECONDS, key

log = logging.getLogger("confide.runs")

# How long a finished run's live events (token deltas included) stay in memory for clients
# resuming late, and for how many runs at most; after that a replay comes from the stream or
# the database. Bounded: a busy server would otherwise hold minutes of runs, and the garbage
# collector would walk them all.
CHANNEL_KEEP_SECONDS = 60.0
CHANNEL_KEEP_MAX = 1000
# Events read from the streams per XREAD call, at most.
READ_COUNT = 1000
# How long one XREAD blocks when nothing comes; the followers are told of a quiet stream (and
# look at the database) only after `QUIET_SECONDS` of it.
READ_BLOCK_MILLISECONDS = 250
QUIET_SECONDS = BLOCK_MILLISECONDS / 1000
# After a failed write to Redis, the wait before the next try (the events are kept meanwhile;
# those of a run that ended are in the database anyway).
RETRY_SECONDS = (0.05, 0.2, 1.0)


class EventBus(Protocol):
    """A run's events, from its process to its followers (see the module's docstring)."""

    @property
    def shared(self) -> bool:
        """Whether other processes can read what this process publishes."""

    def open(self, run_id: uuid.UUID, *, after: int = 0) -> RunChannel:
        """The channel of a run this process executes (its events are numbered there)."""

    def local(self, run_id: uuid.UUID) -> RunChannel | None:
        """The channel of a run this process executes or executed lately."""

    def read(self, run_id: uuid.UUID, after: int) -> AsyncIterator[list[EventBase]]:
        """Batches of the run's events after `after`, as they come, from the shared stream;
        an empty batch each time nothing came for a while (the caller then checks whether
        the run still goes on). Never ends by itself."""

    async def published(self, run_id: uuid.UUID, after: int) -> list[EventBase]:
        """What the shared stream holds after `after`, without waiting."""

    async def publish(self, run_id: uuid.UUID, events: Sequence[EventBase]) -> None:
        """Events of a run no channel here carries (a run closed by another process than
        the one that executed it), already numbered."""

    async def last_id(self, run_id: uuid.UUID) -> int:
        """The highest event id published for the run (0: none)."""

    async def aclose(self) -> None: ...


class MemoryBus:
    """Every run's events in this process only."""

    shared = False

    def __init__(self) -> None:
        self.channels: dict[uuid.UUID, RunChannel] = {}
        self._finished: deque[tuple[float, uuid.UUID]] = deque()  # (when, run), oldest first

    def open(self, run_id: uuid.UUID, *, after: int = 0) -> RunChannel:
        channel = self.channels[run_id] = self._channel(run_id, after)
        return channel

    def _channel(self, run_id: uuid.UUID, after: int) -> RunChannel:
        return RunChannel(run_id, on_end=self._ended, after=after)

    def local(self, run_id: uuid.UUID) -> RunChannel | None:
        return self.channels.get(run_id)

    def _ended(self, channel: RunChannel) -> None:
        if channel.events and isinstance(channel.events[-1], RunWaiting):
            # Paused: not live any more, and its followers read the database until a process
            # resumes it on a channel of its own.
            if self.channels.get(channel.run_id) is channel:
                del self.channels[channel.run_id]
            return
        self._finished.append((time.monotonic(), channel.run_id))
        self.forget_old()

    def forget_old(self) -> None:
        """Drop the live events of runs finished long enough ago (or beyond the last N)."""
        cutoff = time.monotonic() - CHANNEL_KEEP_SECONDS
        finished = self._finished
        while finished and (finished[0][0] < cutoff or len(finished) > CHANNEL_KEEP_MAX):
            _, old = finished.popleft()
            kept = self.channels.get(old)
            if kept is not None and kept.closed:
                del self.channels[old]

    async def read(self, run_id: uuid.UUID, after: int) -> AsyncIterator[list[EventBase]]:
        raise NotImplementedError("a memory bus is not shared")
        yield []  # pragma: no cover

    async def published(self, run_id: uuid.UUID, after: int) -> list[EventBase]:
        return []

    async def publish(self, run_id: uuid.UUID, events: Sequence[EventBase]) -> None:
        channel = self.channels.get(run_id)
        if channel is None or channel.closed:
            return
        for event in events:
            if event.id == channel.next_id:
                channel.push(event)

    async def last_id(self, run_id: uuid.UUID) -> int:
        channel = self.channels.get(run_id)
        return channel.last_id if channel is not None else 0

    async def aclose(self) -> None:
        self.channels.clear()


def stream_key(run_id: uuid.UUID) -> str:
    return key("run", str(run_id), "events")


def _entry_id(event_id: int) -> str:
    return f"{event_id}-0"


def _decode(fields: dict[bytes, bytes]) -> EventBase:
    return EVENT_ADAPTER.validate_json(fields[b"e"])


class RedisBus(MemoryBus):
    """The memory bus, plus a Redis Stream per run that every process reads."""

    shared = True

    def __init__(self, redis: Redis, *, max_events: int, ttl_seconds: int) -> None:
        super().__init__()
        self.redis = redis
        self.max_events = max_events
        self.ttl_seconds = ttl_seconds
        self.reader = StreamReader(redis)
        self.writer = StreamWriter(redis, max_events=max_events, ttl_seconds=ttl_seconds)

    def _channel(self, run_id: uuid.UUID, after: int) -> RunChannel:
        return StreamedChannel(run_id, self, on_end=self._ended, after=after)

    async def write(self, run_id: uuid.UUID, events: Sequence[EventBase]) -> None:
        """Append events to the run's stream (in one round trip) and push its expiry back."""
        await self.writer.write({run_id: list(events)})

    async def read(self, run_id: uuid.UUID, after: int) -> AsyncIterator[list[EventBase]]:
        async for batch in self.reader.follow(stream_key(run_id), after):
            yield batch

    async def published(self, run_id: uuid.UUID, after: int) -> list[EventBase]:
        entries = await self.redis.xrange(stream_key(run_id), min=f"({_entry_id(after)}")
        return [_decode(fields) for _, fields in entries]

    async def publish(self, run_id: uuid.UUID, events: Sequence[EventBase]) -> None:
        await super().publish(run_id, events)
        if events:
            await self.write(run_id, events)

    async def last_id(self, run_id: uuid.UUID) -> int:
        local = await super().last_id(run_id)
        entries = await self.redis.xrevrange(stream_key(run_id), count=1)
        stream = int(entries[0][0].split(b"-")[0]) if entries else 0
        return max(local, stream)

    async def aclose(self) -> None:
        await self.writer.aclose()
        await self.reader.aclose()
        await super().aclose()


class StreamedChannel(RunChannel):
    """A run's channel whose events also go, in order, to the run's Redis stream (through the
    process's `StreamWriter`: pushing stays synchronous, the run loop never waits for Redis).
    `drain()` waits until everything pushed is written."""

    def __init__(
        self,
        run_id: uuid.UUID,
        bus: RedisBus,
        *,
        on_end: Callable[[RunChannel], None] | None = None,
        after: int = 0,
    ) -> None:
        super().__init__(run_id, on_end=on_end, after=after)
        self._writer = bus.writer

    def push(self, event: EventBase) -> None:
        super().push(event)
        self._writer.push(self.run_id, event)

    async def drain(self) -> None:
        await self._writer.drain(self.run_id)


# Appends each run's events to its stream and pushes the stream's expiry back, for any number
# of streams in one command. The entry id is the event's: an entry already there (a batch
# written again after a lost answer) is skipped, so a write is safe to repeat.
_APPEND_SCRIPT = """
local maxlen, ttl, at = ARGV[1], ARGV[2], 3
for k = 1, #KEYS do
  local count = tonumber(ARGV[at])
  at = at + 1
  for _ = 1, count do
    local added = redis.pcall('XADD', KEYS[k], 'MAXLEN', '~', maxlen, ARGV[at], 'e', ARGV[at + 1])
    if type(added) == 'table' and added.err and not string.find(added.err, 'equal or smaller') then
      return redis.error_reply(added.err)
    end
    at = at + 2
  end
  redis.call('EXPIRE', KEYS[k], ttl)
end
return #KEYS
"""


class StreamWriter:
    """Every run stream this process writes, written by one task: what all its runs pushed
    since the last write goes to Redis in one command (a script), however many runs and
    events it holds.

    One command per batch, not an XADD per event plus an EXPIRE per stream: redis-py's cost
    is per command (packing it, a time-out and a parse per answer), and it was 14 % of a
    serve process's CPU at 32 clients on PostgreSQL + Redis, 1.4 ms of a 12-event tool turn
    (bench/hosts_bench.py, py-spy); one script call per batch costs a fraction of that."""

    def __init__(self, redis: Redis, *, max_events: int, ttl_seconds: int) -> None:
        self.redis = redis
        self.max_events = max_events
        self.ttl_seconds = ttl_seconds
        self._script = redis.register_script(_APPEND_SCRIPT)
        self._pending: dict[uuid.UUID, list[EventBase]] = {}
        self._writing: dict[uuid.UUID, list[EventBase]] = {}
        self._task: asyncio.Task[None] | None = None
        self._wrote = asyncio.Event()  # set, and replaced, after each batch

    def push(self, run_id: uuid.UUID, event: EventBase) -> None:
        self._pending.setdefault(run_id, []).append(event)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="run-writes")

    async def write(self, batch: dict[uuid.UUID, list[EventBase]]) -> None:
        """Append each run's events to its stream, in one round trip."""
        keys: list[str] = []
        args: list[str | int] = [self.max_events, self.ttl_seconds]
        for run_id, events in batch.items():
            if not events:
                continue
            keys.append(stream_key(run_id))
            args.append(len(events))
            for event in events:
                args += (_entry_id(event.id), event.model_dump_json())
        if keys:
            await self._script(keys=keys, args=args)

    async def _run(self) -> None:
        failures = 0
        while self._pending:
            batch, self._pending = self._pending, {}
            self._writing = batch
            try:
                await self.write(batch)
                failures = 0
            except (RedisError, OSError) as exc:
                if failures >= len(RETRY_SECONDS):
                    log.warning(
                        "could not write runs' events to Redis; followers elsewhere will "
                        "read them from the database",
                        extra={"runs": len(batch), "error": type(exc).__name__},
                    )
                    failures = 0
                else:
                    for run_id, events in self._pending.items():  # kept in order
                        batch.setdefault(run_id, []).extend(events)
                    self._pending = batch
                    await asyncio.sleep(RETRY_SECONDS[failures])
                    failures += 1
            finally:
                self._writing = {}
                wrote, self._wrote = self._wrote, asyncio.Event()
                wrote.set()

    async def drain(self, run_id: uuid.UUID) -> None:
        """Wait until the run's events pushed so far are written (or given up on)."""
        while (
            self._task is not None
            and not self._task.done()
            and (run_id in self._pending or run_id in self._writing)
        ):
            await self._wrote.wait()

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


@dataclass(eq=False)
class _Follower:
    position: int
    batches: asyncio.Queue[list[EventBase]] = field(default_factory=asyncio.Queue)
    heard: float = field(default_factory=time.monotonic)  # when its stream last said something


class StreamReader:
    """Every stream this process's clients follow, read by one blocking `XREAD`.

    The read blocks on a connection of its own, for `READ_BLOCK_MILLISECONDS` at most; when a
    follower joins, a blocked read is woken (`CLIENT UNBLOCK`) and issued again with the new
    stream, so a new follower waits for no time-out (at worst, when the read was in flight,
    for one block)."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._followers: dict[str, set[_Follower]] = {}
        self._joined = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._connection: Redis | None = None
        self._client_id: int | None = None
        self._blocked = False  # an XREAD is in flight on the reader's connection
        self._told_quiet = time.monotonic()

    async def follow(self, name: str, after: int) -> AsyncIterator[list[EventBase]]:
        follower = _Follower(position=after)
        self._followers.setdefault(name, set()).add(follower)
        self._joined.set()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="run-streams")
        else:
            await self._wake()
        try:
            while True:
                # (The reader moved `position` past each batch as it queued it: setting it
                # here again, from an older batch, would read its successors twice.)
                yield await follower.batches.get()
        finally:
            followers = self._followers.get(name)
            if followers is not None:
                followers.discard(follower)
                if not followers:
                    del self._followers[name]

    async def _wake(self) -> None:
        """Interrupt an XREAD in flight so that it is issued again with the new streams.

        One try: when the read was not blocking yet (sent, not arrived) or had just been
        answered, the new stream waits for the next read, at most `READ_BLOCK_MILLISECONDS`
        (retrying the unblock instead cost a Redis round trip per try while the loop was busy
        handling the answer)."""
        if self._blocked and self._client_id is not None:
            with contextlib.suppress(RedisError, OSError):
                await self.redis.client_unblock(self._client_id)

    async def _connect(self) -> Redis:
        if self._connection is None:
            kwargs = dict(self.redis.connection_pool.connection_kwargs)
            kwargs["socket_timeout"] = None  # it blocks for READ_BLOCK_MILLISECONDS at a time
            self._connection = Redis(single_connection_client=True, **kwargs)
            self._client_id = int(await self._connection.client_id())
        return self._connection

    async def _run(self) -> None:
        failures = 0
        while True:
            if not self._followers:
                self._joined.clear()
                await self._joined.wait()
            streams = {
                name: _entry_id(min(f.position for f in followers))
                for name, followers in self._followers.items()
            }
            try:
                connection = await self._connect()
                self._blocked = True
                try:
                    answer = await connection.xread(
                        streams,  # type: ignore[arg-type]
                        count=READ_COUNT,
                        block=READ_BLOCK_MILLISECONDS,
                    )
                finally:
                    self._blocked = False
                failures = 0
            except (RedisError, OSError) as exc:
                await self._reset()
                failures += 1
                log.warning(
                    "could not read the runs' streams from Redis",
                    extra={"error": type(exc).__name__},
                )
                self._tell_all([])  # each follower checks the database meanwhile
                await asyncio.sleep(min(0.1 * 2**failures, 2.0))
                continue
            self._tell_quiet()
            for raw_name, entries in answer or ():
                name = raw_name.decode() if isinstance(raw_name, bytes) else raw_name
                events = [_decode(fields) for _, fields in entries]
                for follower in self._followers.get(name, ()):
                    fresh = [e for e in events if e.id > follower.position]
                    if fresh:
                        follower.position = fresh[-1].id
                        follower.heard = time.monotonic()
                        follower.batches.put_nowait(fresh)

    def _tell_quiet(self) -> None:
        """An empty batch to each follower whose stream said nothing for `QUIET_SECONDS`."""
        now = time.monotonic()
        if now - self._told_quiet < QUIET_SECONDS:
            return
        self._told_quiet = now
        for followers in self._followers.values():
            for follower in followers:
                if now - follower.heard >= QUIET_SECONDS:
                    follower.heard = now
                    follower.batches.put_nowait([])

    def _tell_all(self, batch: list[EventBase]) -> None:
        for followers in self._followers.values():
            for follower in followers:
                follower.batches.put_nowait(batch)

    async def _reset(self) -> None:
        connection, self._connection, self._client_id = self._connection, None, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.aclose()

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._reset()
