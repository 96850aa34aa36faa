"""The load of `hosts_bench.py`: signed-in users, fresh threads seeded for them, clients that
send turns round-robin over the serve processes (a client-side spread standing in for a load
balancer), and 1,000 SSE streams held at once.

The HTTP client is chat_bench.py's (raw asyncio streams, keep-alive HTTP/1.1, one request in
flight per connection); the held streams read their chunks one by one to time every event.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import secrets
import statistics
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from chat_bench import TURN_ANSWER, TURN_ROLES, Connection, Failure, Reply
from chat_seed import check_storage, seed_threads
from common import HOST, BenchError, percentile

clock = time.perf_counter

TURN_TIMEOUT = 30.0  # a turn taking longer is stuck (p99 stays under 10 s even at 128 clients)
SIGNUP_CONCURRENCY = 8
END_GRACE_SECONDS = 3.0  # after a closed loop's last window, for the answers on their way

# The turns. The tool turn is chat_bench's: two model steps, one tool call, four stored
# messages, 12 events. The plain turns differ only in how many words the answer streams (the
# scripted model quotes the message back), so their difference is the cost of events alone.
TOOL_TURN = "add 5 and 3"
PLAIN_SHORT = "ok"
PLAIN_LONG = " ".join(["xy"] * 66)  # quoted back whole (the quote stops at 200 characters)


def body(text: str) -> bytes:
    return json.dumps({"content": text}).encode()


# Accounts ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class User:
    id: uuid.UUID
    token: str


async def sign_up(ports: list[int], count: int) -> list[User]:
    """`count` users registered and signed in (bearer), spread over the serve processes."""
    users: list[User] = []
    numbers = deque(range(count))

    async def one(client: httpx.AsyncClient, number: int) -> None:
        base = f"http://{HOST}:{ports[number % len(ports)]}"
        email = f"hosts-{secrets.token_hex(5)}@example.org"
        password = secrets.token_urlsafe(18)
        made = await client.post(
            f"{base}/api/auth/register", json={"email": email, "password": password}
        )
        if made.status_code != 201:
            raise BenchError(f"register: {made.status_code} {made.text[:300]}")
        signed = await client.post(
            f"{base}/api/auth/login", json={"email": email, "password": password}
        )
        if signed.status_code != 200:
            raise BenchError(f"login: {signed.status_code} {signed.text[:300]}")
        users.append(User(uuid.UUID(made.json()["id"]), signed.json()["access_token"]))

    async def worker() -> None:
        async with httpx.AsyncClient(timeout=30) as client:
            while numbers:
                await one(client, numbers.popleft())

    await asyncio.gather(*(worker() for _ in range(min(SIGNUP_CONCURRENCY, count))))
    return users


# Threads -----------------------------------------------------------------------------------------


class ThreadSeeder:
    """Fresh, empty threads for users, made in bulk behind the API's back, shaped exactly like
    one `POST /api/threads` just made (a copy of that row, with a new id and owner): the API
    costs milliseconds a thread, and a measured phase uses thousands."""

    def __init__(self, *, database_url: str | None, sqlite: Path | None) -> None:
        self.database_url = database_url
        self.sqlite = sqlite
        self.templates: dict[str, str] = {}  # agent id -> template thread id
        self._conn: asyncpg.Connection | None = None
        self._columns: list[str] = []

    async def prepare(self, port: int, user: User, agent_id: str | None = None) -> None:
        """Make the template thread of an agent through the API and check its row."""
        payload = {} if agent_id is None else {"agent_id": agent_id}
        async with httpx.AsyncClient(timeout=30) as client:
            made = await client.post(
                f"http://{HOST}:{port}/api/threads",
                json=payload,
                headers={"Authorization": f"Bearer {user.token}"},
            )
        if made.status_code != 201:
            raise BenchError(f"POST /api/threads: {made.status_code} {made.text[:300]}")
        thread = made.json()
        key = agent_id or "default"
        self.templates[key] = thread["id"]
        if self.sqlite is not None:
            self.templates[key + ":agent"] = check_storage(self.sqlite, thread["id"], user.id)
            return
        if self._conn is None:
            assert self.database_url is not None
            self._conn = await asyncpg.connect(
                self.database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
            )
            rows = await self._conn.fetch(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_name = 'threads' AND table_schema = current_schema()"
            )
            self._columns = [r["column_name"] for r in rows if r["column_name"] not in ("id",)]
            if "owner_id" not in self._columns:
                raise BenchError(f"threads has no owner_id column: {self._columns}")
        count = await self._conn.fetchval(
            "SELECT message_count FROM threads WHERE id = $1", uuid.UUID(thread["id"])
        )
        if count != 0:
            raise BenchError(f"the template thread holds {count} messages, expected 0")

    async def make(
        self, users: list[User], per_user: int, agent_id: str | None = None
    ) -> dict[uuid.UUID, list[str]]:
        """`per_user` new threads for each user."""
        key = agent_id or "default"
        made: dict[uuid.UUID, list[str]] = {user.id: [] for user in users}
        if per_user <= 0:
            return made
        if self.sqlite is not None:
            now = datetime.now(UTC)
            for user in users:
                made[user.id] = seed_threads(
                    self.sqlite,
                    user.id,
                    self.templates[key + ":agent"],
                    per_user,
                    newest=now,
                    titled=False,
                )
            return made
        assert self._conn is not None
        others = [c for c in self._columns if c != "owner_id"]
        copied = ", ".join(f't."{c}"' for c in others)
        named = ", ".join(f'"{c}"' for c in others)
        rows = await self._conn.fetch(
            f"INSERT INTO threads (id, owner_id, {named}) "  # noqa: S608 (our own column names)
            f"SELECT gen_random_uuid(), o.owner, {copied} "
            "FROM threads t, unnest($2::uuid[]) AS o(owner), generate_series(1, $3) "
            "WHERE t.id = $1 RETURNING id, owner_id",
            uuid.UUID(self.templates[key]),
            [user.id for user in users],
            per_user,
        )
        for row in rows:
            made[row["owner_id"]].append(str(row["id"]))
        return made

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None


class Counters:
    """How much work the phase asked of the shared services: PostgreSQL transactions
    (pg_stat_database; each backend reports at most once a second, so a phase's count is
    approximate) and Redis commands (INFO stats, exact; the SAQ workers' idle polls count too,
    a few dozen a second)."""

    def __init__(self, *, database_url: str | None, redis_port: int | None) -> None:
        self.database_url = database_url
        self.redis_port = redis_port
        self._pg: asyncpg.Connection | None = None
        self._redis: Any = None

    async def read(self) -> dict[str, int]:
        found: dict[str, int] = {}
        if self.database_url is not None:
            if self._pg is None:
                self._pg = await asyncpg.connect(
                    self.database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
                )
            row = await self._pg.fetchrow(
                "SELECT xact_commit + xact_rollback AS xacts FROM pg_stat_database "
                "WHERE datname = current_database()"
            )
            found["pg_transactions"] = int(row["xacts"])
        if self.redis_port is not None:
            if self._redis is None:
                from redis.asyncio import Redis

                self._redis = Redis(host=HOST, port=self.redis_port)
            info = await self._redis.info("stats")
            found["redis_commands"] = int(info["total_commands_processed"])
        return found

    async def running_runs(self) -> int:
        """Runs the database holds as still running."""
        if self.database_url is None:
            return 0
        await self.read()  # connects
        assert self._pg is not None
        return int(await self._pg.fetchval("SELECT count(*) FROM runs WHERE status = 'running'"))

    async def close(self) -> None:
        if self._pg is not None:
            await self._pg.close()
            self._pg = None
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None


# Checking answers --------------------------------------------------------------------------------


def _messages(reply: Reply) -> tuple[str | None, list[dict[str, Any]], str | None]:
    """(run status, messages, problem)."""
    if reply.status != 200:
        return None, [], f"status {reply.status}"
    try:
        result = json.loads(reply.body)
        return result["run"]["status"], result["messages"], None
    except (ValueError, KeyError, TypeError) as exc:
        return None, [], f"unreadable answer ({type(exc).__name__})"


def _duplicated(messages: list[dict[str, Any]]) -> bool:
    ids = [m.get("id") for m in messages]
    return len(set(ids)) < len(ids)


def check_tool_turn(reply: Reply) -> str | None:
    """None for a completed "add 5 and 3" turn; otherwise the kind of error, a short label so
    errors can be counted by kind: "status 503", "run cancelled", "event twice" (a message
    delivered twice), "wrong answer"; the turn loops add "stuck" (no answer within
    TURN_TIMEOUT) and "socket error"."""
    status, messages, problem = _messages(reply)
    if problem:
        return problem
    if status != "completed":
        return f"run {status}"
    if _duplicated(messages):
        return "event twice"
    roles = [m["role"] for m in messages]
    if roles != TURN_ROLES or messages[-1].get("content") != TURN_ANSWER:
        return "wrong answer"
    return None


def check_plain_turn(reply: Reply) -> str | None:
    status, messages, problem = _messages(reply)
    if problem:
        return problem
    if status != "completed":
        return f"run {status}"
    if _duplicated(messages):
        return "event twice"
    if [m["role"] for m in messages] != ["user", "assistant"]:
        return "wrong answer"
    return None


_ID_LINE = re.compile(rb"^id: (\d+)$", re.MULTILINE)
_EVENT_LINE = re.compile(rb"^event: (\S+)$", re.MULTILINE)


def check_sse_turn(reply: Reply) -> str | None:
    if reply.status != 200:
        return f"status {reply.status}"
    if reply.first_event is None:
        return "no SSE event"
    ids = [int(i) for i in _ID_LINE.findall(reply.body)]
    if ids != list(range(1, len(ids) + 1)):
        return "event ids not 1, 2, 3..."
    events = _EVENT_LINE.findall(reply.body)
    if not events or events[-1] != b"run.completed":
        return "no run.completed"
    return None


def count_events(reply: Reply) -> int:
    return len(_ID_LINE.findall(reply.body))


# Measured phases ---------------------------------------------------------------------------------


@dataclass
class Measured:
    """One measured phase: latencies in seconds of the good answers, errors counted by kind."""

    name: str
    clients: int
    ok: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    first_events: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    first_error: str | None = None
    reused_threads: int = 0  # turns sent to a thread used before (a pool ran dry)
    cpu: dict[str, float] = field(default_factory=dict)  # cores, from CpuMeter.shares
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    events_per_turn: int | None = None
    per_turn: dict[str, float] = field(default_factory=dict)  # Counters' growth per good turn

    def count(self, before: dict[str, int], after: dict[str, int]) -> None:
        if self.ok:
            self.per_turn = {k: (after[k] - before[k]) / self.ok for k in before if k in after}

    def error(self, kind: str, detail: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1
        if self.first_error is None:
            self.first_error = detail

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def ms(self, q: float, values: list[float] | None = None) -> float:
        ordered = sorted(self.latencies if values is None else values)
        return percentile(ordered, q) * 1000

    def server_cpu_ms_per_turn(self) -> float | None:
        """Server CPU (every serve and worker process) per good answer."""
        used = self.cpu_seconds.get("serve", 0.0) + self.cpu_seconds.get("worker", 0.0)
        return used / self.ok * 1000 if self.ok and self.cpu_seconds else None

    def total_cpu_ms_per_turn(self) -> float | None:
        """Every process of the set-up per good answer: Confide's, PostgreSQL's (the whole
        server's, other databases included) and Redis's."""
        keys = ("serve", "worker", "postgres", "redis")
        used = sum(self.cpu_seconds.get(k, 0.0) for k in keys)
        return used / self.ok * 1000 if self.ok and self.cpu_seconds else None

    def as_json(self) -> dict[str, Any]:
        figures: dict[str, Any] = {
            "clients": self.clients,
            "ok": self.ok,
            "seconds": round(self.seconds, 3),
            "per_second": round(self.rate, 1),
            "p50_ms": round(self.ms(50), 3),
            "p99_ms": round(self.ms(99), 3),
            "mean_ms": round(statistics.fmean(self.latencies) * 1000, 3)
            if self.latencies
            else None,
            "errors": self.errors,
            "cpu_cores": {k: round(v, 3) for k, v in self.cpu.items()},
            "server_cpu_ms_per_turn": _round(self.server_cpu_ms_per_turn()),
            "total_cpu_ms_per_turn": _round(self.total_cpu_ms_per_turn()),
        }
        if self.first_events:
            figures["first_event_p50_ms"] = round(self.ms(50, self.first_events), 3)
            figures["first_event_p99_ms"] = round(self.ms(99, self.first_events), 3)
        if self.first_error:
            figures["first_error"] = self.first_error
        if self.reused_threads:
            figures["reused_threads"] = self.reused_threads
        if self.events_per_turn is not None:
            figures["events_per_turn"] = self.events_per_turn
        if self.per_turn:
            figures["per_turn"] = {k: round(v, 2) for k, v in self.per_turn.items()}
        return figures


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


class Client:
    """A signed-in user with a keep-alive connection to every serve process, each request to
    the next process in turn (offset by the client's number, so the clients start spread), and
    the fresh threads it sends its turns to."""

    def __init__(self, ports: list[int], user: User, number: int) -> None:
        self.user = user
        self.connections = [Connection(port, user.token) for port in ports]
        self._next = number
        self.pool: deque[str] = deque()
        self.used: deque[str] = deque()

    def connection(self) -> Connection:
        connection = self.connections[self._next % len(self.connections)]
        self._next += 1
        return connection

    def thread(self) -> tuple[str, bool]:
        """A fresh thread, or (the pool ran dry) the least recently used one: (id, reused)."""
        if self.pool:
            thread = self.pool.popleft()
            self.used.append(thread)
            return thread, False
        thread = self.used.popleft()
        self.used.append(thread)
        return thread, True

    def close(self) -> None:
        for connection in self.connections:
            connection.close()


async def call(
    connection: Connection, method: str, path: str, payload: bytes | None, *, sse: bool = False
) -> Reply:
    """One request with the turn time-out: a stuck answer is an error, not a stalled client."""
    try:
        async with asyncio.timeout(TURN_TIMEOUT):
            return await connection.call(method, path, payload, sse=sse)
    except TimeoutError:
        connection.close()  # half-read: never reuse it
        raise Failure(f"{method} {path}: no answer within {TURN_TIMEOUT:g} s") from None


@dataclass(frozen=True)
class Window:
    """A measured window of a closed loop: its bounds and whatever `snapshot` took at each."""

    start: float
    end: float
    before: Any
    after: Any


async def closed_loop(
    clients: list[Client],
    payload: bytes,
    check: Callable[[Reply], str | None],
    *,
    name: str,
    warmup: float,
    windows: int,
    seconds: float,
    snapshot: Callable[[], Awaitable[Any]],
    sse: bool = False,
) -> list[tuple[Measured, Window]]:
    """Every client sends turns without a pause, one at a time, each to its next fresh thread:
    `warmup` seconds, then `windows` measured windows of `seconds` each, back to back, so every
    window sees the steady state (no burst of clients starting together). A turn counts in the
    window in which its answer arrived; a failure in the one in which it failed. `snapshot()`
    is taken at every window's bounds (CPU and counters)."""
    started = clock()
    bounds = [started + warmup + number * seconds for number in range(windows + 1)]
    end = bounds[-1]
    answers: list[tuple[float, float, float | None, bool]] = []  # done, latency, first, reused
    failures: list[tuple[float, str, str]] = []

    async def lane(client: Client) -> None:
        while clock() < end:
            thread, reused = client.thread()
            path = f"/api/threads/{thread}/messages"
            try:
                reply = await call(client.connection(), "POST", path, payload, sse=sse)
            except Failure as exc:
                kind = "stuck" if "no answer within" in str(exc) else "socket error"
                failures.append((clock(), kind, str(exc)))
                continue
            problem = check(reply)
            if problem:
                failures.append((reply.done, problem, f"{path}: {problem}: {reply.body[:300]!r}"))
                continue
            first = reply.first_event - reply.sent if reply.first_event is not None else None
            answers.append((reply.done, reply.latency, first, reused))

    async def take_snapshots() -> list[tuple[float, Any]]:
        taken = []
        for bound in bounds:
            await asyncio.sleep(max(bound - clock(), 0.0))
            taken.append((clock(), await snapshot()))
        return taken

    lanes = asyncio.gather(*(lane(client) for client in clients))
    try:
        snapshots = await take_snapshots()
    except BaseException:  # interrupted: stop the clients before going
        lanes.cancel()
        with contextlib.suppress(BaseException):
            await lanes
        raise
    # The answers still on their way at the end are not counted; a turn stuck for good (its
    # run never ends) is not waited for: the configuration's left-running check finds it.
    _, unfinished = await asyncio.wait({lanes}, timeout=END_GRACE_SECONDS)
    if unfinished:
        lanes.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await lanes
    measured_windows = []
    for number in range(windows):
        (start, before), (stop, after) = snapshots[number], snapshots[number + 1]
        measured = Measured(f"{name}, w{number + 1}" if windows > 1 else name, len(clients))
        measured.seconds = stop - start
        for done, latency, first, reused in answers:
            if start <= done < stop:
                measured.ok += 1
                measured.latencies.append(latency)
                measured.reused_threads += reused
                if first is not None:
                    measured.first_events.append(first)
        for moment, kind, detail in failures:
            if start <= moment < stop or (number == windows - 1 and moment >= stop):
                measured.error(kind, detail)
        measured_windows.append((measured, Window(start, stop, before, after)))
    return measured_windows


async def sequential_sse(
    measured: Measured,
    client: Client,
    count: int,
    payload: bytes,
    *,
    tick: Callable[[float], None] | None = None,
) -> Measured:
    """`count` streamed turns from one client, one after another: the time from the request
    sent to the first SSE event (the chunk holding its `id:` and `data:` lines: the server
    writes each event whole, in one chunk), and the whole turn."""
    started = clock()
    for number in range(count):
        if tick is not None:
            tick(number)
        thread, reused = client.thread()
        path = f"/api/threads/{thread}/messages"
        try:
            reply = await call(client.connection(), "POST", path, payload, sse=True)
        except Failure as exc:
            measured.error("stuck", str(exc))
            continue
        problem = check_sse_turn(reply)
        if problem:
            measured.error(problem, f"{path}: {problem}: {reply.body[:300]!r}")
            continue
        assert reply.first_event is not None
        measured.ok += 1
        measured.reused_threads += reused
        measured.latencies.append(reply.latency)
        measured.first_events.append(reply.first_event - reply.sent)
    measured.seconds = clock() - started
    return measured


# Held streams ------------------------------------------------------------------------------------


@dataclass
class Stream:
    """One held SSE stream: when it was sent, when each event arrived, how it ended."""

    kind: str = "post"  # "post": POST .../messages; "follow": GET /api/runs/{id}/events
    sent: float = 0.0
    first: float | None = None
    last: float | None = None
    done: float | None = None
    events: int = 0
    max_gap: float = 0.0  # the longest wait between two events, once the first was in
    terminal: str | None = None
    error: str | None = None
    run_id: str | None = None


_TERMINAL = re.compile(rb"^event: (run\.completed|run\.failed|run\.cancelled)$", re.MULTILINE)
_RUN_ID = re.compile(rb'"run_id":"([0-9a-f-]{36})"')


async def hold_stream(
    port: int,
    token: str,
    path: str,
    payload: bytes | None,
    stream: Stream,
    seconds: float,
    *,
    on_first: Callable[[Stream], None] | None = None,
) -> None:
    """A streamed request (POST `payload` to `path`, or GET it), its answer read chunk by chunk
    to its end, every event timed; `on_first` is called once the first event is in (its run
    id known)."""
    method = "POST" if payload is not None else "GET"
    request = (
        f"{method} {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
        f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n"
        + (
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
            if payload is not None
            else ""
        )
        + "Connection: close\r\n\r\n"
    ).encode() + (payload or b"")
    writer = None
    try:
        async with asyncio.timeout(seconds):
            stream.sent = stream.last = clock()
            reader, writer = await asyncio.open_connection(HOST, port)
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            if status != 200:
                stream.error = f"status {status}"
                return
            if b"transfer-encoding: chunked" not in head.lower():
                stream.error = "not chunked"
                return
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0], 16)
                if size == 0:
                    break
                chunk = (await reader.readexactly(size + 2))[:-2]
                events = chunk.count(b"\ndata: ") + chunk.startswith(b"data: ")
                if not events:
                    continue
                now = clock()
                if stream.first is not None:
                    stream.max_gap = max(stream.max_gap, now - stream.last)
                stream.last = now
                stream.events += events
                if stream.first is None:
                    stream.first = now
                    found = _RUN_ID.search(chunk)
                    stream.run_id = found.group(1).decode() if found else None
                    if on_first is not None:
                        on_first(stream)
                ended = _TERMINAL.search(chunk)
                if ended:
                    stream.terminal = ended.group(1).decode()
            stream.done = clock()
            if stream.terminal is None:
                stream.error = "ended without a final event"
    except TimeoutError:
        stream.error = "timed out"
    except asyncio.IncompleteReadError:
        stream.error = "cut off (incomplete chunked response)"
    except (OSError, ValueError) as exc:
        stream.error = type(exc).__name__
    finally:
        if writer is not None:
            writer.close()


def stream_summary(streams: list[Stream], *, starve_seconds: float) -> dict[str, Any]:
    """How the held streams fared. A stream is starved if it never got an event, or if, once
    its first event was in, it waited longer than `starve_seconds` for the next one; the wait
    for the first event is reported on its own."""
    firsts = sorted(s.first - s.sent for s in streams if s.first is not None)
    gaps = sorted(s.max_gap for s in streams if s.first is not None)
    durations = sorted(s.done - s.sent for s in streams if s.done is not None)
    # Open at once: the most streams between their request and their end at any moment.
    moments = sorted(
        [(s.sent, 1) for s in streams if s.sent]
        + [((s.done or s.last or s.sent), -1) for s in streams if s.sent]
    )
    open_now = peak = 0
    for _, step in moments:
        open_now += step
        peak = max(peak, open_now)
    errors: dict[str, int] = {}
    for s in streams:
        if s.error:
            errors[s.error] = errors.get(s.error, 0) + 1
    kinds = {}
    for kind in ("post", "follow"):
        of_kind = [s for s in streams if s.kind == kind]
        kinds[kind] = {
            "streams": len(of_kind),
            "completed": sum(1 for s in of_kind if s.terminal == "run.completed"),
            "first_event_p50_ms": round(
                percentile(sorted(s.first - s.sent for s in of_kind if s.first), 50) * 1000, 1
            ),
        }
    return {
        "streams": len(streams),
        "by_kind": kinds,
        "peak_open": peak,
        "with_events": sum(1 for s in streams if s.events),
        "completed": sum(1 for s in streams if s.terminal == "run.completed"),
        "other_endings": sum(1 for s in streams if s.terminal not in (None, "run.completed")),
        "events": sum(s.events for s in streams),
        "starved": sum(1 for s in streams if s.first is None or s.max_gap > starve_seconds),
        "first_event_over_starve_seconds": sum(
            1 for s in streams if s.first is not None and s.first - s.sent > starve_seconds
        ),
        "starve_seconds": starve_seconds,
        "first_event_p50_ms": round(percentile(firsts, 50) * 1000, 1),
        "first_event_p99_ms": round(percentile(firsts, 99) * 1000, 1),
        "first_event_max_ms": round(firsts[-1] * 1000, 1) if firsts else None,
        "max_gap_p50_ms": round(percentile(gaps, 50) * 1000, 1),
        "max_gap_p99_ms": round(percentile(gaps, 99) * 1000, 1),
        "max_gap_max_ms": round(gaps[-1] * 1000, 1) if gaps else None,
        "stream_p50_s": round(percentile(durations, 50), 2),
        "stream_max_s": round(durations[-1], 2) if durations else None,
        "errors": errors,
    }
