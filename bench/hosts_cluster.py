"""The processes of `hosts_bench.py`: a fresh PostgreSQL database (or the embedded SQLite one), a
private redis-server, an optional `confide mock-llm`, and `confide serve` / `confide worker`
processes on them, started as real subprocesses the way tests/multihost/conftest.py starts them,
and stopped (SIGTERM, then SIGKILL), the database dropped, whatever happens.

Also the CPU accounting of one measured phase: every process of the set-up, PostgreSQL's, the
load generator's and the whole machine's (busy and stolen time from /proc/stat).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from common import HOST, LOAD_LIMITS, BenchError, free_port, own_cpu_seconds, tail

# Shared by every process, as the hosts of one deployment share theirs (64 characters).
MASTER_KEYS = "bench:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"  # a test key, not secret
SECRET = "hosts-bench-secret-0123456789abcdef0123456789abcdef0123456789ab"
STARTUP_SECONDS = 60.0
STOP_SECONDS = 15.0
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
# The access token must outlive the whole run (set-up included).
TOKEN_TTL_SECONDS = 3600


@dataclass(frozen=True)
class Layout:
    """One configuration: which database, Redis or not, how many processes of each kind."""

    key: str
    label: str
    serves: int = 1
    workers: int = 0
    postgres: bool = True
    redis: bool = True
    jobs: str = "inprocess"  # CONFIDE_JOBS of the serve processes
    mock_llm: bool = False
    env: dict[str, str] = field(default_factory=dict)  # more settings for every process

    @property
    def processes(self) -> int:
        return self.serves + self.workers


class Process:
    """One `python -m confide <argv>` process, logging to files in its own directory."""

    def __init__(self, name: str, argv: list[str], *, env: dict[str, str], cwd: Path) -> None:
        self.name, self.argv, self.env, self.cwd = name, argv, env, cwd
        self.port: int | None = None
        self.stdout_path = cwd / "stdout.log"
        self.stderr_path = cwd / "stderr.log"
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "confide", *argv],
                cwd=cwd,  # so no .env of the checkout leaks in
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,  # Ctrl-C reaches the benchmark, which stops us in order
            )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def check_alive(self) -> None:
        if self.popen.poll() is not None:
            raise BenchError(f"{self.name} exited with {self.popen.returncode}:\n{self.tails()}")

    def tails(self, lines: int = 30) -> str:
        return "\n".join(
            f"== {self.name} {path.name}:\n{tail(path, lines)}"
            for path in (self.stdout_path, self.stderr_path)
        )

    def log_problems(self) -> list[str]:
        """Lines of its stderr at level warning or above (the logs are JSON lines)."""
        try:
            text = self.stderr_path.read_text(errors="replace")
        except OSError:
            return []
        return [
            line
            for line in text.splitlines()
            if '"level": "warning"' in line
            or '"level": "error"' in line
            or "Traceback" in line
            or line.startswith(("WARNING", "ERROR"))
        ]

    def stop(self) -> None:
        """SIGTERM (uvicorn's and the worker's graceful stop), then SIGKILL after a deadline."""
        if self.popen.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                self.popen.kill()
            self.popen.wait(timeout=STOP_SECONDS)


class RedisServer:
    """A redis-server of our own on a free port (never the machine's shared one)."""

    def __init__(self, directory: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise BenchError("redis-server is not installed (Debian package redis-server)")
        directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.popen = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                HOST,
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(directory),
                "--logfile",
                str(directory / "redis.log"),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self._wait()

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    @property
    def pid(self) -> int:
        return self.popen.pid

    def _wait(self) -> None:
        import socket

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise BenchError(f"redis-server exited with {self.popen.returncode}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection((HOST, self.port), timeout=0.5) as conn,
            ):
                conn.sendall(b"PING\r\n")
                if conn.recv(16).startswith(b"+PONG"):
                    return
            time.sleep(0.02)
        raise BenchError("redis-server did not answer PING in time")

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
        self.popen.wait()


# PostgreSQL ------------------------------------------------------------------------------------


def _plain(url: str) -> str:
    """A SQLAlchemy URL as asyncpg takes it (postgresql://...)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def database_url(admin_url: str, name: str) -> str:
    """The URL Confide gets for database `name` on the server of `admin_url` (asyncpg driver)."""
    url = make_url(admin_url).set(drivername="postgresql+asyncpg", database=name)
    return url.render_as_string(hide_password=False)


async def _admin(admin_url: str, sql: str) -> None:
    conn = await asyncpg.connect(_plain(admin_url), timeout=10)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def create_database(admin_url: str) -> str:
    name = f"confide_bench_{secrets.token_hex(6)}"
    try:
        asyncio.run(_admin(admin_url, f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as exc:
        raise BenchError(f"cannot create a database on {admin_url}: {exc}") from exc
    return name


def drop_database(admin_url: str, name: str) -> None:
    asyncio.run(_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# The cluster -----------------------------------------------------------------------------------


def base_env(data_dir: Path, extra: dict[str, str]) -> dict[str, str]:
    """A process's environment: none of the caller's CONFIDE_*, as tests/multihost does."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("CONFIDE_")}
    env.update(
        CONFIDE_SECRET_KEY=SECRET,
        CONFIDE_MASTER_KEYS=MASTER_KEYS,  # one key ring for every process
        CONFIDE_DATA_DIR=str(data_dir),
        CONFIDE_ALLOWED_HOSTS="127.0.0.1,localhost",
        CONFIDE_ARGON2_TIME_COST="1",
        CONFIDE_ARGON2_MEMORY_KIB="256",
        CONFIDE_ARGON2_PARALLELISM="1",
        # At INFO every request writes a JSON access line; formatting it would dominate.
        CONFIDE_LOG_LEVEL="WARNING",
        CONFIDE_ACCESS_TOKEN_TTL_SECONDS=str(TOKEN_TTL_SECONDS),
        **LOAD_LIMITS,
        COLUMNS="120",
        NO_COLOR="1",
    )
    env.update(extra)
    return env


class Cluster:
    """A layout's processes and services; `close()` stops everything and drops the database."""

    def __init__(
        self, layout: Layout, *, root: Path, admin_url: str, pool: tuple[int, int]
    ) -> None:
        self.layout = layout
        self.root = root
        self.admin_url = admin_url
        self.pool_size, self.max_overflow = pool
        self.database: str | None = None
        self.database_url: str | None = None
        self.redis: RedisServer | None = None
        self.mock: Process | None = None
        self.serves: list[Process] = []
        self.workers: list[Process] = []
        root.mkdir(parents=True)

    # Set-up ------------------------------------------------------------------------------------

    def start(self, extra_env: dict[str, str]) -> None:
        layout = self.layout
        shared: dict[str, str] = dict(layout.env)
        if layout.postgres:
            self.database = create_database(self.admin_url)
            self.database_url = database_url(self.admin_url, self.database)
            shared.update(
                CONFIDE_DATABASE_URL=self.database_url,
                CONFIDE_DB_POOL_SIZE=str(self.pool_size),
                CONFIDE_DB_MAX_OVERFLOW=str(self.max_overflow),
            )
        if layout.redis:
            self.redis = RedisServer(self.root / "redis")
            shared["CONFIDE_REDIS_URL"] = self.redis.url
        if layout.mock_llm:
            port = free_port()
            self.mock = self._process(
                "mock-llm", ["mock-llm", "--host", HOST, "--port", str(port), "--faults"], {}
            )
            self.mock.port = port
            shared.update(
                CONFIDE_LLM_BASE_URL=f"http://{HOST}:{port}/v1",
                CONFIDE_LLM_MODEL="confide-scripted",
            )
        shared.update(extra_env)
        if layout.postgres:
            self._upgrade(shared)
        for number in range(layout.serves):
            port = free_port()
            serve = self._process(
                f"serve-{number + 1}",
                ["serve", "--host", HOST, "--port", str(port)],
                {**shared, "CONFIDE_JOBS": layout.jobs},
            )
            serve.port = port
            self.serves.append(serve)
        for number in range(layout.workers):
            self.workers.append(self._process(f"worker-{number + 1}", ["worker"], shared))
        if self.mock is not None:
            self._wait_http(self.mock, "/v1/models")
        for serve in self.serves:
            self._wait_http(serve, "/api/ready")
        for worker in self.workers:
            self._wait_worker(worker)

    def _process(self, name: str, argv: list[str], env: dict[str, str]) -> Process:
        cwd = self.root / name
        cwd.mkdir()
        return Process(name, argv, env=base_env(cwd / "data", env), cwd=cwd)

    def _upgrade(self, env: dict[str, str]) -> None:
        cwd = self.root / "upgrade"
        cwd.mkdir()
        done = subprocess.run(
            [sys.executable, "-m", "confide", "db", "upgrade"],
            cwd=cwd,
            env=base_env(cwd / "data", env),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise BenchError(f"confide db upgrade failed:\n{done.stdout}{done.stderr}")

    @staticmethod
    def _wait_http(process: Process, path: str) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        url = f"http://{HOST}:{process.port}{path}"
        with httpx.Client(timeout=2) as client:
            while time.monotonic() < deadline:
                process.check_alive()
                with contextlib.suppress(httpx.TransportError):
                    if client.get(url).status_code == 200:
                        return
                time.sleep(0.05)
        raise BenchError(f"{process.name} did not answer {path} in time:\n{process.tails()}")

    @staticmethod
    def _wait_worker(process: Process) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            process.check_alive()
            if "Confide worker executing" in process.stdout_path.read_text(errors="replace"):
                return
            time.sleep(0.05)
        raise BenchError(f"{process.name} did not start in time:\n{process.tails()}")

    # Use ---------------------------------------------------------------------------------------

    @property
    def ports(self) -> list[int]:
        return [serve.port for serve in self.serves if serve.port is not None]

    @property
    def confide_processes(self) -> list[Process]:
        return [*self.serves, *self.workers]

    @property
    def sqlite_path(self) -> Path | None:
        if self.layout.postgres:
            return None
        return self.serves[0].cwd / "data" / "confide.db"

    def check_alive(self) -> None:
        for process in self.confide_processes:
            process.check_alive()

    def log_problems(self) -> dict[str, list[str]]:
        return {
            process.name: problems
            for process in [*self.confide_processes, *([self.mock] if self.mock else [])]
            if (problems := process.log_problems())
        }

    def describe(self) -> dict[str, Any]:
        return {
            "serves": self.layout.serves,
            "workers": self.layout.workers,
            "database": "postgresql" if self.layout.postgres else "sqlite",
            "redis": self.layout.redis,
            "jobs": self.layout.jobs,
            "db_pool_size": self.pool_size if self.layout.postgres else None,
            "db_max_overflow": self.max_overflow if self.layout.postgres else None,
            "pids": {p.name: p.pid for p in self.confide_processes},
        }

    # Tear-down ---------------------------------------------------------------------------------

    def close(self) -> None:
        """Stop every process (all at once, then wait), Redis, and drop the database."""
        processes = [*self.serves, *self.workers, *([self.mock] if self.mock else [])]
        for process in processes:
            if process.popen.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    process.popen.send_signal(signal.SIGTERM)
        for process in processes:
            process.stop()
        if self.redis is not None:
            self.redis.stop()
        if self.database is not None:
            try:
                drop_database(self.admin_url, self.database)
            except (OSError, asyncpg.PostgresError) as exc:
                print(f"could not drop database {self.database}: {exc}", file=sys.stderr)
            self.database = None


# CPU accounting --------------------------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu(pid: int) -> float | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _postgres_cpu() -> dict[int, float]:
    """CPU seconds of every PostgreSQL process of the machine (the server is shared: other
    databases' work counts too)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "postgres":
                continue
        except OSError:
            continue
        seconds = _cpu(int(entry.name))
        if seconds is not None:
            found[int(entry.name)] = seconds
    return found


def _machine() -> tuple[float, float, float]:
    """(busy, stolen, total) CPU seconds of the whole machine since boot, all CPUs."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    busy = user + nice + system + irq + softirq
    return busy / CLOCK_TICKS, steal / CLOCK_TICKS, sum(fields) / CLOCK_TICKS


@dataclass
class CpuSnapshot:
    """CPU seconds used so far by each group of processes, and by the whole machine."""

    wall: float
    pids: dict[int, float]
    postgres: dict[int, float]
    own: float
    machine: tuple[float, float, float]


class CpuMeter:
    """CPU each side used between two snapshots, in cores (1.0 = one CPU busy all along):
    the serve and worker processes, Redis, the mock LLM, PostgreSQL, the load generator, and
    the machine (busy, stolen by the hypervisor, and `others`: every process not of the
    benchmark, i.e. neighbours)."""

    def __init__(self, cluster: Cluster) -> None:
        self.groups: dict[str, list[int]] = {
            "serve": [p.pid for p in cluster.serves],
            "worker": [p.pid for p in cluster.workers],
            "redis": [cluster.redis.pid] if cluster.redis else [],
            "mock_llm": [cluster.mock.pid] if cluster.mock else [],
        }
        self.shares: dict[str, float] = {}
        self.seconds: dict[str, float] = {}

    def snapshot(self) -> CpuSnapshot:
        return CpuSnapshot(
            wall=time.perf_counter(),
            pids={pid: _cpu(pid) or 0.0 for pids in self.groups.values() for pid in pids},
            postgres=_postgres_cpu(),
            own=own_cpu_seconds(),
            machine=_machine(),
        )

    def between(self, a: CpuSnapshot, b: CpuSnapshot) -> tuple[dict[str, float], dict[str, float]]:
        """(cores, seconds) by group from snapshot `a` to snapshot `b`."""
        wall = b.wall - a.wall
        seconds = {
            group: sum(b.pids.get(pid, 0.0) - a.pids.get(pid, 0.0) for pid in pids)
            for group, pids in self.groups.items()
        }
        # Backends that started in between count whole; those that ended are lost.
        seconds["postgres"] = sum(now - a.postgres.get(pid, 0.0) for pid, now in b.postgres.items())
        seconds["generator"] = b.own - a.own
        busy, steal, total = (y - x for x, y in zip(a.machine, b.machine, strict=True))
        seconds["machine_busy"], seconds["machine_steal"] = busy, steal
        ours = sum(
            seconds.get(k, 0.0)
            for k in ("serve", "worker", "redis", "mock_llm", "postgres", "generator")
        )
        seconds["others"] = max(busy - ours, 0.0)
        shares = {k: v / wall for k, v in seconds.items()} if wall > 0 else {}
        shares["machine_busy_share"] = busy / total if total else 0.0
        shares["machine_steal_share"] = steal / total if total else 0.0
        shares["cpus"] = os.cpu_count() or 1
        return shares, seconds

    def __enter__(self) -> CpuMeter:
        self._start = self.snapshot()
        return self

    def __exit__(self, *_: object) -> None:
        self.shares, self.seconds = self.between(self._start, self.snapshot())
