"""How much do authentication and the session check cost? Requests per second of an
authenticated `GET /api/auth/me` against `GET /api/health`, on one real uvicorn process.

Run with `.venv/bin/python bench/auth_bench.py` (or `make bench`); `--help` lists the options.
The load generator is `wrk` when it is on PATH, otherwise a built-in asyncio one (raw streams,
keep-alive HTTP/1.1). See bench/README.md for how to read the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import re
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_OUTPUT = HERE / "results" / "auth.json"
HOST = "127.0.0.1"
HEALTH = "/api/health"
ME = "/api/auth/me"
TARGET_RATIO = 0.85
# The access token must outlive a whole measured phase; we log in again when it might not.
TOKEN_TTL_SECONDS = 3600

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
            p50_ms=_percentile(latencies, 50) * 1000,
            p99_ms=_percentile(latencies, 99) * 1000,
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


def _percentile(ordered: list[float], pct: float) -> float:
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


# The server ------------------------------------------------------------------------------------


class BenchError(Exception):
    pass


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _confide_command() -> list[str]:
    script = Path(sys.executable).with_name("confide")
    if script.exists():
        return [str(script)]
    found = shutil.which("confide")
    return [found] if found else [sys.executable, "-m", "confide"]


def _pin(cpu: int | None) -> None:
    """Pin this thread (and what it starts from now on) to one CPU; None: every CPU."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu} if cpu is not None else _ALL_CPUS)


_ALL_CPUS: set[int] = set(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else set()


@contextlib.contextmanager
def confide_server(
    data_dir: Path, port: int, cpu: int | None, timeout: float, extra_env: dict[str, str]
) -> Iterator[tuple[str, int]]:
    """A `confide serve` process (one uvicorn worker) on a fresh data directory. CONFIDE_*
    variables of the caller's environment are left out, so every run measures the same set-up;
    `extra_env` (from --env) is the way to change it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONFIDE_")}
    env.update(
        CONFIDE_DATA_DIR=str(data_dir),
        CONFIDE_LOG_LEVEL="WARNING",
        CONFIDE_ACCESS_TOKEN_TTL_SECONDS=str(TOKEN_TTL_SECONDS),
    )
    env.update(extra_env)
    log_path = data_dir / "server.log"
    base = f"http://{HOST}:{port}"
    with log_path.open("wb") as log:
        if cpu is not None:
            _pin(cpu)  # the child inherits this affinity
        try:
            process = subprocess.Popen(
                [*_confide_command(), "serve", "--host", HOST, "--port", str(port)],
                cwd=data_dir,  # so no .env of the checkout leaks in
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches us; we stop the server in order
            )
        finally:
            if cpu is not None:
                _pin(None)
        try:
            _wait_healthy(process, base, timeout, log_path)
            yield base, process.pid
        finally:
            _stop(process)


def _wait_healthy(process: subprocess.Popen[bytes], base: str, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise BenchError(f"the server exited with {process.returncode}:\n{_tail(log)}")
            with contextlib.suppress(httpx.TransportError):
                if client.get(base + HEALTH).status_code == 200:
                    return
            time.sleep(0.1)
    raise BenchError(f"the server did not answer {HEALTH} within {timeout:g} s:\n{_tail(log)}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)  # uvicorn's graceful shutdown
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process (all its threads), from /proc; None elsewhere."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _own_cpu_seconds() -> float:
    """CPU seconds of this process and of the children it waited for (wrk)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no server log)"


class Account:
    """A registered user, and a bearer access token that is fresh enough for the next phase."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.email = f"bench-{secrets.token_hex(4)}@example.org"
        self.password = secrets.token_urlsafe(18)
        self._token = ""
        self._issued = 0.0
        with httpx.Client(timeout=30) as client:
            response = client.post(
                f"{base}/api/auth/register", json={"email": self.email, "password": self.password}
            )
            if response.status_code != 201:
                raise BenchError(f"register: {response.status_code} {response.text}")

    def token(self, needed_seconds: float) -> str:
        if not self._token or time.monotonic() + needed_seconds > self._issued + (
            TOKEN_TTL_SECONDS - 60
        ):
            with httpx.Client(timeout=30) as client:
                response = client.post(
                    f"{self.base}/api/auth/login",
                    json={"email": self.email, "password": self.password},
                )
            if response.status_code != 200:
                raise BenchError(f"login: {response.status_code} {response.text}")
            self._token, self._issued = response.json()["access_token"], time.monotonic()
            with httpx.Client(timeout=30) as client:  # check it before measuring with it
                check = client.get(f"{self.base}{ME}", headers=self._auth())
            if check.status_code != 200:
                raise BenchError(f"{ME} with a fresh token: {check.status_code} {check.text}")
        return self._token

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"}


# The run ---------------------------------------------------------------------------------------


def _git_commit() -> str | None:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return None
    return done.stdout.strip() or None


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
    extra_env: dict[str, str] = {}
    for item in args.env:
        name, sep, value = item.partition("=")
        if not sep or not name.startswith("CONFIDE_"):
            parser.error(f"--env {item!r}: expected CONFIDE_NAME=VALUE")
        extra_env[name] = value
    args.env = extra_env
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


def cpus(no_pin: bool) -> tuple[int | None, int | None]:
    """(server CPU, generator CPU), or (None, None) when not pinning."""
    if no_pin or len(_ALL_CPUS) < 2:
        return None, None
    ordered = sorted(_ALL_CPUS)
    return ordered[0], ordered[1]


def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="confide-bench-") as tmp:
        workdir = Path(tmp)
        generator = choose_generator(args.generator, workdir)
        server_cpu, generator_cpu = cpus(args.no_pin)
        port = _free_port()
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
            + "".join(f", {name}={_masked(value)}" for name, value in args.env.items())
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
                _pin(generator_cpu)  # this process, and wrk which it starts
            try:
                results = measure(generator, base, pid, account, args)
            finally:
                _pin(None)
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
        server_before, own_before = _process_cpu_seconds(server_pid), _own_cpu_seconds()
        started = time.perf_counter()
        sample = generator.run(base + path, headers, args.connections, seconds)
        wall = time.perf_counter() - started
        server_after = _process_cpu_seconds(server_pid)
        if server_before is not None and server_after is not None:
            sample.server_cpu = (server_after - server_before) / wall
        sample.generator_cpu = (_own_cpu_seconds() - own_before) / wall
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
                f"CPU server {_pct(sample.server_cpu)} load {_pct(sample.generator_cpu)}",
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
        "git_commit": _git_commit(),
        "generator": generator.name,
        "connections": args.connections,
        "duration_s": args.duration,
        "rounds": args.rounds,
        "warmup_s": args.warmup,
        "server": "confide serve, 1 uvicorn worker, CONFIDE_LOG_LEVEL=WARNING, "
        + ("database from --env" if "CONFIDE_DATABASE_URL" in args.env else "SQLite"),
        "server_env": {name: _masked(value) for name, value in args.env.items()},
        "pinning": pinning,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
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
                        "server_cpu": _round(s.server_cpu),
                        "generator_cpu": _round(s.generator_cpu),
                    }
                    for s in result.samples
                ],
            }
            for path, result in results.items()
        },
        "ratio_me_health": round(ratio, 4),
        "server_cpu_us_per_request": {
            HEALTH: _round(health.server_cpu_us),
            ME: _round(me.server_cpu_us),
        },
        "cpu_ratio_health_me": _round(cpu_ratio),
        "ratio_per_round": [round(r, 4) for r in paired],
        "ratio_per_round_median": round(statistics.median(paired), 4) if paired else None,
        "target_ratio": TARGET_RATIO,
        "meets_target": ratio >= TARGET_RATIO,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    console.print(f"Figures written to {_shown(args.output)}.", highlight=False)

    errors = health.errors + me.errors
    if errors:
        console.print(f"[bold red]FAILED:[/] {errors} requests did not answer 200.")
        return 1
    if args.min_ratio is not None and ratio < args.min_ratio:
        console.print(f"[bold red]FAILED:[/] ratio {ratio:.3f} < --min-ratio {args.min_ratio}.")
        return 1
    return 0


def _masked(value: str) -> str:
    """A URL's password hidden (postgresql+asyncpg://user:***@host/db)."""
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", value)


def _round(share: float | None) -> float | None:
    return None if share is None else round(share, 3)


def _pct(share: float | None) -> str:
    return "n/a" if share is None else f"{share:4.0%}"


def _shown(path: Path) -> str:
    with contextlib.suppress(ValueError):
        return str(path.resolve().relative_to(Path.cwd()))
    return str(path)


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops the server too, like Ctrl-C
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
