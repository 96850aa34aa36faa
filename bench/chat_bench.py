"""What does one agent turn cost? Latency and throughput of an "add 5 and 3" turn (two model
steps, one tool call, four stored messages) on the scripted model, time to the first SSE event,
and the cost of listing threads and a long thread's newest messages, on one real uvicorn process.

Run with `.venv/bin/python bench/chat_bench.py`; `--help` lists the options. The load generator
is built in: raw asyncio streams (uvloop when installed), keep-alive HTTP/1.1, POST with JSON
bodies, chunked SSE responses. See bench/README.md for what each phase does and how to read it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import re
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections import deque
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from common import (
    HOST,
    ME,
    RESULTS,
    Account,
    BenchError,
    confide_server,
    cpus,
    free_port,
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
REQUEST_TIMEOUT = 30.0
# uvicorn closes a keep-alive connection idle for 5 s; one idle longer than this is reopened.
IDLE_REOPEN_SECONDS = 4.0
CREATE_CONNECTIONS_PER_USER = 8
# How SQLAlchemy's DateTime stores a value on SQLite (naive UTC, see confide.db.base).
SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S.%f"

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


def check_turn(reply: Reply) -> str | None:
    if reply.status != 200:
        return f"status {reply.status}: {reply.body[:300]!r}"
    try:
        result = json.loads(reply.body)
        status = result["run"]["status"]
        messages = result["messages"]
        roles = [m["role"] for m in messages]
    except (ValueError, KeyError, TypeError) as exc:
        return f"unreadable answer ({exc}): {reply.body[:300]!r}"
    if status != "completed":
        return f"run {status}: {reply.body[:300]!r}"
    if roles != TURN_ROLES or messages[-1]["content"] != TURN_ANSWER:
        return f"messages {roles}, answer {messages[-1].get('content') if messages else None!r}"
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
        if self.server_cpu is None or not self.ok:
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
        return figures


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


def sqlite_time(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).strftime(SQLITE_DATETIME)


def check_storage(database: Path, thread_id: str, owner: uuid.UUID) -> str:
    """The row the API made for `thread_id` is stored as the seeding below writes rows (ids as
    32 hex digits, naive UTC datetimes as text), so seeded rows read back like real ones.
    Returns its agent id (the default agent's)."""
    with closing(sqlite3.connect(database, timeout=30)) as db:
        row = db.execute(
            "SELECT owner_id, agent_id, created_at, message_count FROM threads WHERE id = ?",
            (uuid.UUID(thread_id).hex,),
        ).fetchone()
    if row is None or row[0] != owner.hex or row[3] != 0:
        raise BenchError(f"{database}: thread {thread_id} is not stored as expected ({row!r})")
    try:
        datetime.strptime(row[2], SQLITE_DATETIME)
    except (TypeError, ValueError) as exc:
        raise BenchError(f"{database}: unexpected datetime format {row[2]!r}") from exc
    agent_id: str = row[1]
    return agent_id


def seed_threads(
    database: Path,
    owner: uuid.UUID,
    agent_id: str,
    count: int,
    *,
    newest: datetime,
    titled: bool,
) -> list[str]:
    """`count` threads of `owner`, written straight into the server's SQLite file (WAL mode
    lets us while it runs), one millisecond apart in activity, from `newest` back. Titled ones
    look used (a title, two messages counted though none stored: the listing reads neither
    table); untitled ones are as POST /api/threads makes them. Returns their ids."""
    rows = []
    for number in range(count):
        moment = sqlite_time(newest - timedelta(milliseconds=number))
        title = f"Seeded thread {count - number}" if titled else None
        rows.append((uuid.uuid4(), owner.hex, agent_id, title, moment, moment, 2 if titled else 0))
    with closing(sqlite3.connect(database, timeout=30)) as db, db:
        db.executemany(
            "INSERT INTO threads (id, owner_id, agent_id, title, created_at, last_activity_at,"
            " message_count) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(row[0].hex, *row[1:]) for row in rows],
        )
    return [str(row[0]) for row in rows]


def seed_messages(database: Path, thread_id: str, count: int) -> None:
    """`count` messages (seq 1..count, user and assistant in turn) in an existing empty thread,
    and its message count to match."""
    thread = uuid.UUID(thread_id).hex
    first = datetime.now(UTC) - timedelta(hours=2)
    filler = (
        "Could you go over the figures once more and tell me which of them still look off to "
        "you, and why? I would like to understand the reasoning, not only the result."
    )
    rows = []
    for seq in range(1, count + 1):
        role = "user" if seq % 2 else "assistant"
        content = f"Message {seq}. {filler}"
        moment = sqlite_time(first + timedelta(milliseconds=seq))
        rows.append((uuid.uuid4().hex, thread, seq, role, content, moment))
    with closing(sqlite3.connect(database, timeout=30)) as db, db:
        db.executemany(
            "INSERT INTO messages (id, thread_id, seq, role, content, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )
        db.execute(
            "UPDATE threads SET message_count = ?, title = ? WHERE id = ?",
            (count, "Seeded long thread", thread),
        )


# The run ---------------------------------------------------------------------------------------


@dataclass
class Users:
    """Accounts and their tokens: `turns` send the turns (the first also the one-client phases
    and owns the long thread); `small` and `big` own 100 and 10,000 seeded threads."""

    turns: list[str]
    small: str
    big: str


async def measure(
    port: int, server_pid: int, database: Path | None, users: Users, args: argparse.Namespace
) -> dict[str, Any]:
    duration, count = args.duration, len(users.turns)
    sequential_threads = math.ceil(duration * SEQUENTIAL_THREADS_PER_S)
    concurrent_threads = math.ceil(duration * CONCURRENT_THREADS_PER_S / count)
    warmup_threads = math.ceil(args.warmup * CONCURRENT_THREADS_PER_S / count)
    first_extra = 2 * sequential_threads + WARMUP_SSE_TURNS
    wanted = [
        concurrent_threads + warmup_threads + (first_extra if number == 0 else 0)
        for number in range(count)
    ]

    # Set-up, not timed: every turn goes to a fresh, empty thread made here.
    setup_started = clock()
    first = Connection(port, users.turns[0])
    small, big = Connection(port, users.small), Connection(port, users.big)
    (history_thread,) = await create_threads([Connection(port, users.turns[0])], 1)
    if database is not None:
        # Straight into the SQLite file, shaped like the row the API just made: POST
        # /api/threads costs milliseconds each and tens of thousands may be needed.
        owners = [await me(first), *[await user_id(port, token) for token in users.turns[1:]]]
        agent_id = check_storage(database, history_thread, owners[0])
        now = datetime.now(UTC)
        made = [
            seed_threads(database, owner, agent_id, n, newest=now, titled=False)
            for owner, n in zip(owners, wanted, strict=True)
        ]
        how = "seeded in SQLite"
    else:
        with console.status(f"Set-up: making {sum(wanted):,} threads through the API..."):
            made = await asyncio.gather(
                *(
                    create_threads(
                        [Connection(port, token) for _ in range(CREATE_CONNECTIONS_PER_USER)], n
                    )
                    for token, n in zip(users.turns, wanted, strict=True)
                )
            )
        how = "made through the API"
    warm_pools = [deque(m[:warmup_threads]) for m in made]
    concurrent_pools = [
        deque(m[warmup_threads : warmup_threads + concurrent_threads]) for m in made
    ]
    rest = made[0][warmup_threads + concurrent_threads :]
    sequential_pool = deque(rest[:sequential_threads])
    sse_pool = deque(rest[sequential_threads : 2 * sequential_threads])
    warm_sse_pool = deque(rest[2 * sequential_threads :])
    setup: dict[str, Any] = {"turn_threads": sum(wanted), "turn_threads_made": how}
    if database is not None:
        with console.status("Set-up: seeding the listing and the long thread..."):
            seed_messages(database, history_thread, HISTORY_MESSAGES)
            long_ago = datetime.now(UTC) - timedelta(days=1)
            for connection, number in ((small, SMALL_USER_THREADS), (big, BIG_USER_THREADS)):
                owner = await me(connection)
                seed_threads(database, owner, agent_id, number, newest=long_ago, titled=True)
        seeded = (
            f"; {SMALL_USER_THREADS:,} and {BIG_USER_THREADS:,} threads for the listing users "
            f"and a thread of {HISTORY_MESSAGES:,} messages seeded"
        )
    else:
        seeded = "; the listing phases need the SQLite file and are skipped"
    setup["seconds"] = round(clock() - setup_started, 2)
    console.print(
        f"Set-up: {count + 2} accounts; {sum(wanted):,} empty threads for the turns {how}"
        f"{seeded}; {setup['seconds']:.1f} s.",
        highlight=False,
    )

    def lanes(pools: list[deque[str]]) -> list[Lane]:
        """--connections clients, spread over the turn users, each on its user's pool."""
        return [
            (Connection(port, users.turns[n % count]), pools[n % count])
            for n in range(args.connections)
        ]

    phases: dict[str, Phase] = {}
    if args.warmup:
        with console.status(f"Warming up: {args.connections} clients for {args.warmup} s..."):
            warm_lanes = lanes(warm_pools)
            warm = await turns("warm-up", warm_lanes, args.warmup, sse=False)
            warm_sse = await turns("warm-up SSE", [(first, warm_sse_pool)], 60, sse=True)
            for lane_connection, _ in warm_lanes:
                lane_connection.close()
        for phase in (warm, warm_sse):
            if phase.errors:
                raise BenchError(f"{phase.errors} errors in the {phase.name}: {phase.first_error}")

    async def measured(key: str, name: str, lanes_: list[Lane], *, sse: bool) -> None:
        with console.status(f"{name} for {duration} s..."), Meter(server_pid) as meter:
            phase = await turns(name, lanes_, duration, sse=sse)
        phases[key] = meter.apply(phase)
        line(phase, "turns")

    await measured("turn_1_client", "Turn, 1 client, JSON", [(first, sequential_pool)], sse=False)
    await measured("turn_1_client_sse", "Turn, 1 client, SSE", [(first, sse_pool)], sse=True)
    concurrent = lanes(concurrent_pools)
    await measured(
        "turns_concurrent", f"Turns, {args.connections} clients, JSON", concurrent, sse=False
    )
    for connection, _ in concurrent:
        connection.close()

    if database is not None:
        with console.status(f"GET /api/threads, {args.list_requests} requests per user..."):
            listed = await sequential(
                [
                    (
                        f"GET /api/threads, {SMALL_USER_THREADS:,} threads",
                        small,
                        "/api/threads",
                        check_page(),
                    ),
                    (
                        f"GET /api/threads, {BIG_USER_THREADS:,} threads",
                        big,
                        "/api/threads",
                        check_page(),
                    ),
                ],
                args.list_requests,
                args.list_warmup,
            )
        phases["list_small"], phases["list_big"] = listed
        path = f"/api/threads/{history_thread}/messages?order=desc&limit={PAGE}"
        with console.status(f"GET the newest {PAGE} of {HISTORY_MESSAGES:,} messages..."):
            (phases["messages"],) = await sequential(
                [
                    (
                        f"GET newest {PAGE} of {HISTORY_MESSAGES:,} messages",
                        first,
                        path,
                        check_page(HISTORY_MESSAGES),
                    )
                ],
                args.list_requests,
                args.list_warmup,
            )
        for key in ("list_small", "list_big", "messages"):
            line(phases[key], None)
    for connection in (first, small, big):
        connection.close()
    return {"phases": phases, "setup": setup}


def line(phase: Phase, unit: str | None) -> None:
    """One line per phase as it ends; the rate only where the phase ran for its own time."""
    figures = phase.first_event if phase.first_events else phase.latency
    what = "first event " if phase.first_events else ""
    rate = f"{phase.rate:7.1f} {unit}/s" if unit else " " * 15
    console.print(
        f"  {phase.name:<36} {rate}  {what}p50 {figures['p50_ms']:6.2f} ms  "
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
    with tempfile.TemporaryDirectory(prefix="confide-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
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
        with confide_server(data_dir, free_port(), server_cpu, args.startup_timeout, args.env) as (
            base,
            pid,
        ):
            port = int(base.rsplit(":", 1)[1])
            if generator_cpu is not None:
                pin(generator_cpu)  # this thread: the generator
            try:
                with console.status(f"Set-up: registering {args.users + 2} accounts..."):
                    needed = 4 * args.duration + args.warmup + 600
                    accounts = [Account(base) for _ in range(args.users + 2)]
                    tokens = [account.token(needed) for account in accounts]
                users = Users(turns=tokens[:-2], small=tokens[-2], big=tokens[-1])
                database = None if external else data_dir / "confide.db"
                with asyncio.Runner(loop_factory=uvloop_factory()) as runner:
                    results = runner.run(measure(port, pid, database, users, args))
            finally:
                pin(None)
        return report(results, args, pinning)


def tool_log(env: dict[str, str]) -> str:
    """ "on" unless --env turned the tool-call log off (it is on by default)."""
    value = env.get("CONFIDE_TOOL_LOG", "true").strip().lower()
    return "off" if value in ("0", "false", "no", "off", "f", "n") else "on"


GENERATOR = "built-in (asyncio streams" + (" + uvloop)" if uvloop_factory() else ")")


def report(results: dict[str, Any], args: argparse.Namespace, pinning: str) -> int:
    phases: dict[str, Phase] = results["phases"]
    one, sse, many = (
        phases["turn_1_client"],
        phases["turn_1_client_sse"],
        phases["turns_concurrent"],
    )
    small, big, messages = phases.get("list_small"), phases.get("list_big"), phases.get("messages")
    ratio = (
        big.latency["p50_ms"] / small.latency["p50_ms"]
        if small and big and small.latency["p50_ms"]
        else None
    )
    targets = {
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
    if ratio is not None:
        targets["list_ratio_p50"] = {
            "target": f"< {TARGET_LIST_RATIO:g}",
            "value": round(ratio, 3),
            "met": ratio < TARGET_LIST_RATIO,
        }

    def mark(key: str) -> str:
        met = targets[key]["met"]
        return "[green]✓ met[/]" if met else "[red]✗ missed[/]"

    table = Table(
        title="Confide chat: one uvicorn worker, "
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
    if small and big and messages and ratio is not None:
        row(small.name, small, small.latency, "", "-")
        row(
            big.name,
            big,
            big.latency,
            "",
            f"p50 ratio {ratio:.2f} < {TARGET_LIST_RATIO:g} {mark('list_ratio_p50')}",
        )
        row(messages.name, messages, messages.latency, "", "-")
    console.print(table)
    for phase in phases.values():
        if phase.first_error:
            console.print(
                f"[red]{phase.name}: {phase.errors} errors, the first:[/] {phase.first_error}",
                highlight=False,
            )
    for phase in (one, sse, many):
        if phase.ended_early:
            console.print(
                f"[yellow]{phase.name} ran out of pre-made threads after {phase.seconds:.1f} s; "
                "measured over that time.[/]"
            )
        if phase.generator_cpu is not None and phase.generator_cpu > 0.8:
            console.print(
                f"[yellow]{phase.name}: the load generator used {phase.generator_cpu:.0%} of its "
                "CPU and may have been the bottleneck.[/]"
            )

    figures = {
        "benchmark": "chat",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "generator": GENERATOR,
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "connections": args.connections,
        "users": args.users,
        "list_requests": args.list_requests,
        "turn": TURN_TEXT,
        "server": "confide serve, 1 uvicorn worker, CONFIDE_LOG_LEVEL=WARNING, "
        + f"tool-call log {tool_log(args.env)}, "
        + ("database from --env" if "CONFIDE_DATABASE_URL" in args.env else "SQLite"),
        "server_env": {name: masked(value) for name, value in args.env.items()},
        "pinning": pinning,
        "machine": machine(),
        "setup": results["setup"],
        "summary": {
            "turn_p50_ms": round(one.latency["p50_ms"], 3),
            "turn_p99_ms": round(one.latency["p99_ms"], 3),
            "turns_per_s_1_client": round(one.rate, 1),
            "turns_per_s_concurrent": round(many.rate, 1),
            "turn_server_cpu_ms_1_client": round3(
                one.server_cpu_us / 1000 if one.server_cpu_us else None
            ),
            "turn_server_cpu_ms_concurrent": round3(
                many.server_cpu_us / 1000 if many.server_cpu_us else None
            ),
            "turn_concurrent_p50_ms": round(many.latency["p50_ms"], 3),
            "turn_concurrent_p99_ms": round(many.latency["p99_ms"], 3),
            "sse_first_event_p50_ms": round(sse.first_event["p50_ms"], 3),
            "sse_first_event_p99_ms": round(sse.first_event["p99_ms"], 3),
            "list_100_p50_ms": round(small.latency["p50_ms"], 3) if small else None,
            "list_10000_p50_ms": round(big.latency["p50_ms"], 3) if big else None,
            "list_ratio_p50": round3(ratio),
            "messages_newest_50_of_5000_p50_ms": round(messages.latency["p50_ms"], 3)
            if messages
            else None,
        },
        "targets": targets,
        "reference": REFERENCE,
        "phases": {key: phase.as_json() for key, phase in phases.items()},
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    console.print(f"Figures written to {shown(args.output)}.", highlight=False)

    errors = sum(phase.errors for phase in phases.values())
    if errors:
        console.print(f"[bold red]FAILED:[/] {errors} requests did not get a good answer.")
        return 1
    missed = [key for key, target in targets.items() if not target["met"]]
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
        console.print("[yellow]Interrupted; the server was stopped.[/]")
        return 130


if __name__ == "__main__":
    sys.exit(main())
