"""What does one agent turn cost? Latency and throughput of an "add 5 and 3" turn (two model
steps, one tool call, four stored messages) on the scripted model, time to the first SSE event,
the same turn on a thread of 1,000 messages beside one on a new thread, and the cost of listing
threads and a long thread's newest messages, on one real uvicorn process. `--baseline REV` runs
a git revision's server beside the working tree's, phase by phase, and compares the two.

Run with `.venv/bin/python bench/chat_bench.py`; `--help` lists the options. The load generator
is built in: raw asyncio streams (uvloop when installed), keep-alive HTTP/1.1, POST with JSON
bodies, chunked SSE responses. See bench/README.md for what each phase does and how to read it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import re
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from chat_seed import (
    check_storage,
    seed_conversations,
    seed_messages,
    seed_threads,
)
from common import (
    HOST,
    ME,
    RESULTS,
    Account,
    BenchError,
    Revision,
    ServerUnderTest,
    cpus,
    export_revision,
    git_commit,
    interrupt,
    machine,
    masked,
    own_cpu_seconds,
    parse_env,
    pct,
    percentile,
    pin,
    process_cpu_seconds,
    round3,
    shown,
    src_changed,
    start_server_under_test,
    thread_cpu_seconds,
    uvloop_factory,
)

DEFAULT_OUTPUT = RESULTS / "chat.json"
SSE = "text/event-stream"
TURN_TEXT = "add 5 and 3"
TURN_BODY = json.dumps({"content": TURN_TEXT}).encode()
TURN_ROLES = ["user", "assistant", "tool", "assistant"]
TURN_ANSWER = "5 + 3 = 8."
# The targets, on a 2-core machine with one uvicorn worker.
TARGET_TURN_P50_MS = 6.0
TARGET_TURNS_PER_S = 200.0
TARGET_LIST_RATIO = 1.5
REFERENCE = (
    "a FastAPI + LangGraph + SQLite-checkpointer build of the same turn: 11 ms, ~100 turns/s"
)
# Threads made before a phase, per second of it: every turn gets a fresh, empty thread. A phase
# that runs out ends early and is measured over the time it ran (the table says so).
SEQUENTIAL_THREADS_PER_S = 400
CONCURRENT_THREADS_PER_S = 600
WARMUP_SSE_TURNS = 50
SMALL_USER_THREADS = 100
BIG_USER_THREADS = 10_000
HISTORY_MESSAGES = 5_000
PAGE = 50  # the API's default page size
LONG_MESSAGES = 1_000  # the long thread of the new-vs-long phase (--long-messages)
# Long threads seeded per second of that phase, used in turn, so each grows by a few turns only
# (four messages each): at most ~25 turns at 4 ms a turn, 1,000 -> at most ~1,100 messages.
LONG_THREADS_PER_S = 5
LONG_WARMUP_PAIRS = 10  # unmeasured new/long pairs first (none with --warmup 0)
REQUEST_TIMEOUT = 30.0
# uvicorn closes a keep-alive connection idle for 5 s; one idle longer than this is reopened.
IDLE_REOPEN_SECONDS = 4.0
CREATE_CONNECTIONS_PER_USER = 8
# A change between the two servers shown in colour from this share on (green: better).
MARKED_CHANGE = 0.05

# Wide enough for the table when the output is not a terminal (a log file, CI).
console = Console(width=None if sys.stdout.isatty() else 130)
clock = time.perf_counter


# The HTTP client -------------------------------------------------------------------------------


class ProtocolError(Exception):
    pass


class Failure(Exception):
    """A request that got no usable answer (socket error, timeout, malformed response)."""


@dataclass(slots=True)
class Reply:
    status: int
    body: bytes
    sent: float
    done: float
    first_event: float | None  # when a chunk holding the first SSE `id:` line arrived

    @property
    def latency(self) -> float:
        return self.done - self.sent


class Connection:
    """One keep-alive HTTP/1.1 connection over raw asyncio streams, one request at a time, with
    a bearer token. Reads Content-Length and chunked bodies; reconnects after a failure."""

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self._fixed = f"Host: {HOST}:{port}\r\nAuthorization: Bearer {token}\r\n"
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._used = 0.0

    async def call(
        self, method: str, path: str, body: bytes | None = None, *, sse: bool = False
    ) -> Reply:
        accept = SSE if sse else "application/json"
        head = f"{method} {path} HTTP/1.1\r\n{self._fixed}Accept: {accept}\r\n"
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        request = (head + "\r\n").encode("latin-1") + (body or b"")
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT):
                if self._writer is not None and clock() - self._used > IDLE_REOPEN_SECONDS:
                    self.close()
                if self._writer is None:
                    self._reader, self._writer = await asyncio.open_connection(HOST, self.port)
                assert self._reader is not None
                sent = clock()
                self._writer.write(request)
                status, payload, first, close = await self._read(self._reader)
                done = self._used = clock()
        except (
            OSError,
            TimeoutError,
            asyncio.IncompleteReadError,
            ValueError,
            ProtocolError,
        ) as exc:
            self.close()
            raise Failure(f"{method} {path}: {type(exc).__name__} {exc}") from exc
        if close:
            self.close()
        return Reply(status, payload, sent, done, first)

    @staticmethod
    async def _read(reader: asyncio.StreamReader) -> tuple[int, bytes, float | None, bool]:
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 "):
            raise ProtocolError(head[:40])
        status = int(head[9:12])
        lower = head.lower()
        first: float | None = None
        if b"\r\ntransfer-encoding: chunked" in lower:
            parts = []
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0], 16)
                if size == 0:
                    while await reader.readuntil(b"\r\n") != b"\r\n":
                        pass  # trailer fields, if any
                    break
                chunk = (await reader.readexactly(size + 2))[:-2]
                if first is None and (chunk.startswith(b"id:") or b"\nid:" in chunk):
                    first = clock()
                parts.append(chunk)
            payload = b"".join(parts)
        else:
            at = lower.find(b"\r\ncontent-length:")
            length = int(lower[at + 17 : lower.index(b"\r\n", at + 2)]) if at >= 0 else 0
            payload = await reader.readexactly(length) if length else b""
        return status, payload, first, b"\r\nconnection: close" in lower

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None


# Checking answers ------------------------------------------------------------------------------

Check = Callable[[Reply], str | None]  # None: a good answer; otherwise what is wrong with it


def check_turn(reply: Reply, first_seq: int | None = None) -> str | None:
    """A completed "add 5 and 3" turn; `first_seq`: the position its user message must take
    (the thread's message count + 1), so a turn on a seeded thread really went to its end."""
    if reply.status != 200:
        return f"status {reply.status}: {reply.body[:300]!r}"
    try:
        result = json.loads(reply.body)
        status = result["run"]["status"]
        messages = result["messages"]
        roles = [m["role"] for m in messages]
        seq = messages[0]["seq"] if messages else None
    except (ValueError, KeyError, TypeError) as exc:
        return f"unreadable answer ({exc}): {reply.body[:300]!r}"
    if status != "completed":
        return f"run {status}: {reply.body[:300]!r}"
    if roles != TURN_ROLES or messages[-1]["content"] != TURN_ANSWER:
        return f"messages {roles}, answer {messages[-1].get('content') if messages else None!r}"
    if first_seq is not None and seq != first_seq:
        return f"the user message got seq {seq}, expected {first_seq}"
    return None


_EVENT = re.compile(rb"^event: (\S+)$", re.MULTILINE)


def check_stream(reply: Reply) -> str | None:
    if reply.status != 200:
        return f"status {reply.status}: {reply.body[:300]!r}"
    if reply.first_event is None:
        return "no SSE event"
    events = _EVENT.findall(reply.body)
    if not events or events[-1] != b"run.completed":
        return f"stream ended with {events[-1:]!r}"
    if events.count(b"message.completed") != len(TURN_ROLES) - 1:  # the user message is not one
        return f"{events.count(b'message.completed')} message.completed events"
    return None


def check_page(first_seq: int | None = None) -> Check:
    def check(reply: Reply) -> str | None:
        if reply.status != 200:
            return f"status {reply.status}: {reply.body[:300]!r}"
        try:
            page = json.loads(reply.body)
            items, cursor = page["items"], page["next_cursor"]
            seq = items[0]["seq"] if items and first_seq is not None else None
        except (ValueError, KeyError, TypeError) as exc:
            return f"unreadable page ({exc}): {reply.body[:300]!r}"
        if len(items) != PAGE or not cursor:
            return f"{len(items)} items, next_cursor {cursor!r}"
        if first_seq is not None and seq != first_seq:
            return f"first seq {seq}, expected {first_seq}"
        return None

    return check


# Results ---------------------------------------------------------------------------------------


@dataclass
class Phase:
    """One measured phase: latencies in seconds of the good answers, and what went wrong."""

    name: str
    ok: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    first_events: list[float] = field(default_factory=list)  # SSE: request sent -> first id:
    first_error: str | None = None
    ended_early: bool = False  # ran out of pre-made threads before --duration
    server_cpu: float | None = None  # share of one CPU during the phase
    generator_cpu: float | None = None
    # Summed over this phase's own requests where two phases take turns (the main thread's).
    server_cpu_seconds: float | None = None
    notes: dict[str, Any] = field(default_factory=dict)  # more for the JSON results

    def error(self, what: str) -> None:
        self.errors += 1
        if self.first_error is None:
            self.first_error = what

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    @property
    def server_cpu_us(self) -> float | None:
        """Server CPU time per good answer: steadier than latency on a machine with neighbours."""
        if not self.ok:
            return None
        if self.server_cpu_seconds is not None:
            return self.server_cpu_seconds / self.ok * 1e6
        if self.server_cpu is None:
            return None
        return self.server_cpu * self.seconds / self.ok * 1e6

    @staticmethod
    def stats(values: list[float]) -> dict[str, float]:
        ordered = sorted(values)
        return {
            "p50_ms": percentile(ordered, 50) * 1000,
            "p99_ms": percentile(ordered, 99) * 1000,
            "mean_ms": statistics.fmean(ordered) * 1000 if ordered else 0.0,
        }

    @property
    def latency(self) -> dict[str, float]:
        return self.stats(self.latencies)

    @property
    def first_event(self) -> dict[str, float]:
        return self.stats(self.first_events)

    def as_json(self) -> dict[str, Any]:
        figures: dict[str, Any] = {
            "ok": self.ok,
            "errors": self.errors,
            **(
                {"seconds": round(self.seconds, 3), "per_second": round(self.rate, 1)}
                if self.seconds
                else {}
            ),
            **{k: round(v, 3) for k, v in self.latency.items()},
            "server_cpu": round3(self.server_cpu),
            "server_cpu_us_per_request": round3(self.server_cpu_us),
            "generator_cpu": round3(self.generator_cpu),
        }
        if self.first_events:
            figures["first_event"] = {k: round(v, 3) for k, v in self.first_event.items()}
        if self.ended_early:
            figures["ended_early"] = True
        if self.first_error:
            figures["first_error"] = self.first_error
        return figures | self.notes


class Meter:
    """CPU each side used while a phase ran: the server near 100 % and the generator well below
    it means the server was the bottleneck, as it should be."""

    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid

    def __enter__(self) -> Meter:
        self._server = process_cpu_seconds(self.server_pid)
        self._own = own_cpu_seconds()
        self._wall = clock()
        return self

    def __exit__(self, *_: object) -> None:
        wall = clock() - self._wall
        server = process_cpu_seconds(self.server_pid)
        self.server_cpu = (
            (server - self._server) / wall
            if server is not None and self._server is not None
            else None
        )
        self.generator_cpu = (own_cpu_seconds() - self._own) / wall

    def apply(self, phase: Phase) -> Phase:
        phase.server_cpu, phase.generator_cpu = self.server_cpu, self.generator_cpu
        return phase


# Phases ----------------------------------------------------------------------------------------


Lane = tuple[Connection, deque[str]]  # a connection and the fresh threads it sends turns to


async def turns(name: str, lanes: list[Lane], seconds: float, *, sse: bool) -> Phase:
    """Every lane sends turns, one at a time, each to the next fresh thread of its pool, until
    the time is up (or a pool runs dry, which ends the phase for all). Answers that arrive after
    the end are not counted."""
    phase = Phase(name)
    check = check_stream if sse else check_turn
    started = clock()
    end = [started + seconds]

    async def lane(connection: Connection, pool: deque[str]) -> None:
        while clock() < end[0]:
            if not pool:
                end[0] = min(end[0], clock())
                phase.ended_early = True
                return
            path = f"/api/threads/{pool.popleft()}/messages"
            try:
                reply = await connection.call("POST", path, TURN_BODY, sse=sse)
            except Failure as exc:
                phase.error(str(exc))
                continue
            if reply.done > end[0]:
                return
            problem = check(reply)
            if problem:
                phase.error(problem)
                continue
            phase.ok += 1
            phase.latencies.append(reply.latency)
            if sse:
                assert reply.first_event is not None
                phase.first_events.append(reply.first_event - reply.sent)

    await asyncio.gather(*(lane(connection, pool) for connection, pool in lanes))
    phase.seconds = end[0] - started
    return phase


async def sequential(
    targets: list[tuple[str, Connection, str, Check]], count: int, warmup: int
) -> list[Phase]:
    """GET each target in turn (a, b, a, b, ...: slow drifts of the machine touch all alike),
    one request at a time, `warmup` rounds unmeasured and then `count`."""
    phases = [Phase(name) for name, *_ in targets]
    for number in range(warmup + count):
        for phase, (_, connection, path, check) in zip(phases, targets, strict=True):
            try:
                reply = await connection.call("GET", path)
            except Failure as exc:
                phase.error(str(exc))
                continue
            problem = check(reply)
            if problem:
                phase.error(problem)
            elif number >= warmup:
                phase.ok += 1
                phase.latencies.append(reply.latency)
    return phases  # no `seconds`: one client taking turns with another has no rate of its own


@dataclass
class LongThread:
    id: str
    messages: int  # how many it holds now


async def new_vs_long(
    connection: Connection,
    new_pool: deque[str],
    long_threads: list[LongThread],
    seconds: float,
    *,
    warmup_pairs: int,
    server_pid: int,
) -> tuple[Phase, Phase]:
    """The same turn on a fresh thread and on a long one in turn (new, long, new, long, ...:
    slow drifts of the machine touch both alike), one at a time on one connection,
    `warmup_pairs` pairs unmeasured and then pairs until the time is up. The long threads take
    turns too, so each grows by a few turns only. Around every turn the server's main-thread
    CPU time is read, so each kind gets its own CPU per turn although they share the phase."""
    new = Phase("Turn, new thread, beside a long one")
    long = Phase(f"Turn, {long_threads[0].messages:,}-message thread")
    held: list[int] = []  # what the long thread held before each measured turn
    end, pair = math.inf, 0  # the time runs from the first measured pair
    while clock() < end:
        if pair == warmup_pairs:
            end = clock() + seconds
        if not new_pool:
            new.ended_early = long.ended_early = True
            break
        thread = long_threads[pair % len(long_threads)]
        measured = pair >= warmup_pairs
        pair += 1
        for phase, thread_id, holds in (
            (new, new_pool.popleft(), 0),
            (long, thread.id, thread.messages),
        ):
            before = thread_cpu_seconds(server_pid)
            try:
                reply = await connection.call(
                    "POST", f"/api/threads/{thread_id}/messages", TURN_BODY
                )
            except Failure as exc:
                phase.error(str(exc))
                continue
            after = thread_cpu_seconds(server_pid)
            problem = check_turn(reply, first_seq=holds + 1)
            if problem:
                phase.error(problem)
                continue
            if phase is long:
                thread.messages += len(TURN_ROLES)
            if not measured:
                continue
            phase.ok += 1
            phase.latencies.append(reply.latency)
            if before is not None and after is not None:
                phase.server_cpu_seconds = (phase.server_cpu_seconds or 0.0) + after - before
            if phase is long:
                held.append(holds)
    if held:
        long.notes["messages_held"] = {
            "min": min(held),
            "mean": round(statistics.fmean(held)),
            "max": max(held),
            "threads": len(long_threads),
        }
    return new, long


# Setting up ------------------------------------------------------------------------------------


async def me(connection: Connection) -> uuid.UUID:
    """The id of the connection's user."""
    reply = await connection.call("GET", ME)
    if reply.status != 200:
        raise BenchError(f"{ME}: {reply.status} {reply.body[:300]!r}")
    return uuid.UUID(json.loads(reply.body)["id"])


async def user_id(port: int, token: str) -> uuid.UUID:
    connection = Connection(port, token)
    try:
        return await me(connection)
    finally:
        connection.close()


async def create_threads(connections: list[Connection], count: int) -> list[str]:
    """`count` new threads through POST /api/threads, over several connections."""
    made: list[str] = []
    remaining = [count]

    async def worker(connection: Connection) -> None:
        while remaining[0] > 0:
            remaining[0] -= 1
            reply = await connection.call("POST", "/api/threads", b"{}")
            if reply.status != 201:
                raise BenchError(f"POST /api/threads: {reply.status} {reply.body[:300]!r}")
            made.append(json.loads(reply.body)["id"])

    try:
        await asyncio.gather(*(worker(c) for c in connections))
    finally:
        for connection in connections:
            connection.close()
    return made


# The run ---------------------------------------------------------------------------------------


@dataclass
class Users:
    """Accounts and their tokens: `turns` send the turns (the first also the one-client phases
    and owns the long threads); `small` and `big` own 100 and 10,000 seeded threads."""

    turns: list[str]
    small: str
    big: str


# A server under test: the working tree's, or a --baseline revision's (bench/common.py).
Server = ServerUnderTest


def start_server(
    servers: contextlib.ExitStack,
    *,
    key: str,
    label: str,
    revision: Revision | None,
    data_dir: Path,
    cpu: int | None,
    args: argparse.Namespace,
) -> Server:
    return start_server_under_test(
        servers,
        key=key,
        label=label,
        revision=revision,
        data_dir=data_dir,
        cpu=cpu,
        timeout=args.startup_timeout,
        extra_env=args.env,
    )


class ServerRun:
    """One server's set-up and phases, one step at a time (with --baseline the caller takes
    the two servers' steps in turn), and its figures."""

    def __init__(self, server: Server, users: Users, args: argparse.Namespace, *, tag: str) -> None:
        self.server, self.users, self.args = server, users, args
        self.tag = tag  # what its lines start with when there are two servers (rich markup)
        self.phases: dict[str, Phase] = {}
        self.setup: dict[str, Any] = {}
        self.first = Connection(server.port, users.turns[0])
        self.small = Connection(server.port, users.small)
        self.big = Connection(server.port, users.big)
        self.long_threads: list[LongThread] = []

    async def set_up(self) -> None:
        """Not timed: every turn goes to a fresh, empty thread made here; the listings' and the
        long threads are seeded."""
        args, users, port = self.args, self.users, self.server.port
        database, duration, count = self.server.database, args.duration, len(users.turns)
        sequential_threads = math.ceil(duration * SEQUENTIAL_THREADS_PER_S)
        concurrent_threads = math.ceil(duration * CONCURRENT_THREADS_PER_S / count)
        warmup_threads = math.ceil(args.warmup * CONCURRENT_THREADS_PER_S / count)
        # The new-vs-long phase: half its turns go to new threads (it needs the SQLite file).
        pair_threads = (
            math.ceil(duration * SEQUENTIAL_THREADS_PER_S / 2) + LONG_WARMUP_PAIRS
            if database is not None
            else 0
        )
        first_extra = 2 * sequential_threads + pair_threads + WARMUP_SSE_TURNS
        wanted = [
            concurrent_threads + warmup_threads + (first_extra if number == 0 else 0)
            for number in range(count)
        ]

        started = clock()
        (history_thread,) = await create_threads([Connection(port, users.turns[0])], 1)
        if database is not None:
            # Straight into the SQLite file, shaped like the row the API just made: POST
            # /api/threads costs milliseconds each and tens of thousands may be needed.
            owners = [
                await me(self.first),
                *[await user_id(port, token) for token in users.turns[1:]],
            ]
            agent_id = check_storage(database, history_thread, owners[0])
            now = datetime.now(UTC)
            made = [
                seed_threads(database, owner, agent_id, n, newest=now, titled=False)
                for owner, n in zip(owners, wanted, strict=True)
            ]
            how = "seeded in SQLite"
        else:
            with console.status(
                f"{self.tag}Set-up: making {sum(wanted):,} threads through the API..."
            ):
                made = await asyncio.gather(
                    *(
                        create_threads(
                            [Connection(port, token) for _ in range(CREATE_CONNECTIONS_PER_USER)],
                            n,
                        )
                        for token, n in zip(users.turns, wanted, strict=True)
                    )
                )
            how = "made through the API"
        self.warm_pools = [deque(m[:warmup_threads]) for m in made]
        self.concurrent_pools = [
            deque(m[warmup_threads : warmup_threads + concurrent_threads]) for m in made
        ]
        rest = deque(made[0][warmup_threads + concurrent_threads :])
        self.sequential_pool = deque(rest.popleft() for _ in range(sequential_threads))
        self.sse_pool = deque(rest.popleft() for _ in range(sequential_threads))
        self.pair_pool = deque(rest.popleft() for _ in range(pair_threads))
        self.warm_sse_pool = rest
        self.history_thread = history_thread
        self.setup = {"turn_threads": sum(wanted), "turn_threads_made": how}
        if database is not None:
            with console.status(f"{self.tag}Set-up: seeding the listings and the long threads..."):
                seed_messages(database, history_thread, HISTORY_MESSAGES)
                long_ago = datetime.now(UTC) - timedelta(days=1)
                for connection, number in (
                    (self.small, SMALL_USER_THREADS),
                    (self.big, BIG_USER_THREADS),
                ):
                    owner = await me(connection)
                    seed_threads(database, owner, agent_id, number, newest=long_ago, titled=True)
                long_ids = seed_threads(
                    database,
                    owners[0],
                    agent_id,
                    math.ceil(duration * LONG_THREADS_PER_S),
                    newest=long_ago,
                    titled=False,
                )
                seed_conversations(database, long_ids, owners[0], agent_id, args.long_messages)
            self.long_threads = [LongThread(id_, args.long_messages) for id_ in long_ids]
            self.setup |= {
                "long_threads": len(long_ids),
                "long_thread_messages": args.long_messages,
            }
            seeded = (
                f"; {SMALL_USER_THREADS:,} and {BIG_USER_THREADS:,} threads for the listing "
                f"users, a thread of {HISTORY_MESSAGES:,} messages and {len(long_ids)} of "
                f"{args.long_messages:,} (tool-using turns) seeded"
            )
        else:
            seeded = "; the listing and long-thread phases need the SQLite file and are skipped"
        self.setup["seconds"] = round(clock() - started, 2)
        console.print(
            f"{self.tag}Set-up: {count + 2} accounts; {sum(wanted):,} empty threads for the turns "
            f"{how}{seeded}; {self.setup['seconds']:.1f} s.",
            highlight=False,
        )

    def lanes(self, pools: list[deque[str]]) -> list[Lane]:
        """--connections clients, spread over the turn users, each on its user's pool."""
        count = len(self.users.turns)
        return [
            (Connection(self.server.port, self.users.turns[n % count]), pools[n % count])
            for n in range(self.args.connections)
        ]

    async def warm_up(self) -> None:
        """--warmup seconds of concurrent turns, then 50 streamed turns."""
        args = self.args
        if not args.warmup:
            return
        with console.status(
            f"{self.tag}Warming up: {args.connections} clients for {args.warmup} s..."
        ):
            warm_lanes = self.lanes(self.warm_pools)
            warm = await turns("warm-up", warm_lanes, args.warmup, sse=False)
            warm_sse = await turns("warm-up SSE", [(self.first, self.warm_sse_pool)], 60, sse=True)
            for lane_connection, _ in warm_lanes:
                lane_connection.close()
        for phase in (warm, warm_sse):
            if phase.errors:
                raise BenchError(
                    f"{self.tag}{phase.errors} errors in the {phase.name}: {phase.first_error}"
                )

    async def _turns(self, key: str, name: str, lanes: list[Lane], *, sse: bool) -> None:
        duration = self.args.duration
        with console.status(f"{self.tag}{name} for {duration} s..."), Meter(self.server.pid) as m:
            phase = await turns(name, lanes, duration, sse=sse)
        self.phases[key] = m.apply(phase)
        line(phase, "turns", self.tag)

    async def turn_json(self) -> None:
        await self._turns(
            "turn_1_client", "Turn, 1 client, JSON", [(self.first, self.sequential_pool)], sse=False
        )

    async def turn_sse(self) -> None:
        await self._turns(
            "turn_1_client_sse", "Turn, 1 client, SSE", [(self.first, self.sse_pool)], sse=True
        )

    async def turns_concurrent(self) -> None:
        concurrent = self.lanes(self.concurrent_pools)
        name = f"Turns, {self.args.connections} clients, JSON"
        await self._turns("turns_concurrent", name, concurrent, sse=False)
        for connection, _ in concurrent:
            connection.close()

    async def new_and_long(self) -> None:
        if not self.long_threads:
            return
        what = f"new and {self.args.long_messages:,}-message threads in turn"
        with (
            console.status(f"{self.tag}Turns, 1 client, {what} for {self.args.duration} s..."),
            Meter(self.server.pid) as meter,
        ):
            new, long = await new_vs_long(
                self.first,
                self.pair_pool,
                self.long_threads,
                self.args.duration,
                warmup_pairs=LONG_WARMUP_PAIRS if self.args.warmup else 0,
                server_pid=self.server.pid,
            )
        self.phases["turn_new_thread"] = meter.apply(new)
        self.phases["turn_long_thread"] = meter.apply(long)
        for phase in (new, long):
            line(phase, None, self.tag)

    async def listings(self) -> None:
        if self.server.database is None:
            return
        args, tag = self.args, self.tag
        with console.status(f"{tag}GET /api/threads, {args.list_requests} requests per user..."):
            listed = await sequential(
                [
                    (
                        f"GET /api/threads, {SMALL_USER_THREADS:,} threads",
                        self.small,
                        "/api/threads",
                        check_page(),
                    ),
                    (
                        f"GET /api/threads, {BIG_USER_THREADS:,} threads",
                        self.big,
                        "/api/threads",
                        check_page(),
                    ),
                ],
                args.list_requests,
                args.list_warmup,
            )
        self.phases["list_small"], self.phases["list_big"] = listed
        path = f"/api/threads/{self.history_thread}/messages?order=desc&limit={PAGE}"
        with console.status(f"{tag}GET the newest {PAGE} of {HISTORY_MESSAGES:,} messages..."):
            (self.phases["messages"],) = await sequential(
                [
                    (
                        f"GET newest {PAGE} of {HISTORY_MESSAGES:,} messages",
                        self.first,
                        path,
                        check_page(HISTORY_MESSAGES),
                    )
                ],
                args.list_requests,
                args.list_warmup,
            )
        for key in ("list_small", "list_big", "messages"):
            line(self.phases[key], None, tag)

    def close(self) -> None:
        for connection in (self.first, self.small, self.big):
            connection.close()


# The measured steps, in order; each runs on every server before the next.
STEPS: tuple[Callable[[ServerRun], Awaitable[None]], ...] = (
    ServerRun.turn_json,
    ServerRun.turn_sse,
    ServerRun.turns_concurrent,
    ServerRun.new_and_long,
    ServerRun.listings,
)


async def measure(runs: list[ServerRun]) -> None:
    """Every server's set-up and warm-up, then each step on every server, the servers' order
    reversed from one step to the next (A B, B A, A B, ...), so that a slow drift of the
    machine touches both servers alike."""
    for server_run in runs:
        await server_run.set_up()
    for server_run in runs:
        await server_run.warm_up()
    for number, step in enumerate(STEPS):
        for server_run in runs if number % 2 == 0 else runs[::-1]:
            await step(server_run)
    for server_run in runs:
        server_run.close()


def line(phase: Phase, unit: str | None, tag: str = "") -> None:
    """One line per phase as it ends; the rate only where the phase ran for its own time."""
    figures = phase.first_event if phase.first_events else phase.latency
    what = "first event " if phase.first_events else ""
    rate = f"{phase.rate:7.1f} {unit}/s" if unit else " " * 15
    console.print(
        f"  {tag}{phase.name:<36} {rate}  {what}p50 {figures['p50_ms']:6.2f} ms  "
        f"p99 {figures['p99_ms']:6.2f} ms  err {phase.errors}"
        + (
            f"  CPU server {pct(phase.server_cpu)} load {pct(phase.generator_cpu)}"
            if phase.generator_cpu is not None
            else ""
        )
        + ("  (ran out of threads)" if phase.ended_early else ""),
        highlight=False,
        soft_wrap=True,
    )


def run(args: argparse.Namespace) -> int:
    server_cpu, generator_cpu = cpus(args.no_pin)
    pinning = (
        f"server on CPU {server_cpu}, generator on CPU {generator_cpu}"
        if server_cpu is not None
        else "not pinned"
    )
    external = "CONFIDE_DATABASE_URL" in args.env
    console.print(
        f"[bold]Confide chat benchmark[/]: {GENERATOR}, {args.duration} s per phase after "
        f"{args.warmup} s warm-up, {args.connections} clients in the concurrent phase "
        f"({pinning})."
    )
    console.print(
        "Server: `confide serve`, one uvicorn worker, "
        + ("database from --env" if external else "SQLite in a temp data dir")
        + ", the default agent on the scripted model (in-process), the tool-call log "
        + ("on (the default)" if tool_log(args.env) == "on" else "off (--env)")
        + ", CONFIDE_LOG_LEVEL=WARNING so per-request log lines do not dominate"
        + "".join(f", {name}={masked(value)}" for name, value in args.env.items())
        + ".",
        highlight=False,
    )
    with (
        tempfile.TemporaryDirectory(prefix="confide-bench-") as tmp,
        contextlib.ExitStack() as servers_up,  # closed first: the servers stop, then tmp goes
    ):
        revision = export_revision(args.baseline, Path(tmp) / "baseline") if args.baseline else None
        wanted: list[tuple[str, str, Revision | None]] = [("current", "working tree", None)]
        if revision is not None:
            wanted.append(("baseline", revision.short, revision))
        with console.status("Starting the server" + ("s..." if revision else "...")):
            servers = [
                start_server(
                    servers_up,
                    key=key,
                    label=label,
                    revision=rev,
                    data_dir=Path(tmp) / f"{key}-data",
                    cpu=server_cpu,
                    args=args,
                )
                for key, label, rev in wanted
            ]
        if revision is not None:
            console.print(
                f"Baseline: {revision.short} ({revision.subject}), its src/ exported with git "
                "archive and imported through PYTHONPATH, its own database migrated by its own "
                "code; the two servers take each phase in turn (A B, B A, ...).",
                highlight=False,
            )
        for server in servers:
            changed = " + uncommitted changes" if server.revision is None and src_changed() else ""
            console.print(
                f"  {server.label}: confide from {server.code['confide']}"
                + (f" ({git_commit()}{changed})" if server.revision is None else "")
                + (f", database at migration {server.schema}" if server.schema else ""),
                highlight=False,
            )
        if generator_cpu is not None:
            pin(generator_cpu)  # this thread: the generator
        try:
            with console.status(f"Set-up: registering {args.users + 2} accounts per server..."):
                # A token must outlive every phase of every server (and the set-up).
                needed = len(servers) * (5 * args.duration + 120) + args.warmup + 600
                width = max(len(server.label) for server in servers) + 2
                runs = []
                for server in servers:
                    tokens = [Account(server.base).token(needed) for _ in range(args.users + 2)]
                    users = Users(turns=tokens[:-2], small=tokens[-2], big=tokens[-1])
                    # "[label]" escaped, or rich would take it for markup.
                    tag = escape(f"[{server.label}]".ljust(width)) + " " if revision else ""
                    runs.append(ServerRun(server, users, args, tag=tag))
            with asyncio.Runner(loop_factory=uvloop_factory()) as runner:
                runner.run(measure(runs))
        finally:
            pin(None)
    return report(runs, args, pinning)


def tool_log(env: dict[str, str]) -> str:
    """ "on" unless --env turned the tool-call log off (it is on by default)."""
    value = env.get("CONFIDE_TOOL_LOG", "true").strip().lower()
    return "off" if value in ("0", "false", "no", "off", "f", "n") else "on"


GENERATOR = "built-in (asyncio streams" + (" + uvloop)" if uvloop_factory() else ")")


# Figures ---------------------------------------------------------------------------------------


def p50_ratio(over: Phase | None, under: Phase | None) -> float | None:
    if over is None or under is None or not under.latency["p50_ms"]:
        return None
    return over.latency["p50_ms"] / under.latency["p50_ms"]


def summary_of(phases: dict[str, Phase]) -> dict[str, Any]:
    """The headline figures of one server (None for a phase that did not run)."""
    one, sse, many = (
        phases["turn_1_client"],
        phases["turn_1_client_sse"],
        phases["turns_concurrent"],
    )
    new, long = phases.get("turn_new_thread"), phases.get("turn_long_thread")
    small, big, messages = phases.get("list_small"), phases.get("list_big"), phases.get("messages")

    def ms(phase: Phase | None, figure: str = "p50_ms") -> float | None:
        return None if phase is None else round(phase.latency[figure], 3)

    def cpu_ms(phase: Phase | None) -> float | None:
        return None if phase is None or not phase.server_cpu_us else phase.server_cpu_us / 1000

    new_cpu, long_cpu = cpu_ms(new), cpu_ms(long)
    return {
        "turn_p50_ms": ms(one),
        "turn_p99_ms": ms(one, "p99_ms"),
        "turns_per_s_1_client": round(one.rate, 1),
        "turns_per_s_concurrent": round(many.rate, 1),
        "turn_server_cpu_ms_1_client": round3(cpu_ms(one)),
        "turn_server_cpu_ms_concurrent": round3(cpu_ms(many)),
        "turn_concurrent_p50_ms": ms(many),
        "turn_concurrent_p99_ms": ms(many, "p99_ms"),
        "sse_first_event_p50_ms": round(sse.first_event["p50_ms"], 3),
        "sse_first_event_p99_ms": round(sse.first_event["p99_ms"], 3),
        "sse_turn_p50_ms": ms(sse),
        "turn_new_thread_p50_ms": ms(new),
        "turn_new_thread_p99_ms": ms(new, "p99_ms"),
        "turn_new_thread_server_cpu_ms": round3(new_cpu),
        "turn_long_thread_p50_ms": ms(long),
        "turn_long_thread_p99_ms": ms(long, "p99_ms"),
        "turn_long_thread_server_cpu_ms": round3(long_cpu),
        "long_new_ratio_p50": round3(p50_ratio(long, new)),
        "long_new_ratio_server_cpu": round3(long_cpu / new_cpu if long_cpu and new_cpu else None),
        "list_100_p50_ms": ms(small),
        "list_10000_p50_ms": ms(big),
        "list_ratio_p50": round3(p50_ratio(big, small)),
        "messages_newest_50_of_5000_p50_ms": ms(messages),
    }


def targets_of(phases: dict[str, Phase], args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    one, many = phases["turn_1_client"], phases["turns_concurrent"]
    targets: dict[str, dict[str, Any]] = {
        "turn_p50_ms": {
            "target": f"<= {TARGET_TURN_P50_MS:g}",
            "value": round(one.latency["p50_ms"], 3),
            "met": 0 < one.latency["p50_ms"] <= TARGET_TURN_P50_MS,
        },
        "turns_per_s": {
            "target": f">= {TARGET_TURNS_PER_S:g} with {args.connections} clients",
            "value": round(many.rate, 1),
            "met": many.rate >= TARGET_TURNS_PER_S,
        },
    }
    ratio = p50_ratio(phases.get("list_big"), phases.get("list_small"))
    if ratio is not None:
        targets["list_ratio_p50"] = {
            "target": f"< {TARGET_LIST_RATIO:g}",
            "value": round(ratio, 3),
            "met": ratio < TARGET_LIST_RATIO,
        }
    return targets


def held_range(long: Phase) -> str:
    """What the long threads held before the measured turns: "1,000-1,084"."""
    held = long.notes.get("messages_held")
    return f"{held['min']:,}-{held['max']:,}" if held else "-"


def details_table(
    server_run: ServerRun, targets: dict[str, dict[str, Any]], args: argparse.Namespace
) -> Table:
    """Every phase of one server, the targets marked."""
    phases = server_run.phases
    one, sse, many = (
        phases["turn_1_client"],
        phases["turn_1_client_sse"],
        phases["turns_concurrent"],
    )
    new, long = phases.get("turn_new_thread"), phases.get("turn_long_thread")
    small, big, messages = phases.get("list_small"), phases.get("list_big"), phases.get("messages")

    def mark(key: str) -> str:
        return "[green]✓ met[/]" if targets[key]["met"] else "[red]✗ missed[/]"

    table = Table(
        title="Confide chat"
        + (f" ({server_run.server.label})" if server_run.tag else "")
        + ": one uvicorn worker, "
        + ("database from --env" if "CONFIDE_DATABASE_URL" in args.env else "SQLite")
        + f", scripted model, tool-call log {tool_log(args.env)}",
        caption=f"For comparison, {REFERENCE}.",
    )
    table.add_column("Measure")
    for column in ("p50", "p99", "Mean", "Rate", "Errors", "Server CPU/op"):
        table.add_column(column, justify="right")
    table.add_column("Target")

    def row(label: str, phase: Phase, figures: dict[str, float], rate: str, target: str) -> None:
        table.add_row(
            label,
            f"{figures['p50_ms']:.2f} ms",
            f"{figures['p99_ms']:.2f} ms",
            f"{figures['mean_ms']:.2f} ms",
            rate,
            f"[red]{phase.errors}[/]" if phase.errors else "0",
            f"{phase.server_cpu_us / 1000:.2f} ms" if phase.server_cpu_us else "-",
            target,
        )

    early = " (ran out of threads)"
    row(
        f"Turn, 1 client, JSON{early if one.ended_early else ''}",
        one,
        one.latency,
        f"{one.rate:.0f} turns/s",
        f"p50 ≤ {TARGET_TURN_P50_MS:g} ms {mark('turn_p50_ms')}",
    )
    row(
        "Turn, 1 client, SSE: first event",
        sse,
        sse.first_event,
        f"{sse.rate:.0f} turns/s",
        "-",
    )
    row("Turn, 1 client, SSE: whole turn", sse, sse.latency, "", "-")
    row(
        f"Turns, {args.connections} clients, JSON{early if many.ended_early else ''}",
        many,
        many.latency,
        f"{many.rate:.0f} turns/s",
        f"≥ {TARGET_TURNS_PER_S:g} turns/s {mark('turns_per_s')}",
    )
    if new and long:
        ratio = p50_ratio(long, new)
        cpu = (
            long.server_cpu_us / new.server_cpu_us
            if long.server_cpu_us and new.server_cpu_us
            else None
        )
        row(
            f"Turn, new thread, beside a long one{early if new.ended_early else ''}",
            new,
            new.latency,
            "",
            "-",
        )
        row(
            f"Turn, thread of {held_range(long)} messages",
            long,
            long.latency,
            "",
            "long/new: p50 "
            + ("-" if ratio is None else f"{ratio:.2f}")
            + ", CPU "
            + ("-" if cpu is None else f"{cpu:.2f}"),
        )
    if small and big and messages and "list_ratio_p50" in targets:
        ratio = targets["list_ratio_p50"]["value"]
        row(small.name, small, small.latency, "", "-")
        row(
            big.name,
            big,
            big.latency,
            "",
            f"p50 ratio {ratio:.2f} < {TARGET_LIST_RATIO:g} {mark('list_ratio_p50')}",
        )
        row(messages.name, messages, messages.latency, "", "-")
    return table


def compared(args: argparse.Namespace) -> list[tuple[str, str, str, bool]]:
    """The figures set side by side with --baseline: summary key, label, unit, and whether
    higher is better."""
    long = f"{args.long_messages:,}-message thread"
    return [
        ("turn_p50_ms", "Turn, 1 client, JSON: p50", "ms", False),
        ("turn_p99_ms", "Turn, 1 client, JSON: p99", "ms", False),
        ("turn_server_cpu_ms_1_client", "Turn, 1 client, JSON: server CPU/turn", "ms", False),
        ("sse_first_event_p50_ms", "Turn, 1 client, SSE: first event p50", "ms", False),
        ("sse_turn_p50_ms", "Turn, 1 client, SSE: whole turn p50", "ms", False),
        ("turns_per_s_concurrent", f"Turns, {args.connections} clients: rate", "turns/s", True),
        ("turn_concurrent_p50_ms", f"Turns, {args.connections} clients: p50", "ms", False),
        (
            "turn_server_cpu_ms_concurrent",
            f"Turns, {args.connections} clients: server CPU/turn",
            "ms",
            False,
        ),
        ("turn_new_thread_p50_ms", "Turn, new thread (beside a long one): p50", "ms", False),
        ("turn_long_thread_p50_ms", f"Turn, {long}: p50", "ms", False),
        ("turn_long_thread_p99_ms", f"Turn, {long}: p99", "ms", False),
        ("turn_long_thread_server_cpu_ms", f"Turn, {long}: server CPU/turn", "ms", False),
        ("long_new_ratio_p50", "Long/new thread: p50 ratio", "", False),
        ("long_new_ratio_server_cpu", "Long/new thread: server CPU ratio", "", False),
        ("list_100_p50_ms", f"GET /api/threads, {SMALL_USER_THREADS:,} threads: p50", "ms", False),
        ("list_10000_p50_ms", f"GET /api/threads, {BIG_USER_THREADS:,} threads: p50", "ms", False),
        ("list_ratio_p50", "Listing: p50 ratio", "", False),
        (
            "messages_newest_50_of_5000_p50_ms",
            f"GET newest {PAGE} of {HISTORY_MESSAGES:,} messages: p50",
            "ms",
            False,
        ),
    ]


def comparison_of(
    current: dict[str, Any], baseline: dict[str, Any], args: argparse.Namespace
) -> dict[str, dict[str, Any]]:
    """Each compared figure of both servers and the change from the baseline, in percent."""
    figures = {}
    for key, _, _, higher in compared(args):
        now, then = current.get(key), baseline.get(key)
        change = (now - then) / then * 100 if now is not None and then else None
        figures[key] = {
            "current": now,
            "baseline": then,
            "change_pct": None if change is None else round(change, 1),
            "better": "higher" if higher else "lower",
        }
    return figures


def comparison_table(
    comparison: dict[str, dict[str, Any]], baseline: Server, args: argparse.Namespace
) -> Table:
    table = Table(
        title=f"Working tree vs {baseline.label}, in the same run",
        caption=f"Change: from {baseline.label} to the working tree, coloured from "
        f"{MARKED_CHANGE:.0%} on (green: better, red: worse).",
    )
    table.add_column("Measure")
    table.add_column("Working tree", justify="right")
    table.add_column(baseline.label, justify="right")
    table.add_column("Change", justify="right")

    def value(figure: float | None, unit: str) -> str:
        if figure is None:
            return "-"
        if unit == "ms":
            return f"{figure:.2f} ms"
        return f"{figure:.0f} {unit}" if unit else f"{figure:.2f}"

    for key, label, unit, higher in compared(args):
        figures = comparison[key]
        change = figures["change_pct"]
        shown_change = "-" if change is None else f"{change:+.1f} %"
        if change is not None and abs(change) >= MARKED_CHANGE * 100:
            better = (change > 0) == higher
            shown_change = f"[{'green' if better else 'red'}]{shown_change}[/]"
        table.add_row(
            label, value(figures["current"], unit), value(figures["baseline"], unit), shown_change
        )
    return table


def report(runs: list[ServerRun], args: argparse.Namespace, pinning: str) -> int:
    current, baseline = runs[0], (runs[1] if len(runs) > 1 else None)
    summaries = {r.server.key: summary_of(r.phases) for r in runs}
    targets = {r.server.key: targets_of(r.phases, args) for r in runs}
    console.print(details_table(current, targets["current"], args))
    comparison = None
    if baseline is not None:
        comparison = comparison_of(summaries["current"], summaries["baseline"], args)
        console.print(comparison_table(comparison, baseline.server, args))
    for server_run in runs:
        for phase in server_run.phases.values():
            if phase.first_error:
                console.print(
                    f"[red]{server_run.tag}{phase.name}: {phase.errors} errors, the first:[/] "
                    f"{phase.first_error}",
                    highlight=False,
                )
            if phase.ended_early:
                console.print(
                    f"[yellow]{server_run.tag}{phase.name} ran out of pre-made threads; "
                    + (f"measured over {phase.seconds:.1f} s.[/]" if phase.seconds else "[/]"),
                    highlight=False,
                )
            if phase.generator_cpu is not None and phase.generator_cpu > 0.8:
                console.print(
                    f"[yellow]{server_run.tag}{phase.name}: the load generator used "
                    f"{phase.generator_cpu:.0%} of its CPU and may have been the bottleneck.[/]",
                    highlight=False,
                )

    figures: dict[str, Any] = {
        "benchmark": "chat",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "generator": GENERATOR,
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "connections": args.connections,
        "users": args.users,
        "list_requests": args.list_requests,
        "long_messages": args.long_messages,
        "turn": TURN_TEXT,
        "server": "confide serve, 1 uvicorn worker, CONFIDE_LOG_LEVEL=WARNING, "
        + f"tool-call log {tool_log(args.env)}, "
        + ("database from --env" if "CONFIDE_DATABASE_URL" in args.env else "SQLite"),
        "server_env": {name: masked(value) for name, value in args.env.items()},
        "server_code": current.server.as_json(),
        "pinning": pinning,
        "machine": machine(),
        "setup": current.setup,
        "summary": summaries["current"],
        "targets": targets["current"],
        "reference": REFERENCE,
        "phases": {key: phase.as_json() for key, phase in current.phases.items()},
    }
    if baseline is not None:
        figures["baseline"] = {
            "server_code": baseline.server.as_json(),
            "setup": baseline.setup,
            "summary": summaries["baseline"],
            "targets": targets["baseline"],
            "phases": {key: phase.as_json() for key, phase in baseline.phases.items()},
        }
        figures["comparison"] = comparison
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    console.print(f"Figures written to {shown(args.output)}.", highlight=False)

    errors = sum(phase.errors for r in runs for phase in r.phases.values())
    if errors:
        console.print(f"[bold red]FAILED:[/] {errors} requests did not get a good answer.")
        return 1
    # The targets are the working tree's; a baseline that misses them fails nothing.
    missed = [key for key, target in targets["current"].items() if not target["met"]]
    if args.check_targets and missed:
        console.print(f"[bold red]FAILED:[/] targets missed: {', '.join(missed)}.")
        return 1
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Latency and throughput of an agent turn, time to the first SSE event, and "
        "listing costs, on one uvicorn worker with the scripted model."
    )
    parser.add_argument(
        "--duration", type=int, default=10, help="seconds per turn phase (default 10)"
    )
    parser.add_argument(
        "--connections",
        type=int,
        default=32,
        help="concurrent clients (keep-alive connections) in the throughput phase (32)",
    )
    parser.add_argument(
        "--users",
        type=int,
        default=4,
        help="accounts the concurrent clients are spread over (4; each costs two password hashes)",
    )
    parser.add_argument(
        "--warmup", type=int, default=2, help="warm-up seconds of concurrent turns (default 2)"
    )
    parser.add_argument(
        "--list-requests",
        type=int,
        default=500,
        help="measured requests per listing (default 500, after --list-warmup)",
    )
    parser.add_argument(
        "--list-warmup", type=int, default=50, help="unmeasured requests per listing first (50)"
    )
    parser.add_argument(
        "--long-messages",
        type=int,
        default=LONG_MESSAGES,
        help=f"messages in each long thread of the new-vs-long phase ({LONG_MESSAGES:,}; whole "
        "turns of 4)",
    )
    parser.add_argument(
        "--baseline",
        metavar="REV",
        help="also benchmark the server of this git revision (e.g. HEAD~1), in the same run, "
        "phase by phase beside the working tree's, and compare the two",
    )
    parser.add_argument(
        "--no-pin",
        action="store_true",
        help="do not pin the server and the generator to separate CPUs",
    )
    parser.add_argument(
        "--check-targets",
        action="store_true",
        help="exit with status 1 when a target is missed (errors always do)",
    )
    parser.add_argument(
        "--startup-timeout", type=float, default=60, help="seconds to wait for the server (60)"
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="CONFIDE_NAME=VALUE",
        help="a setting for the server (repeatable), e.g. CONFIDE_TOOL_LOG=false",
    )
    parser.add_argument(
        "--output", type=Path, default=DEFAULT_OUTPUT, help="JSON results file (bench/results/)"
    )
    args = parser.parse_args(argv)
    args.env = parse_env(parser, args.env)
    if args.duration < 1 or args.connections < 1 or args.users < 1 or args.warmup < 0:
        parser.error("--duration, --connections and --users must be >= 1, --warmup >= 0")
    if args.list_requests < 1 or args.list_warmup < 0:
        parser.error("--list-requests must be >= 1, --list-warmup >= 0")
    if args.long_messages < 4 or args.long_messages % 4:
        parser.error("--long-messages must be a positive multiple of 4 (whole turns)")
    if args.baseline and "CONFIDE_DATABASE_URL" in args.env:
        # Each server migrates a database of its own; they cannot share one from --env.
        parser.error("--baseline needs the embedded SQLite database: drop CONFIDE_DATABASE_URL")
    args.users = min(args.users, args.connections)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, interrupt)  # `kill` stops the server too, like Ctrl-C
    try:
        return run(args)
    except BenchError as exc:
        console.print("[bold red]Benchmark failed:[/]", end=" ")
        console.print(str(exc), highlight=False, markup=False)
        return 1
    except KeyboardInterrupt:
        stopped = "the servers were" if args.baseline else "the server was"
        console.print(f"[yellow]Interrupted; {stopped} stopped.[/]")
        return 130


if __name__ == "__main__":
    sys.exit(main())
