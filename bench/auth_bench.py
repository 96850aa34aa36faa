"""How much do authentication, the session check and permission checks cost? Requests per
second of an authenticated `GET /api/auth/me` and `GET /api/threads` (the first page of a user's
threads) against `GET /api/health`, on one real uvicorn process. `--baseline REV` runs a git
revision's server beside the working tree's, round by round, and compares the two.

Run with `.venv/bin/python bench/auth_bench.py` (or `make bench`); `--help` lists the options.
The load generator is `wrk` when it is on PATH, otherwise a built-in asyncio one (raw streams,
keep-alive HTTP/1.1). See bench/README.md for how to read the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from common import (
    HEALTH,
    ME,
    RESULTS,
    THREADS,
    Account,
    BenchError,
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
)

DEFAULT_OUTPUT = RESULTS / "auth.json"
TARGET_RATIO = 0.85
THREADS_OWNED = 100  # the benchmark user's threads, made through the API (--threads)
PAGE = 50  # the API's default page size: GET /api/threads answers the newest 50
# A change between the two servers shown in colour from this share on (green: better).
MARKED_CHANGE = 0.05

# Wide enough for the tables when the output is not a terminal (a log file, CI).
console = Console(width=None if sys.stdout.isatty() else 130)


# Results ---------------------------------------------------------------------------------------


@dataclass
class Sample:
    """One load phase against one endpoint."""

    requests: int  # completed with status 200
    errors: int  # non-200 answers, socket errors, timeouts
    seconds: float
    p50_ms: float
    p99_ms: float
    # Share of one CPU each side used during the phase: the server should be near 1.0 and the
    # generator clearly below it, or the generator was the bottleneck.
    server_cpu: float | None = None
    generator_cpu: float | None = None

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def server_cpu_us(self) -> float | None:
        """Server CPU time per request: steadier than requests/s on a machine with neighbours."""
        if self.server_cpu is None or not self.requests:
            return None
        return self.server_cpu * self.seconds / self.requests * 1e6


@dataclass
class EndpointResult:
    path: str
    samples: list[Sample] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return statistics.median(s.rps for s in self.samples)

    @property
    def p50_ms(self) -> float:
        return statistics.median(s.p50_ms for s in self.samples)

    @property
    def p99_ms(self) -> float:
        return statistics.median(s.p99_ms for s in self.samples)

    @property
    def errors(self) -> int:
        return sum(s.errors for s in self.samples)

    @property
    def server_cpu_us(self) -> float | None:
        values = [s.server_cpu_us for s in self.samples if s.server_cpu_us is not None]
        return statistics.median(values) if values else None


@dataclass
class Target:
    """One server under test, its benchmark user, and its figures per endpoint."""

    server: ServerUnderTest
    account: Account
    results: dict[str, EndpointResult]
    tag: str = ""  # what its lines start with when there are two servers (rich markup)


# Load generators -------------------------------------------------------------------------------

# wrk calls `response` for every answer (so any non-200 counts) and `done` once, where we print
# one JSON line with exact percentiles; the human summary wrk prints before it is ignored.
WRK_SCRIPT = r"""
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  non200 = 0
end

function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
  end
end

function done(summary, latency, requests)
  local bad = 0
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("non200")
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "non200": %d, "socket_errors": %d, '
      .. '"p50_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, bad,
    e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


class Wrk:
    name = "wrk"

    def __init__(self, executable: str, script: Path) -> None:
        self.executable = executable
        self.script = script
        script.write_text(WRK_SCRIPT, encoding="utf-8")

    def run(self, url: str, headers: dict[str, str], connections: int, seconds: int) -> Sample:
        # One thread: the generator has one core, and wrk on one core outruns a Python server.
        command = [
            self.executable,
            "--threads",
            "1",
            "--connections",
            str(connections),
            "--duration",
            f"{seconds}s",
            "--timeout",
            "5s",
            "--script",
            str(self.script),
        ]
        for name, value in headers.items():
            command += ["--header", f"{name}: {value}"]
        command.append(url)
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=seconds + 60, check=False
        )
        line = next((ln for ln in done.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
        if done.returncode != 0 or line is None:
            raise BenchError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        figures = json.loads(line.removeprefix("BENCH_JSON "))
        completed = figures["requests"]
        non200 = figures["non200"]
        return Sample(
            requests=completed - non200,
            errors=non200 + figures["socket_errors"],
            seconds=figures["duration_us"] / 1e6,
            p50_ms=figures["p50_us"] / 1000,
            p99_ms=figures["p99_us"] / 1000,
        )


class ProtocolError(Exception):
    pass


class Builtin:
    """Keep-alive HTTP/1.1 over raw asyncio streams: N connections, one request in flight on
    each, every response read by its Content-Length. Far cheaper per request than httpx."""

    name = "built-in (asyncio streams)"

    def __init__(self) -> None:
        try:
            import uvloop  # optional: a faster event loop

            self._loop_factory: Any = uvloop.new_event_loop
            self.name += " + uvloop"
        except ImportError:
            self._loop_factory = None

    def run(self, url: str, headers: dict[str, str], connections: int, seconds: int) -> Sample:
        host_port, _, path = url.removeprefix("http://").partition("/")
        host, _, port = host_port.partition(":")
        lines = [f"GET /{path} HTTP/1.1", f"Host: {host_port}", "Accept: */*"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        with asyncio.Runner(loop_factory=self._loop_factory) as runner:
            return runner.run(self._load(host, int(port), request, connections, seconds))

    async def _load(
        self, host: str, port: int, request: bytes, connections: int, seconds: int
    ) -> Sample:
        latencies: list[float] = []
        counts = {"ok": 0, "errors": 0}
        started = time.perf_counter()
        deadline = started + seconds
        tasks = [
            asyncio.create_task(self._connection(host, port, request, deadline, latencies, counts))
            for _ in range(connections)
        ]
        _, pending = await asyncio.wait(tasks, timeout=seconds + 5)
        for task in pending:  # a request still unanswered well after the end is a timeout
            task.cancel()
            counts["errors"] += 1
        await asyncio.gather(*pending, return_exceptions=True)
        latencies.sort()
        return Sample(
            requests=counts["ok"],
            errors=counts["errors"],
            seconds=float(seconds),  # only answers that arrived inside the window count
            p50_ms=percentile(latencies, 50) * 1000,
            p99_ms=percentile(latencies, 99) * 1000,
        )

    @staticmethod
    async def _connection(
        host: str,
        port: int,
        request: bytes,
        deadline: float,
        latencies: list[float],
        counts: dict[str, int],
    ) -> None:
        clock = time.perf_counter
        writer: asyncio.StreamWriter | None = None
        try:
            while clock() < deadline:
                if writer is None:
                    reader, writer = await asyncio.open_connection(host, port)
                sent = clock()
                if sent >= deadline:
                    break
                try:
                    writer.write(request)
                    head = await reader.readuntil(b"\r\n\r\n")
                    status, length, close = _parse_head(head)
                    if length:
                        await reader.readexactly(length)
                except (OSError, asyncio.IncompleteReadError, ProtocolError):
                    counts["errors"] += 1
                    writer.close()
                    writer = None
                    continue
                done = clock()
                if done > deadline:  # finished after the window: not counted, like wrk
                    break
                if status == 200:
                    counts["ok"] += 1
                    latencies.append(done - sent)
                else:
                    counts["errors"] += 1
                if close:
                    writer.close()
                    writer = None
        except OSError:
            counts["errors"] += 1
        finally:
            if writer is not None:
                writer.close()


def _parse_head(head: bytes) -> tuple[int, int, bool]:
    """Status, Content-Length and whether the server will close, from a response head."""
    if not head.startswith(b"HTTP/1.1 "):
        raise ProtocolError(head[:40])
    status = int(head[9:12])
    lower = head.lower()
    at = lower.find(b"\r\ncontent-length:")
    if at < 0:
        raise ProtocolError("no content-length")
    end = lower.index(b"\r\n", at + 2)
    length = int(lower[at + 17 : end])
    return status, length, b"\r\nconnection: close" in lower


# The run ---------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=f"Requests/s of authenticated GET {ME} and GET {THREADS} vs GET {HEALTH} "
        "on one uvicorn worker; with --baseline, also of a git revision's server."
    )
    parser.add_argument(
        "--duration", type=int, default=10, help="seconds per measured phase (default 10)"
    )
    parser.add_argument(
        "--connections", type=int, default=32, help="concurrent keep-alive connections (32)"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="alternating rounds health, me, threads, health, ...; the median is kept (default 3)",
    )
    parser.add_argument(
        "--warmup", type=int, default=3, help="warm-up seconds per endpoint (default 3)"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=THREADS_OWNED,
        metavar="N",
        help=f"threads the benchmark user owns, made through the API before measuring; GET "
        f"{THREADS} lists the first {PAGE} ({THREADS_OWNED}; 0 leaves {THREADS} out)",
    )
    parser.add_argument(
        "--baseline",
        metavar="REV",
        help="also benchmark the server of this git revision (e.g. HEAD~1), in the same run, "
        "round by round beside the working tree's, and compare the two",
    )
    parser.add_argument(
        "--generator",
        choices=["auto", "wrk", "builtin"],
        default="auto",
        help="load generator: wrk if on PATH (auto), or the built-in asyncio one",
    )
    parser.add_argument(
        "--no-pin",
        action="store_true",
        help="do not pin the server and the generator to separate CPUs",
    )
    parser.add_argument(
        "--min-ratio",
        type=float,
        default=None,
        help=f"exit with status 1 when me/health is below this (the target is {TARGET_RATIO})",
    )
    parser.add_argument(
        "--max-slowdown",
        type=float,
        default=None,
        metavar="PCT",
        help="with --baseline: exit with status 1 when me or threads of the working tree has "
        "more than PCT percent fewer requests/s than the baseline's (e.g. 5)",
    )
    parser.add_argument(
        "--startup-timeout", type=float, default=60, help="seconds to wait for the server (60)"
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="CONFIDE_NAME=VALUE",
        help="a setting for the server (repeatable), e.g. CONFIDE_DATABASE_URL=...",
    )
    parser.add_argument(
        "--output", type=Path, default=DEFAULT_OUTPUT, help="JSON results file (bench/results/)"
    )
    args = parser.parse_args(argv)
    args.env = parse_env(parser, args.env)
    if args.duration < 1 or args.connections < 1 or args.rounds < 1 or args.warmup < 0:
        parser.error("--duration, --connections and --rounds must be >= 1, --warmup >= 0")
    if args.threads < 0:
        parser.error("--threads must be >= 0")
    if args.max_slowdown is not None and not args.baseline:
        parser.error("--max-slowdown compares with a baseline: give --baseline REV too")
    if args.max_slowdown is not None and args.max_slowdown < 0:
        parser.error("--max-slowdown must be >= 0")
    if args.baseline and "CONFIDE_DATABASE_URL" in args.env:
        # Each server migrates a database of its own; they cannot share one from --env.
        parser.error("--baseline needs the embedded SQLite database: drop CONFIDE_DATABASE_URL")
    return args


def endpoints(args: argparse.Namespace) -> tuple[str, ...]:
    """The measured paths, in the order each round takes them."""
    return (HEALTH, ME, THREADS) if args.threads else (HEALTH, ME)


def choose_generator(choice: str, workdir: Path) -> Wrk | Builtin:
    found = shutil.which("wrk")
    if choice == "wrk" and not found:
        raise BenchError("--generator wrk: wrk is not on PATH (Debian: apt-get install wrk)")
    if found and choice in ("auto", "wrk"):
        return Wrk(found, workdir / "bench.lua")
    return Builtin()


def create_threads(base: str, token: str, count: int) -> None:
    """`count` threads of the default agent for the token's user, through the API (not timed),
    then a check that the listing measured later answers a full first page."""
    with httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as client:
        for number in range(1, count + 1):
            created = client.post(THREADS, json={"title": f"Benchmark thread {number}"})
            if created.status_code != 201:
                raise BenchError(f"POST {THREADS}: {created.status_code} {created.text[:300]}")
        listed = client.get(THREADS)
    if listed.status_code != 200:
        raise BenchError(f"GET {THREADS}: {listed.status_code} {listed.text[:300]}")
    items = listed.json().get("items")
    if not isinstance(items, list) or len(items) != min(count, PAGE):
        got = len(items) if isinstance(items, list) else items
        raise BenchError(f"GET {THREADS} listed {got} threads, expected {min(count, PAGE)}")


def run(args: argparse.Namespace) -> int:
    paths = endpoints(args)
    with (
        tempfile.TemporaryDirectory(prefix="confide-bench-") as tmp,
        contextlib.ExitStack() as servers_up,  # closed first: the servers stop, then tmp goes
    ):
        workdir = Path(tmp)
        generator = choose_generator(args.generator, workdir)
        server_cpu, generator_cpu = cpus(args.no_pin)
        pinning = (
            f"server on CPU {server_cpu}, generator on CPU {generator_cpu}"
            if server_cpu is not None
            else "not pinned"
        )
        console.print(
            f"[bold]Confide auth benchmark[/]: {generator.name}, {args.connections} connections, "
            f"{args.rounds} x {args.duration} s per endpoint after {args.warmup} s warm-up "
            f"({pinning})."
        )
        database = "database from --env" if "CONFIDE_DATABASE_URL" in args.env else "SQLite"
        console.print(
            f"Server: `confide serve`, one uvicorn worker, {database} in a temp data dir, "
            "CONFIDE_LOG_LEVEL=WARNING so per-request log lines do not dominate"
            + "".join(f", {name}={masked(value)}" for name, value in args.env.items())
            + ".",
            highlight=False,
        )
        if args.threads:
            console.print(
                f"GET {THREADS}: the first page ({min(args.threads, PAGE)}) of the benchmark "
                f"user's {args.threads:,} threads, made through the API before measuring.",
                highlight=False,
            )
        revision = export_revision(args.baseline, workdir / "baseline") if args.baseline else None
        wanted: list[tuple[str, str, str]] = [("current", "working tree", "data")]
        if revision is not None:
            wanted.append(("baseline", revision.short, "baseline-data"))
        with console.status("Starting the server" + ("s..." if revision else "...")):
            servers = [
                start_server_under_test(
                    servers_up,
                    key=key,
                    label=label,
                    revision=revision if key == "baseline" else None,
                    data_dir=workdir / data,
                    cpu=server_cpu,
                    timeout=args.startup_timeout,
                    extra_env=args.env,
                )
                for key, label, data in wanted
            ]
        if revision is not None:
            console.print(
                f"Baseline: {revision.short} ({revision.subject}), its src/ exported with git "
                "archive and imported through PYTHONPATH, its own database migrated by its own "
                "code; the two servers take each endpoint in turn (A B, B A, ...).",
                highlight=False,
            )
            for server in servers:
                changed = (
                    " + uncommitted changes" if server.revision is None and src_changed() else ""
                )
                console.print(
                    f"  {server.label}: confide from {server.code['confide']}"
                    + (f" ({git_commit()}{changed})" if server.revision is None else "")
                    + (f", database at migration {server.schema}" if server.schema else ""),
                    highlight=False,
                )
        width = max(len(server.label) for server in servers) + 2
        targets = []
        with console.status(
            "Registering the benchmark user"
            + (f" and making its {args.threads:,} threads" if args.threads else "")
            + (" on each server..." if revision else "...")
        ):
            for server in servers:
                account = Account(server.base)
                if args.threads:
                    create_threads(server.base, account.token(60), args.threads)
                # "[label]" escaped, or rich would take it for markup.
                tag = escape(f"[{server.label}]".ljust(width)) + " " if revision else ""
                results = {path: EndpointResult(path) for path in paths}
                targets.append(Target(server, account, results, tag))
        if generator_cpu is not None:
            pin(generator_cpu)  # this process, and wrk which it starts
        try:
            measure(generator, targets, paths, args)
        finally:
            pin(None)
    return report(targets, generator, args, pinning)


def measure(
    generator: Wrk | Builtin,
    targets: list[Target],
    paths: tuple[str, ...],
    args: argparse.Namespace,
) -> None:
    """Every round takes the endpoints in turn, and with two servers both servers on each
    endpoint back to back, in an order that flips from one endpoint and round to the next
    (A B, B A, ...): slow drifts of the machine touch all alike."""

    def phase(target: Target, path: str, seconds: int) -> Sample:
        headers = {}
        if path != HEALTH:
            headers["Authorization"] = f"Bearer {target.account.token(seconds + 30)}"
        pid = target.server.pid
        server_before, own_before = process_cpu_seconds(pid), own_cpu_seconds()
        started = time.perf_counter()
        sample = generator.run(target.server.base + path, headers, args.connections, seconds)
        wall = time.perf_counter() - started
        server_after = process_cpu_seconds(pid)
        if server_before is not None and server_after is not None:
            sample.server_cpu = (server_after - server_before) / wall
        sample.generator_cpu = (own_cpu_seconds() - own_before) / wall
        return sample

    if args.warmup:
        with console.status("Warming up..."):
            for target in targets:
                for path in paths:
                    warm = phase(target, path, args.warmup)
                    if warm.errors:
                        raise BenchError(
                            f"{target.tag}{warm.errors} errors during the warm-up of {path}"
                        )
    for number in range(1, args.rounds + 1):
        for index, path in enumerate(paths):
            order = targets if (number + index) % 2 else targets[::-1]
            for target in order:
                of = f" ({target.server.label})" if target.tag else ""
                with console.status(
                    f"Round {number}/{args.rounds}: GET {path}{of} for {args.duration} s"
                ):
                    sample = phase(target, path, args.duration)
                target.results[path].samples.append(sample)
                console.print(
                    f"  {number} {target.tag}{path:<12} {sample.rps:6.0f}/s  "
                    f"p50 {sample.p50_ms:5.2f} ms  p99 {sample.p99_ms:6.2f} ms  "
                    f"err {sample.errors}  "
                    f"CPU server {pct(sample.server_cpu)} load {pct(sample.generator_cpu)}",
                    highlight=False,
                    soft_wrap=True,
                )


# Figures ---------------------------------------------------------------------------------------


def ratio_of(results: dict[str, EndpointResult], path: str) -> float:
    """Median requests/s of `path` over health's."""
    health = results[HEALTH].rps
    return results[path].rps / health if health else 0.0


def paired_ratios(results: dict[str, EndpointResult], path: str) -> list[float]:
    """Each round's requests/s of `path` over health's in the same round."""
    pairs = zip(results[HEALTH].samples, results[path].samples, strict=True)
    return [s.rps / h.rps for h, s in pairs if h.rps]


def cpu_ratio_of(results: dict[str, EndpointResult], path: str) -> float | None:
    """Server CPU per request of health over that of `path`."""
    health, other = results[HEALTH].server_cpu_us, results[path].server_cpu_us
    return health / other if health and other else None


def change_pct(now: float | None, then: float | None) -> float | None:
    return (now - then) / then * 100 if now is not None and then else None


def rounded(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def endpoints_json(results: dict[str, EndpointResult]) -> dict[str, Any]:
    return {
        path: {
            "rps": round(result.rps, 1),
            "p50_ms": round(result.p50_ms, 3),
            "p99_ms": round(result.p99_ms, 3),
            "errors": result.errors,
            "samples": [
                {
                    **asdict(s),
                    "rps": round(s.rps, 1),
                    "seconds": round(s.seconds, 3),
                    "server_cpu": round3(s.server_cpu),
                    "generator_cpu": round3(s.generator_cpu),
                }
                for s in result.samples
            ],
        }
        for path, result in results.items()
    }


def ratios_json(results: dict[str, EndpointResult]) -> dict[str, Any]:
    """The me/health figures (the keys auth.json has always had), and threads/health."""
    ratio, paired = ratio_of(results, ME), paired_ratios(results, ME)
    figures: dict[str, Any] = {
        "ratio_me_health": round(ratio, 4),
        "server_cpu_us_per_request": {
            path: round3(result.server_cpu_us) for path, result in results.items()
        },
        "cpu_ratio_health_me": round3(cpu_ratio_of(results, ME)),
        "ratio_per_round": [round(r, 4) for r in paired],
        "ratio_per_round_median": round(statistics.median(paired), 4) if paired else None,
    }
    if THREADS in results:
        figures["ratio_threads_health"] = round(ratio_of(results, THREADS), 4)
        figures["cpu_ratio_health_threads"] = round3(cpu_ratio_of(results, THREADS))
    return figures


def comparison_of(current: Target, baseline: Target) -> dict[str, dict[str, Any]]:
    """Per endpoint: both servers' median figures and the change from the baseline, in percent
    (requests/s: higher is better; latencies and CPU per request: lower is better)."""
    figures = {}
    for path, now in current.results.items():
        then = baseline.results[path]
        rounds = [change_pct(a.rps, b.rps) for a, b in zip(now.samples, then.samples, strict=True)]
        per_round = [r for r in rounds if r is not None]
        figures[path] = {
            "rps": {"current": round(now.rps, 1), "baseline": round(then.rps, 1)},
            "rps_change_pct": rounded(change_pct(now.rps, then.rps)),
            "rps_change_pct_per_round": [round(r, 1) for r in per_round],
            "rps_change_pct_per_round_median": (
                round(statistics.median(per_round), 1) if per_round else None
            ),
            "p50_ms": {"current": round(now.p50_ms, 3), "baseline": round(then.p50_ms, 3)},
            "p50_change_pct": rounded(change_pct(now.p50_ms, then.p50_ms)),
            "p99_ms": {"current": round(now.p99_ms, 3), "baseline": round(then.p99_ms, 3)},
            "p99_change_pct": rounded(change_pct(now.p99_ms, then.p99_ms)),
            "server_cpu_us_per_request": {
                "current": round3(now.server_cpu_us),
                "baseline": round3(then.server_cpu_us),
            },
            "server_cpu_change_pct": rounded(change_pct(now.server_cpu_us, then.server_cpu_us)),
        }
    return figures


def slowed(current: Target, baseline: Target, limit: float) -> dict[str, float]:
    """The checked endpoints (me, threads) whose median requests/s is more than `limit` percent
    below the baseline's, and by how much (in percent)."""
    found = {}
    for path in (ME, THREADS):
        if path in current.results:
            change = change_pct(current.results[path].rps, baseline.results[path].rps)
            if change is not None and change < -limit:
                found[path] = -change
    return found


def coloured(change: float | None, *, higher_is_better: bool) -> str:
    if change is None:
        return "-"
    shown_change = f"{change:+.1f} %"
    if abs(change) >= MARKED_CHANGE * 100:
        better = (change > 0) == higher_is_better
        shown_change = f"[{'green' if better else 'red'}]{shown_change}[/]"
    return shown_change


def figures_table(
    targets: list[Target], comparison: dict[str, dict[str, Any]] | None, args: argparse.Namespace
) -> Table:
    authed = f"{ME} and {THREADS}" if args.threads else ME
    table = Table(
        title=f"GET, bearer token on {authed}; one uvicorn worker, {args.connections} connections",
        caption=(
            f"Δ: the change from {targets[1].server.label} to the working tree, coloured from "
            f"{MARKED_CHANGE:.0%} on (green: better, red: worse)."
            if comparison is not None
            else None
        ),
    )
    two = comparison is not None  # two servers: shorter headings, so the table fits 130 columns
    table.add_column("Endpoint", no_wrap=True)
    if two:
        table.add_column("Server", no_wrap=True)
    table.add_column("Req/s" if two else "Requests/s", justify="right")
    table.add_column("p50", justify="right", no_wrap=two)
    table.add_column("p99", justify="right", no_wrap=two)
    table.add_column("Err" if two else "Errors", justify="right")
    table.add_column("CPU/req" if two else "Server CPU/req", justify="right")
    table.add_column("Rounds req/s", justify="right", no_wrap=True)
    if two:
        table.add_column("Δ req/s", justify="right", no_wrap=True)
        table.add_column("Δ CPU/req", justify="right", no_wrap=True)
    for path in endpoints(args):
        for target in targets:
            result = target.results[path]
            row = [path if target is targets[0] else ""]
            if comparison is not None:
                row.append(target.server.label)
            row += [
                f"{result.rps:,.0f}",
                f"{result.p50_ms:.2f} ms",
                f"{result.p99_ms:.2f} ms",
                f"[red]{result.errors}[/]" if result.errors else "0",
                f"{result.server_cpu_us:.0f} µs" if result.server_cpu_us else "-",
                " ".join(f"{s.rps:,.0f}" for s in result.samples),
            ]
            if comparison is not None:
                if target.server.key == "current":
                    row += [
                        coloured(comparison[path]["rps_change_pct"], higher_is_better=True),
                        coloured(comparison[path]["server_cpu_change_pct"], higher_is_better=False),
                    ]
                else:
                    row += ["", ""]
            table.add_row(*row, end_section=comparison is not None and target is targets[-1])
    return table


def print_ratios(target: Target, of: str) -> None:
    """The me/health ratio against its target, and the same in CPU time (and threads/health)."""
    results = target.results
    health, me = results[HEALTH], results[ME]
    ratio, paired = ratio_of(results, ME), paired_ratios(results, ME)
    verdict = "[green]meets[/]" if ratio >= TARGET_RATIO else "[red]below[/]"
    console.print(
        f"Ratio me/health{of}: [bold]{ratio:.3f}[/] ({verdict} the target {TARGET_RATIO}); "
        f"per round {', '.join(f'{r:.3f}' for r in paired)} "
        f"(median {statistics.median(paired) if paired else 0:.3f})."
    )
    cpu_ratio = cpu_ratio_of(results, ME)
    if cpu_ratio is not None:
        console.print(
            f"Server CPU per request, health/me{of}: [bold]{cpu_ratio:.3f}[/] "
            f"({health.server_cpu_us:.0f} µs vs {me.server_cpu_us:.0f} µs; "
            "the same ratio measured in CPU time, which neighbours on the machine disturb less)."
        )
    if THREADS in results:
        threads = results[THREADS]
        cpu = cpu_ratio_of(results, THREADS)
        console.print(
            f"Ratio threads/health{of}: [bold]{ratio_of(results, THREADS):.3f}[/] (no target)"
            + (
                f"; in CPU time {cpu:.3f} ({threads.server_cpu_us:.0f} µs a listing)."
                if cpu is not None and threads.server_cpu_us
                else "."
            )
        )


def report(
    targets: list[Target],
    generator: Wrk | Builtin,
    args: argparse.Namespace,
    pinning: str,
) -> int:
    current = targets[0]
    baseline = targets[1] if len(targets) > 1 else None
    comparison = comparison_of(current, baseline) if baseline is not None else None
    console.print(figures_table(targets, comparison, args))
    for target in targets:
        print_ratios(target, f" ({target.server.label})" if baseline is not None else "")
    failed_slowdown: dict[str, float] = {}
    if baseline is not None and comparison is not None:
        label = baseline.server.label
        for path, change in comparison.items():
            per_round = change["rps_change_pct_per_round"]
            console.print(
                f"Working tree vs {label}, GET {path}: requests/s "
                f"{coloured(change['rps_change_pct'], higher_is_better=True)}, per round "
                + ", ".join(f"{r:+.1f}" for r in per_round)
                + " %; server CPU/request "
                + coloured(change["server_cpu_change_pct"], higher_is_better=False)
                + ".",
                highlight=False,
            )
        if args.max_slowdown is not None:
            failed_slowdown = slowed(current, baseline, args.max_slowdown)
            if not failed_slowdown:
                console.print(
                    f"[green]Within --max-slowdown {args.max_slowdown:g} %[/] of {label} "
                    f"on {ME}" + (f" and {THREADS}." if THREADS in current.results else "."),
                    highlight=False,
                )

    ratio = ratio_of(current.results, ME)
    figures: dict[str, Any] = {
        "benchmark": "auth",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "generator": generator.name,
        "connections": args.connections,
        "duration_s": args.duration,
        "rounds": args.rounds,
        "warmup_s": args.warmup,
        "threads_owned": args.threads,
        "server": "confide serve, 1 uvicorn worker, CONFIDE_LOG_LEVEL=WARNING, "
        + ("database from --env" if "CONFIDE_DATABASE_URL" in args.env else "SQLite"),
        "server_env": {name: masked(value) for name, value in args.env.items()},
        "server_code": current.server.as_json(),
        "pinning": pinning,
        "machine": machine(),
        "endpoints": endpoints_json(current.results),
        **ratios_json(current.results),
        "target_ratio": TARGET_RATIO,
        "meets_target": ratio >= TARGET_RATIO,
    }
    if baseline is not None:
        figures["baseline"] = {
            "server_code": baseline.server.as_json(),
            "endpoints": endpoints_json(baseline.results),
            **ratios_json(baseline.results),
        }
        figures["comparison"] = comparison
        figures["max_slowdown_pct"] = args.max_slowdown
        if args.max_slowdown is not None:
            figures["within_max_slowdown"] = not failed_slowdown
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    console.print(f"Figures written to {shown(args.output)}.", highlight=False)

    errors = sum(result.errors for target in targets for result in target.results.values())
    if errors:
        console.print(f"[bold red]FAILED:[/] {errors} requests did not answer 200.")
        return 1
    if args.min_ratio is not None and ratio < args.min_ratio:
        console.print(f"[bold red]FAILED:[/] ratio {ratio:.3f} < --min-ratio {args.min_ratio}.")
        return 1
    if failed_slowdown:
        slower = ", ".join(f"{path} {drop:.1f} %" for path, drop in failed_slowdown.items())
        console.print(
            f"[bold red]FAILED:[/] slower than {targets[1].server.label} by more than "
            f"--max-slowdown {args.max_slowdown:g} %: {slower}.",
            highlight=False,
        )
        return 1
    return 0


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
