"""Many hosts: what PostgreSQL + Redis cost beside the embedded SQLite set-up, how chat
throughput grows with `confide serve` processes sharing one database and one Redis, how long a
streamed answer waits when its run executes on another process (`confide worker`), whether one
process holds 1,000 SSE streams without starving any, and what the Redis fan-out costs per
event.

Run with `.venv/bin/python bench/hosts_bench.py` (about 7 minutes; `--quick`: about 3);
`--help` lists the options and bench/README.md says what each phase does and how to read it.
Every configuration gets a fresh database (created, `confide db upgrade`, dropped after), a
fresh private redis-server, real `python -m confide serve` / `worker` / `mock-llm` processes,
a warm-up, then measured rounds; everything is stopped at the end, also on Ctrl-C or `kill`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import resource
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from common import BenchError, git_commit, machine, shown, src_changed, uvloop_factory
from hosts_cluster import DEFAULT_POSTGRES, Cluster, CpuMeter, CpuSnapshot, Layout
from hosts_load import (
    PLAIN_LONG,
    PLAIN_SHORT,
    TOOL_TURN,
    Client,
    Counters,
    Measured,
    Stream,
    ThreadSeeder,
    User,
    Window,
    body,
    call,
    check_plain_turn,
    check_sse_turn,
    check_tool_turn,
    closed_loop,
    count_events,
    hold_stream,
    sequential_sse,
    sign_up,
    stream_summary,
)

console = Console(width=None if sys.stdout.isatty() else 140)

TARGET_PG_OVER_SQLITE = 0.80  # one process on PostgreSQL + Redis keeps >= 80 % of SQLite's
# Threads seeded per second of a phase, per client count: a guess for the warm-up (it only has
# to be high enough; a pool that runs dry reuses its threads and the row says so), then the
# warm-up's own rate, with room.
WARMUP_RATE_GUESS = 800.0
SEED_MARGIN = 1.5
SSE_WARMUP_TURNS = 20
STREAM_USERS = 10
STREAM_WORDS = 40  # the mock model's drip answer (DRIP_TEXT): one delta per word
LLM_AGENT = "llm"
# A scaling step that adds less than this share of throughput is where scaling stopped.
SCALING_STOPS_BELOW = 1.10
LEFT_RUNNING_WAIT_SECONDS = 10


@dataclass(frozen=True)
class Plan:
    """What a configuration measures."""

    layout: Layout
    clients: tuple[int, ...] = ()  # tool-turn throughput at these client counts
    fanout: bool = False  # plain short and long turns (the per-event cost)
    sse: bool = False  # one client's streamed turns: time to the first event
    streams: bool = False  # the held streams


def plans(args: argparse.Namespace) -> list[Plan]:
    many = tuple(args.clients)
    few = (args.clients[0],)
    return [
        Plan(
            Layout("sqlite", "1 serve · SQLite", postgres=False, redis=False),
            clients=few,
            sse=True,
        ),
        Plan(
            Layout("pg", "1 serve · PG", redis=False),
            clients=few,
            fanout=True,
            sse=True,
        ),
        Plan(Layout("pg-redis-1", "1 serve · PG+Redis"), clients=many, fanout=True, sse=True),
        Plan(Layout("pg-redis-2", "2 serves · PG+Redis", serves=2), clients=many, sse=True),
        Plan(Layout("pg-redis-4", "4 serves · PG+Redis", serves=4), clients=many),
        Plan(
            Layout("external", "1 web + 1 worker · PG+Redis", workers=1, jobs="external"),
            clients=many,
            sse=True,
        ),
        Plan(
            Layout(
                "streams",
                f"1 serve · PG+Redis · mock LLM · CONFIDE_JOB_CONCURRENCY={args.stream_runs}",
                mock_llm=True,
                env={"CONFIDE_JOB_CONCURRENCY": str(min(args.stream_runs, 1000))},
            ),
            streams=True,
        ),
    ]


# Progress ----------------------------------------------------------------------------------------


class Display:
    """The overall progress bar (one step per measured phase) and the running phase's."""

    def __init__(self, steps: int) -> None:
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self.overall = self.progress.add_task("All configurations", total=steps)
        self.current: TaskID | None = None

    def __enter__(self) -> Display:
        self.progress.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.progress.stop()

    def config(self, label: str) -> None:
        self.progress.update(self.overall, description=f"[bold]{label}[/]")

    @contextlib.contextmanager
    def phase(self, description: str, total: float) -> Iterator[Callable[[float], None]]:
        """A bar for one phase; the caller moves it with the function it gets."""
        task = self.progress.add_task(f"  {description}", total=total)

        def move(done: float) -> None:
            self.progress.update(task, completed=done)

        try:
            yield move
        finally:
            self.progress.remove_task(task)

    def step_done(self) -> None:
        self.progress.advance(self.overall)


@contextlib.contextmanager
def timed_bar(display: Display, description: str, seconds: float) -> Iterator[None]:
    """A phase bar that fills with the time (a ticker task on the running loop)."""
    with display.phase(description, seconds) as move:
        started = time.perf_counter()

        async def tick() -> None:
            while True:
                move(min(time.perf_counter() - started, seconds))
                await asyncio.sleep(0.2)

        ticker = asyncio.get_running_loop().create_task(tick())
        try:
            yield
        finally:
            ticker.cancel()


# One configuration -------------------------------------------------------------------------------


@dataclass
class ConfigResult:
    plan: Plan
    cluster: dict[str, Any] = field(default_factory=dict)
    phases: dict[str, list[Measured]] = field(default_factory=dict)  # name -> rounds
    streams: dict[str, Any] | None = None
    log_problems: dict[str, list[str]] = field(default_factory=dict)
    seconds: float = 0.0
    left_running: int = 0  # runs still running after the load (see Runner.left_running)

    def add(self, name: str, measured: Measured) -> None:
        self.phases.setdefault(name, []).append(measured)


def line(tag: str, measured: Measured, unit: str = "turns/s") -> None:
    cpu = measured.cpu
    first = (
        f"  first event p50 {measured.ms(50, measured.first_events):6.2f} ms "
        f"p99 {measured.ms(99, measured.first_events):6.2f} ms"
        if measured.first_events
        else ""
    )
    shares = "  ".join(
        f"{name} {cpu[key]:.2f}"
        for name, key in (
            ("serve", "serve"),
            ("worker", "worker"),
            ("pg", "postgres"),
            ("redis", "redis"),
            ("gen", "generator"),
            ("others", "others"),
        )
        if cpu.get(key)
    )
    busy = (
        f"  machine {cpu['machine_busy_share'] * cpu['cpus']:.2f}/{cpu['cpus']:.0f} "
        f"steal {cpu['machine_steal_share']:.0%}"
        if "machine_busy_share" in cpu
        else ""
    )
    errors = measured.error_count
    console.print(
        f"  [cyan]{tag}[/] {measured.name:<28} {measured.rate:7.1f} {unit}  "
        f"p50 {measured.ms(50):7.2f} ms  p99 {measured.ms(99):7.2f} ms{first}  "
        + (f"[red]err {errors}[/]" if errors else "err 0")
        + (f"  CPU cores: {shares}{busy}" if shares else "")
        + "".join(
            f"  {label} {measured.per_turn[key]:.1f}/turn"
            for key, label in (("pg_transactions", "pg xacts"), ("redis_commands", "redis cmds"))
            if key in measured.per_turn
        )
        + (
            f"  [yellow]{measured.reused_threads} reused threads[/]"
            if measured.reused_threads
            else ""
        ),
        highlight=False,
        soft_wrap=True,
    )


class Runner:
    """Measures one configuration on its running cluster."""

    def __init__(
        self, plan: Plan, cluster: Cluster, args: argparse.Namespace, display: Display
    ) -> None:
        self.plan, self.cluster, self.args, self.display = plan, cluster, args, display
        self.result = ConfigResult(plan)
        self.tag = f"[{plan.layout.key}]"
        self.seeder = ThreadSeeder(database_url=cluster.database_url, sqlite=cluster.sqlite_path)
        self.counters = Counters(
            database_url=cluster.database_url,
            redis_port=cluster.redis.port if cluster.redis else None,
        )
        self.meter = CpuMeter(cluster)
        self.users: list[User] = []

    async def run(self) -> ConfigResult:
        plan, args, ports = self.plan, self.args, self.cluster.ports
        wanted = max(
            [
                *plan.clients,
                args.clients[0] if plan.fanout else 0,
                1 if plan.sse else 0,
                STREAM_USERS if plan.streams else 0,
            ]
        )
        with self.display.phase(f"Signing up {wanted} users", 1):
            self.users = await sign_up(ports, wanted)
            await self.seeder.prepare(ports[0], self.users[0])
        try:
            for clients in plan.clients:
                await self.tool_turns(clients)
            if plan.fanout:
                await self.fanout()
            if plan.sse:
                await self.sse_one_client()
            if plan.streams:
                await self.held_streams()
            self.result.left_running = await self.left_running()
        finally:
            await self.seeder.close()
            await self.counters.close()
        return self.result

    async def left_running(self) -> int:
        """Runs still `running` once the load has stopped and every answer had time to come
        (a run nobody will ever finish: its client waited for nothing)."""
        count = 0
        for _ in range(LEFT_RUNNING_WAIT_SECONDS * 2):
            if self.cluster.sqlite_path is not None:
                with contextlib.closing(sqlite3.connect(self.cluster.sqlite_path)) as db:
                    count = db.execute(
                        "SELECT count(*) FROM runs WHERE status = 'running'"
                    ).fetchone()[0]
            else:
                count = await self.counters.running_runs()
            if not count:
                return 0
            await asyncio.sleep(0.5)
        console.print(
            f"  [red]{self.tag} {count} runs still running {LEFT_RUNNING_WAIT_SECONDS} s after "
            "the load stopped[/]",
            highlight=False,
        )
        return int(count)

    def clients(self, count: int) -> list[Client]:
        return [Client(self.cluster.ports, self.users[n], n) for n in range(count)]

    async def seed(
        self,
        clients: list[Client],
        turns_wanted: float,
        agent: str | None = None,
    ) -> None:
        per_client = math.ceil(turns_wanted / len(clients)) + 2
        made = await self.seeder.make([c.user for c in clients], per_client, agent)
        for client in clients:
            client.pool = deque(made[client.user.id])
            client.used.clear()

    async def snapshot(self) -> tuple[CpuSnapshot, dict[str, int]]:
        return self.meter.snapshot(), await self.counters.read()

    def finish(self, key: str, measured: Measured, window: Window, events: int) -> None:
        """A measured window's CPU and counters, its line, and its place in the results."""
        (cpu_before, counted_before), (cpu_after, counted_after) = window.before, window.after
        measured.cpu, measured.cpu_seconds = self.meter.between(cpu_before, cpu_after)
        measured.count(counted_before, counted_after)
        measured.events_per_turn = events
        line(self.tag, measured)
        self.result.add(key, measured)
        self.display.step_done()

    async def tool_turns(self, count: int) -> None:
        """`count` clients sending tool turns: --warmup seconds, then --rounds windows of
        --duration seconds, back to back."""
        args = self.args
        clients = self.clients(count)
        total = args.warmup + args.rounds * args.duration
        try:
            await self.seed(clients, WARMUP_RATE_GUESS * total * SEED_MARGIN)
            with timed_bar(
                self.display,
                f"Turns, {count} clients: {args.warmup:g} s warm-up + {args.rounds} x "
                f"{args.duration:g} s",
                total,
            ):
                windows = await closed_loop(
                    clients,
                    body(TOOL_TURN),
                    check_tool_turn,
                    name=f"tool turn, {count} clients",
                    warmup=args.warmup,
                    windows=args.rounds,
                    seconds=args.duration,
                    snapshot=self.snapshot,
                )
            self.cluster.check_alive()
            for measured, window in windows:
                self.finish(f"turns_{count}", measured, window, 12)
        finally:
            for client in clients:
                client.close()

    async def events_of(self, client: Client, text: str) -> int:
        """How many events one streamed turn of `text` has (checked, on a fresh thread)."""
        thread, _ = client.thread()
        reply = await call(
            client.connection(), "POST", f"/api/threads/{thread}/messages", body(text), sse=True
        )
        problem = check_sse_turn(reply)
        if problem:
            raise BenchError(f"{self.tag} a streamed turn of {text[:20]!r}: {problem}")
        return count_events(reply)

    async def fanout(self) -> None:
        """Plain turns with a short and a long answer in turn (short, long, short, long ...),
        --rounds of each, each after its own warm-up, with the first client count."""
        args = self.args
        clients = self.clients(args.clients[0])
        warmup = max(args.warmup / 2, 1.0)
        try:
            await self.seed(clients, 4)
            short_events = await self.events_of(clients[0], PLAIN_SHORT)
            long_events = await self.events_of(clients[0], PLAIN_LONG)
            for number in range(args.rounds):
                for kind, text, events in (
                    ("short", PLAIN_SHORT, short_events),
                    ("long", PLAIN_LONG, long_events),
                ):
                    total = warmup + args.duration
                    await self.seed(clients, WARMUP_RATE_GUESS * total * SEED_MARGIN)
                    with timed_bar(
                        self.display,
                        f"Plain turns, {kind} answer, round {number + 1}/{args.rounds}",
                        total,
                    ):
                        ((measured, window),) = await closed_loop(
                            clients,
                            body(text),
                            check_plain_turn,
                            name=f"plain {kind} ({events} ev), r{number + 1}",
                            warmup=warmup,
                            windows=1,
                            seconds=args.duration,
                            snapshot=self.snapshot,
                        )
                    self.cluster.check_alive()
                    self.finish(f"plain_{kind}", measured, window, events)
        finally:
            for client in clients:
                client.close()

    async def sse_one_client(self) -> None:
        """One client's streamed tool turns, one after another (round-robin over the serve
        processes): the time to the first SSE event."""
        args = self.args
        (client,) = self.clients(1)
        try:
            await self.seed([client], SSE_WARMUP_TURNS + args.sse_turns * args.rounds)
            await sequential_sse(Measured("warm-up", 1), client, SSE_WARMUP_TURNS, body(TOOL_TURN))
            for number in range(args.rounds):
                measured = Measured(f"SSE turn, 1 client, r{number + 1}", 1)
                with (
                    self.display.phase(
                        f"Streamed turns, 1 client, round {number + 1}/{args.rounds}",
                        args.sse_turns,
                    ) as move,
                    CpuMeter(self.cluster) as meter,
                ):
                    await sequential_sse(
                        measured, client, args.sse_turns, body(TOOL_TURN), tick=move
                    )
                measured.cpu, measured.cpu_seconds = meter.shares, meter.seconds
                line(self.tag, measured)
                self.result.add("sse_1_client", measured)
                self.display.step_done()
        finally:
            client.close()

    async def held_streams(self) -> None:
        """--streams SSE streams held at once by the one serve process: --stream-runs runs
        (a POST with `Accept: text/event-stream` each, started over --stream-ramp seconds, the
        mock model dripping a 40-word answer a word every --drip-ms), and the rest of the
        streams following those runs with GET /api/runs/{id}/events, started as soon as their
        run's first event is in, spread evenly over the runs."""
        args, cluster = self.args, self.cluster
        users = self.users[:STREAM_USERS]
        port = cluster.ports[0]
        await self.seeder.prepare(port, users[0], LLM_AGENT)
        warm_count = 20
        made = await self.seeder.make(
            users, math.ceil((args.stream_runs + warm_count) / len(users)), LLM_AGENT
        )
        lanes = [(user, deque(made[user.id])) for user in users]

        def thread_of(number: int) -> tuple[User, str]:
            user, threads = lanes[number % len(lanes)]
            return user, f"/api/threads/{threads.popleft()}/messages"

        # Warm-up: a few short drips, all of which must complete (checks the set-up too).
        warm = [Stream() for _ in range(warm_count)]
        await asyncio.gather(
            *(
                hold_stream(port, user.token, path, body("warm up [[mock:drip=5]]"), stream, 30)
                for stream, (user, path) in zip(
                    warm, map(thread_of, range(warm_count)), strict=True
                )
            )
        )
        bad = [s for s in warm if s.terminal != "run.completed"]
        if bad:
            raise BenchError(
                f"{self.tag} warm-up streams failed: "
                f"{[(s.error, s.terminal, s.events) for s in bad[:5]]}"
            )
        run_seconds = STREAM_WORDS * args.drip_ms / 1000
        timeout = args.stream_ramp + run_seconds + 30
        payload = body(f"tell me a long story [[mock:drip={args.drip_ms}]]")
        runs = args.stream_runs
        followers = args.streams - runs
        streams: list[Stream] = []
        tasks: set[asyncio.Task[None]] = set()
        owners: dict[int, User] = {}

        def start(stream: Stream, user: User, path: str, data: bytes | None, **kw: Any) -> None:
            streams.append(stream)
            task = asyncio.create_task(
                hold_stream(port, user.token, path, data, stream, timeout, **kw)
            )
            tasks.add(task)

        def follow(post: Stream) -> None:
            """The run's followers, once its POST stream has its first event (the run id)."""
            number = posts.index(post)
            wanted = followers // runs + (1 if number < followers % runs else 0)
            if post.run_id is None:
                post.error = "no run id in the first event"
                return
            for _ in range(wanted):
                start(
                    Stream(kind="follow"), owners[number], f"/api/runs/{post.run_id}/events", None
                )

        console.print(
            f"  [cyan]{self.tag}[/] {args.streams} streams: {runs} runs (POST, started over "
            f"{args.stream_ramp:g} s) and {followers} followers (GET /api/runs/{{id}}/events); "
            f"each run a {STREAM_WORDS}-word answer dripped a word every {args.drip_ms} ms "
            f"(~{run_seconds:g} s)...",
            highlight=False,
        )
        posts: list[Stream] = []
        timeline: list[dict[str, Any]] = []

        async def sample() -> None:
            previous = self.meter.snapshot()
            origin = previous.wall
            while True:
                await asyncio.sleep(1.0)
                now = self.meter.snapshot()
                cores, _ = self.meter.between(previous, now)
                previous = now
                timeline.append(
                    {
                        "t": round(now.wall - origin, 1),
                        "started": len(streams),
                        "open": sum(
                            1 for s in streams if s.sent and s.done is None and not s.error
                        ),
                        "with_events": sum(1 for s in streams if s.first is not None),
                        "completed": sum(1 for s in streams if s.terminal == "run.completed"),
                        "errors": sum(1 for s in streams if s.error),
                        "events": sum(s.events for s in streams),
                        "serve_cores": round(cores.get("serve", 0.0), 2),
                        "others_cores": round(cores.get("others", 0.0), 2),
                    }
                )

        with (
            self.display.phase(f"{args.streams} held SSE streams", args.streams) as move,
            CpuMeter(cluster) as meter,
        ):
            sampler = asyncio.create_task(sample())
            started = time.perf_counter()
            for number in range(runs):
                delay = started + args.stream_ramp * number / runs - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                user, path = thread_of(number + warm_count)
                owners[number] = user
                post = Stream(kind="post")
                posts.append(post)
                start(post, user, path, payload, on_first=follow)
            while True:
                pending = {t for t in tasks if not t.done()}
                if not pending:
                    break
                await asyncio.wait(pending, timeout=0.25)
                move(sum(1 for s in streams if s.done or s.error))
            elapsed = time.perf_counter() - started
            sampler.cancel()
        starve = max(5.0, 5 * args.drip_ms / 1000)
        summary = stream_summary(streams, starve_seconds=starve)
        summary |= {
            "wanted": args.streams,  # followers of a run that never started are never started
            "runs": runs,
            "followers": followers,
            "drip_ms": args.drip_ms,
            "ramp_s": args.stream_ramp,
            "seconds": round(elapsed, 2),
            "expected_stream_s": run_seconds,
            "events_per_stream_expected": STREAM_WORDS + 3,
            "cpu_cores": {k: round(v, 3) for k, v in meter.shares.items()},
            "peak_second_serve_cores": max((p["serve_cores"] for p in timeline), default=None),
            "nofile_soft_limit": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
            "timeline": timeline,
        }
        if summary["events"]:
            summary["server_cpu_us_per_event"] = round(
                meter.seconds.get("serve", 0.0) / summary["events"] * 1e6, 1
            )
        self.result.streams = summary
        console.print(
            f"  [cyan]{self.tag}[/] streams: {summary['completed']}/{summary['streams']} "
            f"completed, peak {summary['peak_open']} open at once, starved {summary['starved']}, "
            f"first event p50 {summary['first_event_p50_ms']:.0f} ms p99 "
            f"{summary['first_event_p99_ms']:.0f} ms max {summary['first_event_max_ms']} ms, "
            f"longest gap p99 {summary['max_gap_p99_ms']:.0f} ms max {summary['max_gap_max_ms']} "
            f"ms, errors {summary['errors'] or 0}",
            highlight=False,
        )
        self.display.step_done()


def run_config(plan: Plan, args: argparse.Namespace, root: Path, display: Display) -> ConfigResult:
    layout = plan.layout
    display.config(f"{layout.key}: {layout.label}")
    budget = args.pg_connections // max(layout.processes, 1)
    pool = (max(2, min(32, budget)), 0)
    cluster = Cluster(layout, root=root / layout.key, admin_url=args.postgres, pool=pool)
    try:
        with display.phase(f"Starting {layout.label}", 1):
            cluster.start(args.env)
        described = cluster.describe()
        console.print(
            f"[bold]{layout.key}[/]: {layout.label}"
            + (f"; pool {pool[0]}+{pool[1]} per process" if layout.postgres else "")
            + f"; pids {described['pids']}",
            highlight=False,
        )
        runner = Runner(plan, cluster, args, display)
        started = time.perf_counter()
        with asyncio.Runner(loop_factory=uvloop_factory()) as loop:
            result = loop.run(runner.run())
        result.seconds = time.perf_counter() - started
        result.cluster = described
        result.log_problems = cluster.log_problems()
        for name, problems in result.log_problems.items():
            console.print(
                f"  [yellow]{layout.key} {name}: {len(problems)} warning/error log lines; the "
                f"first: {problems[0][:300]}[/]",
                highlight=False,
            )
        if args.keep:
            console.print(f"  logs kept in {cluster.root}", highlight=False)
        return result
    except BenchError as exc:
        raise BenchError(
            f"{layout.key}: {exc}\n" + "\n".join(p.tails(15) for p in cluster.confide_processes)
        ) from None
    finally:
        with display.phase(f"Stopping {layout.key}", 1), uninterrupted():
            cluster.close()


@contextlib.contextmanager
def uninterrupted() -> Iterator[None]:
    """Ctrl-C and SIGTERM wait while the processes stop and the database is dropped."""
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


# Figures -----------------------------------------------------------------------------------------


def best(rounds: list[Measured]) -> Measured:
    return max(rounds, key=lambda m: m.rate)


def spread(rounds: list[Measured]) -> str:
    rates = [m.rate for m in rounds]
    return f"{min(rates):.0f}-{max(rates):.0f}" if len(rates) > 1 else "-"


def median_cpu(rounds: list[Measured] | None, *, total: bool = False) -> float | None:
    """Median over the rounds of the CPU per turn: Confide's processes, or (`total`) with
    PostgreSQL and Redis."""
    values = [
        v
        for m in rounds or []
        if (v := (m.total_cpu_ms_per_turn() if total else m.server_cpu_ms_per_turn())) is not None
    ]
    return statistics.median(values) if values else None


def errors_of(rounds: list[Measured]) -> str:
    total: dict[str, int] = {}
    for m in rounds:
        for kind, count in m.errors.items():
            total[kind] = total.get(kind, 0) + count
    if not total:
        return "0"
    return "[red]" + ", ".join(f"{n} {kind}" for kind, n in total.items()) + "[/]"


def summarize(results: dict[str, ConfigResult], args: argparse.Namespace) -> dict[str, Any]:
    """The headline figures: throughput, ratio, scaling, first events, fan-out, streams."""
    few, summary = args.clients[0], {}

    def turns_of(key: str, clients: int) -> list[Measured] | None:
        result = results.get(key)
        return result.phases.get(f"turns_{clients}") if result else None

    throughput = {}
    for key, result in results.items():
        for clients in result.plan.clients:
            rounds = turns_of(key, clients)
            if rounds:
                top = best(rounds)
                throughput[f"{key}@{clients}"] = {
                    "turns_per_s_best": round(top.rate, 1),
                    "turns_per_s_rounds": [round(m.rate, 1) for m in rounds],
                    "p50_ms": round(top.ms(50), 2),
                    "p99_ms": round(top.ms(99), 2),
                    "server_cpu_ms_per_turn_median": _r(median_cpu(rounds)),
                    "total_cpu_ms_per_turn_median": _r(median_cpu(rounds, total=True)),
                    "machine_cores_busy": round(
                        top.cpu.get("machine_busy_share", 0) * top.cpu.get("cpus", 1), 2
                    ),
                    "neighbour_cores": round(top.cpu.get("others", 0), 2),
                    "per_turn": {k: round(v, 2) for k, v in top.per_turn.items()},
                    "errors": sum(m.error_count for m in rounds),
                }
    summary["throughput"] = throughput
    sqlite, pg1 = turns_of("sqlite", few), turns_of("pg-redis-1", few)
    if sqlite and pg1:
        ratio = best(pg1).rate / best(sqlite).rate
        summary["pg_redis_over_sqlite"] = {
            "ratio": round(ratio, 3),
            "target": TARGET_PG_OVER_SQLITE,
            "met": ratio >= TARGET_PG_OVER_SQLITE,
            "ratio_rounds_min": round(min(m.rate for m in pg1) / max(m.rate for m in sqlite), 3),
            "ratio_rounds_max": round(max(m.rate for m in pg1) / min(m.rate for m in sqlite), 3),
        }
        # The same by CPU per turn, which neighbours disturb less than turns/s.
        for name, total in (("cpu_ratio_confide", False), ("cpu_ratio_total", True)):
            a, b = median_cpu(sqlite, total=total), median_cpu(pg1, total=total)
            if a and b:
                summary["pg_redis_over_sqlite"][name] = round(a / b, 3)
    scaling = {}
    for clients in args.clients:
        steps = [(n, turns_of(f"pg-redis-{n}", clients)) for n in (1, 2, 4)]
        steps = [(n, r) for n, r in steps if r]
        if len(steps) < 2:
            continue
        base = best(steps[0][1]).rate
        rows, stopped = [], None
        previous = base
        for n, rounds in steps:
            rate = best(rounds).rate
            if n > 1 and stopped is None and rate < previous * SCALING_STOPS_BELOW:
                stopped = n
            rows.append(
                {
                    "serves": n,
                    "turns_per_s": round(rate, 1),
                    "speedup": round(rate / base, 2),
                    "machine_cores_busy": round(
                        best(rounds).cpu.get("machine_busy_share", 0)
                        * best(rounds).cpu.get("cpus", 1),
                        2,
                    ),
                    "total_cpu_ms_per_turn": _r(median_cpu(rounds, total=True), 2),
                    "neighbour_cores": round(best(rounds).cpu.get("others", 0), 2),
                    "confide_cores": round(best(rounds).cpu.get("serve", 0), 2),
                    "postgres_cores": round(best(rounds).cpu.get("postgres", 0), 2),
                    "redis_cores": round(best(rounds).cpu.get("redis", 0), 2),
                    "generator_cores": round(best(rounds).cpu.get("generator", 0), 2),
                }
            )
            previous = max(previous, rate)
        scaling[str(clients)] = {"steps": rows, "stops_at_serves": stopped}
    summary["scaling"] = scaling
    first = {}
    for key, result in results.items():
        rounds = result.phases.get("sse_1_client")
        if rounds:
            events = [e for m in rounds for e in m.first_events]
            whole = [t for m in rounds for t in m.latencies]
            probe = Measured("all", 1)
            first[key] = {
                "first_event_p50_ms": round(probe.ms(50, events), 2),
                "first_event_p99_ms": round(probe.ms(99, events), 2),
                "first_event_p50_ms_rounds": [round(m.ms(50, m.first_events), 2) for m in rounds],
                "turn_p50_ms": round(probe.ms(50, whole), 2),
                "turns": len(events),
                "errors": sum(m.error_count for m in rounds),
            }
    summary["first_sse_event"] = first
    summary["fanout"] = fanout_figures(results, args)
    streams = results.get("streams")
    if streams and streams.streams:
        summary["streams"] = streams.streams
    return summary


def _r(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def fanout_figures(results: dict[str, ConfigResult], args: argparse.Namespace) -> dict[str, Any]:
    """Server CPU per event with and without Redis, from the plain short/long turns (their
    difference is events alone), and the simple estimate from the tool turn."""
    few = args.clients[0]
    per: dict[str, dict[str, Any]] = {}
    for key in ("pg", "pg-redis-1"):
        result = results.get(key)
        if not result:
            continue
        short, long = result.phases.get("plain_short"), result.phases.get("plain_long")
        tool = result.phases.get(f"turns_{few}")
        figures: dict[str, Any] = {"tool_turn_cpu_ms": _r(median_cpu(tool))}
        if short and long:
            e_short, e_long = short[0].events_per_turn or 0, long[0].events_per_turn or 0
            c_short, c_long = median_cpu(short), median_cpu(long)
            figures |= {
                "short_events": e_short,
                "long_events": e_long,
                "short_cpu_ms": _r(c_short),
                "long_cpu_ms": _r(c_long),
            }
            if c_short is not None and c_long is not None and e_long > e_short:
                figures["cpu_us_per_event"] = round(
                    (c_long - c_short) / (e_long - e_short) * 1000, 1
                )
            redis_long = [m.cpu_seconds.get("redis", 0) / m.ok for m in long if m.ok]
            redis_short = [m.cpu_seconds.get("redis", 0) / m.ok for m in short if m.ok]
            if redis_long and redis_short and e_long > e_short:
                figures["redis_server_cpu_us_per_event"] = round(
                    (statistics.median(redis_long) - statistics.median(redis_short))
                    / (e_long - e_short)
                    * 1e6,
                    1,
                )
        per[key] = figures
    out: dict[str, Any] = {"per_config": per}
    pg, redis = per.get("pg", {}), per.get("pg-redis-1", {})
    if "cpu_us_per_event" in pg and "cpu_us_per_event" in redis:
        out["redis_fanout_cpu_us_per_event"] = round(
            redis["cpu_us_per_event"] - pg["cpu_us_per_event"], 1
        )
    if pg.get("tool_turn_cpu_ms") and redis.get("tool_turn_cpu_ms"):
        extra = redis["tool_turn_cpu_ms"] - pg["tool_turn_cpu_ms"]
        out["redis_extra_cpu_ms_per_tool_turn"] = round(extra, 3)
        out["redis_extra_cpu_us_per_event_simple"] = round(extra / 12 * 1000, 1)
    if (
        "redis_fanout_cpu_us_per_event" in out
        and pg.get("short_cpu_ms")
        and redis.get("short_cpu_ms")
    ):
        per_run = (redis["short_cpu_ms"] - pg["short_cpu_ms"]) * 1000 - out[
            "redis_fanout_cpu_us_per_event"
        ] * redis.get("short_events", 0)
        out["redis_extra_cpu_us_per_run_beside_events"] = round(per_run, 1)
    return out


def tables(
    results: dict[str, ConfigResult], summary: dict[str, Any], args: argparse.Namespace
) -> list[Table]:
    out = []
    table = Table(
        title='Chat turns ("add 5 and 3", scripted model): best round of '
        f"{args.rounds} x {args.duration:g} s",
        caption="Spread: the rounds' turns/s. CPU/turn: every serve and worker "
        "process, median of the rounds; +PG+Redis: with PostgreSQL's (the whole server's) and "
        "Redis's CPU. Busy: cores busy (of "
        f"{os.cpu_count()}) in the best round, and of them neighbours': processes not of the "
        "benchmark. PG tx / Redis cmd: per turn (PostgreSQL's count is approximate).",
    )
    for column in (
        "Configuration",
        "Clients",
        "Turns/s",
        "Spread",
        "p50",
        "p99",
        "CPU/turn",
        "+PG+Redis",
        "Busy / neighbours",
        "PG tx / Redis cmd",
        "Errors",
    ):
        table.add_column(
            column,
            justify="left" if column in ("Configuration", "Errors") else "right",
        )
    for result in results.values():
        for clients in result.plan.clients:
            rounds = result.phases.get(f"turns_{clients}")
            if not rounds:
                continue
            top = best(rounds)
            cpu = median_cpu(rounds)
            table.add_row(
                result.plan.layout.label,
                str(clients),
                f"{top.rate:.0f}",
                spread(rounds),
                f"{top.ms(50):.1f} ms",
                f"{top.ms(99):.1f} ms",
                f"{cpu:.2f} ms" if cpu else "-",
                _ms(median_cpu(rounds, total=True)),
                f"{top.cpu.get('machine_busy_share', 0) * top.cpu.get('cpus', 1):.2f} / "
                f"{top.cpu.get('others', 0):.2f}",
                f"{_per_turn(top, 'pg_transactions')} / {_per_turn(top, 'redis_commands')}",
                errors_of(rounds),
            )
    if table.row_count:
        out.append(table)

    target = summary.get("pg_redis_over_sqlite")
    scaling = summary.get("scaling", {})
    table = Table(title="Ratio and scaling (best rounds)")
    table.add_column("Measure")
    table.add_column("Value", justify="right")
    table.add_column("Note")
    if target:
        mark = "[green]met[/]" if target["met"] else "[red]missed[/]"
        table.add_row(
            f"1 serve on PG + Redis / 1 serve on SQLite, {args.clients[0]} clients, turns/s",
            f"{target['ratio']:.2f}",
            f"target >= {TARGET_PG_OVER_SQLITE:.2f}: {mark} (rounds give "
            f"{target['ratio_rounds_min']:.2f}-{target['ratio_rounds_max']:.2f})",
        )
        if "cpu_ratio_confide" in target:
            table.add_row(
                "  the same by CPU per turn (SQLite's / PG + Redis's)",
                f"{target['cpu_ratio_confide']:.2f}",
                f"Confide's processes only; {target.get('cpu_ratio_total', 0):.2f} with "
                "PostgreSQL's and Redis's CPU counted",
            )
    for clients, scaled in scaling.items():
        for step in scaled["steps"]:
            table.add_row(
                f"{step['serves']} serve(s), {clients} clients",
                f"{step['turns_per_s']:.0f} turns/s",
                f"x{step['speedup']:.2f}; {step['total_cpu_ms_per_turn']} ms CPU/turn in all; "
                f"cores busy {step['machine_cores_busy']:.2f}: confide "
                f"{step['confide_cores']:.2f}, postgres {step['postgres_cores']:.2f}, redis "
                f"{step['redis_cores']:.2f}, generator {step['generator_cores']:.2f}, neighbours "
                f"{step['neighbour_cores']:.2f}",
            )
        stop = scaled["stops_at_serves"]
        table.add_row(
            f"  scaling, {clients} clients",
            "",
            f"stops at {stop} serves (adds < {SCALING_STOPS_BELOW - 1:.0%})"
            if stop
            else "still growing at the last step",
        )
    if table.row_count:
        out.append(table)

    first = summary.get("first_sse_event", {})
    if first:
        table = Table(
            title="Time to the first SSE event, 1 client, streamed tool turns "
            f"({args.sse_turns} per round x {args.rounds})",
            caption="From the POST sent to the chunk holding the first event's "
            "id:/data: lines (run.started).",
        )
        for column in (
            "Configuration",
            "First event p50",
            "p99",
            "p50 per round",
            "Whole turn p50",
            "Errors",
        ):
            table.add_column(column, justify="left" if column == "Configuration" else "right")
        for key, figures in first.items():
            table.add_row(
                results[key].plan.layout.label,
                f"{figures['first_event_p50_ms']:.2f} ms",
                f"{figures['first_event_p99_ms']:.2f} ms",
                ", ".join(f"{v:.2f}" for v in figures["first_event_p50_ms_rounds"]),
                f"{figures['turn_p50_ms']:.2f} ms",
                str(figures["errors"]),
            )
        out.append(table)

    fan = summary.get("fanout", {})
    if fan.get("per_config"):
        table = Table(
            title=f"Server CPU per event, {args.clients[0]} clients, 1 serve on "
            "PostgreSQL (median of rounds)",
            caption="Per event: (long - short) / (their events), plain turns whose "
            "answers differ only in length. Fan-out: with Redis minus without.",
        )
        for column in (
            "Configuration",
            "Tool turn CPU",
            "Short turn CPU",
            "Long turn CPU",
            "CPU/event",
            "Redis server CPU/event",
        ):
            table.add_column(column, justify="left" if column == "Configuration" else "right")
        for key, figures in fan["per_config"].items():
            table.add_row(
                results[key].plan.layout.label,
                _ms(figures.get("tool_turn_cpu_ms")),
                _ms(figures.get("short_cpu_ms"), figures.get("short_events")),
                _ms(figures.get("long_cpu_ms"), figures.get("long_events")),
                _us(figures.get("cpu_us_per_event")),
                _us(figures.get("redis_server_cpu_us_per_event")),
            )
        if "redis_fanout_cpu_us_per_event" in fan:
            table.add_row(
                "[bold]Redis fan-out per event[/]",
                "",
                "",
                "",
                f"[bold]{fan['redis_fanout_cpu_us_per_event']:.0f} µs[/]",
                "",
            )
        if "redis_extra_cpu_ms_per_tool_turn" in fan:
            table.add_row(
                "Redis extra per tool turn (12 events)",
                f"{fan['redis_extra_cpu_ms_per_tool_turn']:+.2f} ms",
                "",
                "",
                f"{fan['redis_extra_cpu_us_per_event_simple']:.0f} µs (all of it / 12)",
                "",
            )
        if "redis_extra_cpu_us_per_run_beside_events" in fan:
            table.add_row(
                "Redis extra per run beside its events",
                "",
                "",
                "",
                f"{fan['redis_extra_cpu_us_per_run_beside_events']:.0f} µs",
                "",
            )
        out.append(table)

    streams = summary.get("streams")
    if streams:
        table = Table(
            title=f"{streams['streams']} SSE streams held by one serve process "
            f"({streams['runs']} runs of the mock LLM, a word every {streams['drip_ms']} ms)",
            caption=f"Starved: no event at all, or a wait of more than "
            f"{streams['starve_seconds']:g} s between two events. Gap: the longest wait between "
            "two events of a stream. First event: from the request sent.",
        )
        table.add_column("Measure")
        table.add_column("Value", justify="right")
        cores = streams["cpu_cores"]
        for label, value in (
            (
                "streams started (of wanted) / peak open at once",
                f"{streams['streams']} ({streams['wanted']}) / {streams['peak_open']}",
            ),
            (
                "runs (POST streams) / followers (GET streams)",
                f"{streams['runs']} / {streams['followers']}",
            ),
            (
                "completed: POST streams / followers",
                f"{streams['by_kind']['post']['completed']} / "
                f"{streams['by_kind']['follow']['completed']}",
            ),
            (
                "got events / ended with run.completed",
                f"{streams['with_events']} / {streams['completed']}",
            ),
            ("starved", f"{streams['starved']}"),
            (
                f"first event later than {streams['starve_seconds']:g} s",
                f"{streams['first_event_over_starve_seconds']}",
            ),
            (
                "first event p50 / p99 / max",
                f"{streams['first_event_p50_ms']:.0f} / {streams['first_event_p99_ms']:.0f} / "
                f"{streams['first_event_max_ms']} ms",
            ),
            (
                "longest gap per stream p50 / p99 / max",
                f"{streams['max_gap_p50_ms']:.0f} / {streams['max_gap_p99_ms']:.0f} / "
                f"{streams['max_gap_max_ms']} ms",
            ),
            (
                "stream length p50 / max (expected)",
                f"{streams['stream_p50_s']} / {streams['stream_max_s']} s "
                f"({streams['expected_stream_s']:g} s)",
            ),
            ("events received", f"{streams['events']:,}"),
            ("server CPU per event", f"{streams.get('server_cpu_us_per_event', '-')} µs"),
            ("server CPU, busiest second", f"{streams.get('peak_second_serve_cores')} cores"),
            (
                "CPU cores: serve / mock LLM / postgres / redis / generator",
                f"{cores.get('serve', 0):.2f} / {cores.get('mock_llm', 0):.2f} / "
                f"{cores.get('postgres', 0):.2f} / {cores.get('redis', 0):.2f} / "
                f"{cores.get('generator', 0):.2f}",
            ),
            ("errors", str(streams["errors"] or 0)),
            ("file descriptors (soft limit)", str(streams["nofile_soft_limit"])),
        ):
            table.add_row(label, value)
        out.append(table)
    return out


def _per_turn(measured: Measured, key: str) -> str:
    value = measured.per_turn.get(key)
    return "-" if value is None else f"{value:.1f}"


def _ms(value: float | None, events: int | None = None) -> str:
    if value is None:
        return "-"
    return f"{value:.2f} ms" + (f" ({events} ev)" if events else "")


def _us(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} µs"


# The run -----------------------------------------------------------------------------------------


def raise_fd_limit(needed: int) -> str:
    """Raise the soft limit on open files to `needed` if it is lower (children inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= needed:
        return f"open files: soft limit {soft}, hard {hard} (enough)"
    new = min(needed, hard) if hard != resource.RLIM_INFINITY else needed
    resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
    note = f"open files: soft limit raised from {soft} to {new} (hard {hard})"
    if new < needed:
        note += f"; {needed} wanted: some streams may fail"
    return note


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Many hosts: chat turns/s with 1, 2 and 4 `confide serve` processes on "
        "PostgreSQL + Redis beside one on SQLite, an external worker, the time to the first SSE "
        "event, 1,000 held SSE streams, and the Redis fan-out's CPU per event."
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="about 3 minutes instead of 7: one shorter round per phase, shorter streams",
    )
    parser.add_argument(
        "--duration", type=float, help="seconds per measured round (6; --quick 2.5)"
    )
    parser.add_argument("--rounds", type=int, help="measured rounds per phase (2; --quick 1)")
    parser.add_argument(
        "--warmup", type=float, help="warm-up seconds per client count (3; --quick 1.5)"
    )
    parser.add_argument(
        "--clients",
        type=int,
        nargs="+",
        default=[32, 128],
        help="concurrent clients, each its own user (32 128); the first count "
        "is also the SQLite baseline's and the fan-out phases'",
    )
    parser.add_argument(
        "--sse-turns", type=int, help="streamed turns per round, 1 client (100; --quick 30)"
    )
    parser.add_argument("--streams", type=int, default=1000, help="held SSE streams (1000)")
    parser.add_argument(
        "--stream-runs",
        type=int,
        default=250,
        help="runs the held streams follow (250): one POST stream each, the other streams "
        "GET /api/runs/{id}/events; --stream-runs 1000 makes every stream a run of its own",
    )
    parser.add_argument(
        "--drip-ms",
        type=int,
        help="the mock model's wait before each of its 40 words (750; --quick 300)",
    )
    parser.add_argument(
        "--stream-ramp", type=float, help="seconds over which the runs are started (10; --quick 4)"
    )
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="CONFIG",
        help="run only these configurations: sqlite pg pg-redis-1 pg-redis-2 "
        "pg-redis-4 external streams",
    )
    parser.add_argument(
        "--pg-connections",
        type=int,
        default=48,
        help="PostgreSQL connections all processes of a configuration may "
        "hold, shared out as CONFIDE_DB_POOL_SIZE (at most 32 each; 48)",
    )
    parser.add_argument(
        "--postgres",
        default=os.environ.get("CONFIDE_BENCH_POSTGRES_URL", DEFAULT_POSTGRES),
        help="an admin URL of the PostgreSQL server to create the "
        "confide_bench_* databases on (default: $CONFIDE_BENCH_POSTGRES_URL or "
        f"{DEFAULT_POSTGRES})",
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="CONFIDE_NAME=VALUE",
        help="a setting for every process (repeatable)",
    )
    parser.add_argument("--json", type=Path, help="write the figures to this JSON file")
    parser.add_argument(
        "--keep", action="store_true", help="keep the processes' logs (the temporary directory)"
    )
    args = parser.parse_args(argv)
    quick = args.quick
    defaults = {
        "duration": (6.0, 2.5),
        "rounds": (2, 1),
        "warmup": (3.0, 1.5),
        "sse_turns": (100, 30),
        "drip_ms": (750, 300),
        "stream_ramp": (10.0, 4.0),
    }
    for name, (normal, short) in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, short if quick else normal)
    env = {}
    for item in args.env:
        name, sep, value = item.partition("=")
        if not sep or not name.startswith("CONFIDE_"):
            parser.error(f"--env {item!r}: expected CONFIDE_NAME=VALUE")
        env[name] = value
    args.env = env
    known = {p.layout.key for p in plans(args)}
    if args.only and (unknown := set(args.only) - known):
        parser.error(f"--only: unknown configurations {sorted(unknown)}; known: {sorted(known)}")
    if args.duration <= 0 or args.rounds < 1 or args.warmup < 0 or args.sse_turns < 1:
        parser.error("--duration and --sse-turns must be > 0, --rounds >= 1, --warmup >= 0")
    if args.streams < 1 or not 1 <= args.drip_ms <= 5000:
        parser.error("--streams must be >= 1, --drip-ms between 1 and 5000")
    if not 1 <= args.stream_runs <= args.streams:
        parser.error("--stream-runs must be between 1 and --streams")
    return args


def steps_of(plan: Plan, args: argparse.Namespace) -> int:
    return (
        len(plan.clients) * args.rounds
        + (2 * args.rounds if plan.fanout else 0)
        + (args.rounds if plan.sse else 0)
        + (1 if plan.streams else 0)
    )


def run(args: argparse.Namespace) -> int:
    chosen = [p for p in plans(args) if not args.only or p.layout.key in args.only]
    limit_note = (
        raise_fd_limit(args.streams * 4 + 1024)
        if any(p.streams for p in chosen)
        else f"open files: soft limit {resource.getrlimit(resource.RLIMIT_NOFILE)[0]} "
        "(not raised: no held streams)"
    )
    about = machine()
    console.print(
        f"[bold]Confide many-hosts benchmark[/]: {len(chosen)} configurations, "
        f"{args.rounds} round(s) x {args.duration:g} s after {args.warmup:g} s warm-up, "
        f"clients {args.clients}; {about['cpus']} CPUs, Python {about['python']}; "
        f"{limit_note}.",
        highlight=False,
    )
    results: dict[str, ConfigResult] = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="confide-hosts-") as tmp:
        root = Path(tmp)
        with Display(sum(steps_of(p, args) for p in chosen)) as display:
            for plan in chosen:
                results[plan.layout.key] = run_config(plan, args, root, display)
        if args.keep:
            keep = Path(tempfile.mkdtemp(prefix="confide-hosts-logs-"))
            for path in root.rglob("*.log"):
                target = keep / path.relative_to(root)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(path.read_bytes())
            console.print(f"Logs copied to {keep}.", highlight=False)
    elapsed = time.perf_counter() - started
    summary = summarize(results, args)
    for table in tables(results, summary, args):
        console.print(table)
    console.print(f"Whole run: {elapsed:.0f} s.", highlight=False)
    errors = sum(
        m.error_count for r in results.values() for rounds in r.phases.values() for m in rounds
    )
    if errors:
        console.print(
            f"[bold red]{errors} requests did not get a good answer[/] (by kind in "
            "the tables; the first of each phase in the JSON)."
        )
    if args.json:
        figures = {
            "benchmark": "hosts",
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "git_commit": git_commit(),
            "src_changed": src_changed(),
            "machine": about | {"load_average": os.getloadavg()},
            "fd_limit": limit_note,
            "args": {
                k: (str(v) if isinstance(v, Path) else v)
                for k, v in vars(args).items()
                if k not in ("postgres",)
            },
            "seconds": round(elapsed, 1),
            "summary": summary,
            "configs": {
                key: {
                    "label": r.plan.layout.label,
                    "cluster": r.cluster,
                    "phases": {
                        name: [m.as_json() for m in rounds] for name, rounds in r.phases.items()
                    },
                    "streams": r.streams,
                    "log_problems": {n: p[:20] for n, p in r.log_problems.items()},
                    "left_running": r.left_running,
                    "seconds": round(r.seconds, 1),
                }
                for key, r in results.items()
            },
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
        console.print(f"Figures written to {shown(args.json)}.", highlight=False)
    return 1 if errors else 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # `kill` stops everything too, as Ctrl-C does (inside the event loop, asyncio's own Ctrl-C
    # handling then cancels the measurement cleanly).
    signal.signal(signal.SIGTERM, lambda *_: signal.raise_signal(signal.SIGINT))
    try:
        return run(args)
    except BenchError as exc:
        console.print("[bold red]Benchmark failed:[/]", end=" ")
        console.print(str(exc), highlight=False, markup=False)
        return 1
    except KeyboardInterrupt:
        console.print(
            "[yellow]Interrupted; every process was stopped and the databases dropped.[/]"
        )
        return 130


if __name__ == "__main__":
    sys.exit(main())
