"""How much do authentication and the session check cost? Requests per second of an
authenticated `GET /api/auth/me` against `GET /api/health`, on one real uvicorn process.

Run with `.venv/bin/python bench/auth_bench.py` (or `make bench`); `--help` lists the options.
The load generator is `wrk` when it is on PATH, otherwise a built-in asyncio one (raw streams,
keep-alive HTTP/1.1). See bench/README.md for how to read the figures.
"""

from __future__ import annotations

import argparse
import asyncio
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

from rich.console import Console
from rich.table import Table

from common import (
    HEALTH,
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
)

DEFAULT_OUTPUT = RESULTS / "auth.json"
TARGET_RATIO = 0.85

console = Console()


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
        description=f"Requests/s of authenticated GET {ME} vs GET {HEALTH} on one uvicorn worker."
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
        help="alternating rounds health, me, health, me, ...; the median is kept (default 3)",
    )
    parser.add_argument(
        "--warmup", type=int, default=3, help="warm-up seconds per endpoint (default 3)"
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
    return args


def choose_generator(choice: str, workdir: Path) -> Wrk | Builtin:
    found = shutil.which("wrk")
    if choice == "wrk" and not found:
        raise BenchError("--generator wrk: wrk is not on PATH (Debian: apt-get install wrk)")
    if found and choice in ("auto", "wrk"):
        return Wrk(found, workdir / "bench.lua")
    return Builtin()


def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="confide-bench-") as tmp:
        workdir = Path(tmp)
        generator = choose_generator(args.generator, workdir)
        server_cpu, generator_cpu = cpus(args.no_pin)
        port = free_port()
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
        data_dir = workdir / "data"
        data_dir.mkdir()
        with confide_server(data_dir, port, server_cpu, args.startup_timeout, args.env) as (
            base,
            pid,
        ):
            account = Account(base)
            if generator_cpu is not None:
                pin(generator_cpu)  # this process, and wrk which it starts
            try:
                results = measure(generator, base, pid, account, args)
            finally:
                pin(None)
        return report(results, generator, args, pinning)


def measure(
    generator: Wrk | Builtin,
    base: str,
    server_pid: int,
    account: Account,
    args: argparse.Namespace,
) -> dict[str, EndpointResult]:
    results = {HEALTH: EndpointResult(HEALTH), ME: EndpointResult(ME)}

    def phase(path: str, seconds: int) -> Sample:
        headers = {}
        if path == ME:
            headers["Authorization"] = f"Bearer {account.token(seconds + 30)}"
        server_before, own_before = process_cpu_seconds(server_pid), own_cpu_seconds()
        started = time.perf_counter()
        sample = generator.run(base + path, headers, args.connections, seconds)
        wall = time.perf_counter() - started
        server_after = process_cpu_seconds(server_pid)
        if server_before is not None and server_after is not None:
            sample.server_cpu = (server_after - server_before) / wall
        sample.generator_cpu = (own_cpu_seconds() - own_before) / wall
        return sample

    if args.warmup:
        with console.status("Warming up..."):
            for path in (HEALTH, ME):
                warm = phase(path, args.warmup)
                if warm.errors:
                    raise BenchError(f"{warm.errors} errors during the warm-up of {path}")
    for number in range(1, args.rounds + 1):
        for path in (HEALTH, ME):
            with console.status(f"Round {number}/{args.rounds}: GET {path} for {args.duration} s"):
                sample = phase(path, args.duration)
            results[path].samples.append(sample)
            console.print(
                f"  {number} {path:<12} {sample.rps:6.0f}/s  p50 {sample.p50_ms:5.2f} ms  "
                f"p99 {sample.p99_ms:6.2f} ms  err {sample.errors}  "
                f"CPU server {pct(sample.server_cpu)} load {pct(sample.generator_cpu)}",
                highlight=False,
                soft_wrap=True,
            )
    return results


def report(
    results: dict[str, EndpointResult],
    generator: Wrk | Builtin,
    args: argparse.Namespace,
    pinning: str,
) -> int:
    health, me = results[HEALTH], results[ME]
    ratio = me.rps / health.rps if health.rps else 0.0
    paired = [m.rps / h.rps for h, m in zip(health.samples, me.samples, strict=True) if h.rps]

    table = Table(
        title=f"GET, bearer token on {ME}; one uvicorn worker, {args.connections} connections"
    )
    table.add_column("Endpoint")
    table.add_column("Requests/s", justify="right")
    table.add_column("p50", justify="right")
    table.add_column("p99", justify="right")
    table.add_column("Errors", justify="right")
    table.add_column("Server CPU/req", justify="right")
    table.add_column("Rounds req/s", justify="right")
    for label, result in ((HEALTH, health), (ME, me)):
        table.add_row(
            label,
            f"{result.rps:,.0f}",
            f"{result.p50_ms:.2f} ms",
            f"{result.p99_ms:.2f} ms",
            f"[red]{result.errors}[/]" if result.errors else "0",
            f"{result.server_cpu_us:.0f} µs" if result.server_cpu_us else "-",
            " ".join(f"{s.rps:,.0f}" for s in result.samples),
        )
    console.print(table)
    verdict = "[green]meets[/]" if ratio >= TARGET_RATIO else "[red]below[/]"
    console.print(
        f"Ratio me/health: [bold]{ratio:.3f}[/] ({verdict} the target {TARGET_RATIO}); "
        f"per round {', '.join(f'{r:.3f}' for r in paired)} "
        f"(median {statistics.median(paired) if paired else 0:.3f})."
    )
    cpu_ratio = (
        health.server_cpu_us / me.server_cpu_us
        if health.server_cpu_us and me.server_cpu_us
        else None
    )
    if cpu_ratio is not None:
        console.print(
            f"Server CPU per request, health/me: [bold]{cpu_ratio:.3f}[/] "
            f"({health.server_cpu_us:.0f} µs vs {me.server_cpu_us:.0f} µs; "
            "the same ratio measured in CPU time, which neighbours on the machine disturb less)."
        )

    figures = {
        "benchmark": "auth",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "generator": generator.name,
        "connections": args.connections,
        "duration_s": args.duration,
        "rounds": args.rounds,
        "warmup_s": args.warmup,
        "server": "confide serve, 1 uvicorn worker, CONFIDE_LOG_LEVEL=WARNING, "
        + ("database from --env" if "CONFIDE_DATABASE_URL" in args.env else "SQLite"),
        "server_env": {name: masked(value) for name, value in args.env.items()},
        "pinning": pinning,
        "machine": machine(),
        "endpoints": {
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
        },
        "ratio_me_health": round(ratio, 4),
        "server_cpu_us_per_request": {
            HEALTH: round3(health.server_cpu_us),
            ME: round3(me.server_cpu_us),
        },
        "cpu_ratio_health_me": round3(cpu_ratio),
        "ratio_per_round": [round(r, 4) for r in paired],
        "ratio_per_round_median": round(statistics.median(paired), 4) if paired else None,
        "target_ratio": TARGET_RATIO,
        "meets_target": ratio >= TARGET_RATIO,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    console.print(f"Figures written to {shown(args.output)}.", highlight=False)

    errors = health.errors + me.errors
    if errors:
        console.print(f"[bold red]FAILED:[/] {errors} requests did not answer 200.")
        return 1
    if args.min_ratio is not None and ratio < args.min_ratio:
        console.print(f"[bold red]FAILED:[/] ratio {ratio:.3f} < --min-ratio {args.min_ratio}.")
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
        console.print("[yellow]Interrupted; the server was stopped.[/]")
        return 130


if __name__ == "__main__":
    sys.exit(main())
