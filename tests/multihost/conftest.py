"""Real processes sharing state as hosts behind a load balancer do: `confide serve` and
`confide worker` processes on one fresh PostgreSQL database and one private redis-server.

`cluster` (one per test module, for speed) creates the database `confide_mh_<random>` on the
server of CONFIDE_TEST_POSTGRES_URL, starts a redis-server of its own (tests/redis_server.py),
runs `confide db upgrade` once, and starts processes on demand:

    a = cluster.serve("a")                              # waits until /api/ready answers
    w = cluster.start_process(["worker", "--concurrency", "2"], name="w")
    a.kill()                                             # SIGKILL, as a crash would
    a.restart()                                          # same arguments, same port

Each process logs into `<tmp>/<name>/stdout.log` and `stderr.log`; a failing test shows their
tails. Everything is stopped at teardown (SIGTERM, then SIGKILL after a deadline) and the
database dropped. Tests share the module's processes, so each makes its own users
(`sign_up`, unique emails).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.conftest import (
    POSTGRES_URL,
    TEST_MASTER_KEYS,
    TEST_RATE_LIMITS,
    run_async,
    unavailable,
)
from tests.factories import PASSWORD
from tests.redis_server import RedisServer

# Shared by every process, as the hosts of one deployment share theirs (64 characters).
SECRET = "multihost-test-secret-0123456789abcdef0123456789abcdef0123456789"
STARTUP_SECONDS = 60.0
STOP_SECONDS = 15.0
TAIL_LINES = 40

_live: list[Cluster] = []


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Process:
    """One `python -m confide <argv>` process, restartable with the same arguments."""

    def __init__(
        self, name: str, argv: list[str], *, env: dict[str, str], cwd: Path, port: int | None
    ) -> None:
        self.name, self.argv, self.env, self.cwd, self.port = name, argv, env, cwd, port
        self.stdout_path = cwd / "stdout.log"
        self.stderr_path = cwd / "stderr.log"
        self.popen: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def base_url(self) -> str:
        assert self.port is not None, f"{self.name} serves no HTTP"
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://", 1)

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def start(self) -> None:
        assert not self.running, f"{self.name} is already running"
        self.starts += 1
        with self.stdout_path.open("ab") as out, self.stderr_path.open("ab") as err:
            banner = f"--- start {self.starts}: confide {' '.join(self.argv)}\n".encode()
            out.write(banner)
            err.write(banner)
            out.flush()
            err.flush()
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "confide", *self.argv],
                cwd=self.cwd,
                env=self.env,
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
            )

    def wait_until_ready(self) -> None:
        """Until /api/ready answers 200 (the app's start-up is done: its lifespan ran)."""
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            assert self.popen is not None
            if self.popen.poll() is not None:
                pytest.fail(f"{self.name} exited with {self.popen.returncode}\n{self.tail()}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{self.base_url}/api/ready", timeout=2).status_code == 200:
                    return
            time.sleep(0.05)  # polling the condition, not waiting for it to happen
        pytest.fail(f"{self.name} was not ready within {STARTUP_SECONDS}s\n{self.tail()}")

    def kill(self, sig: signal.Signals = signal.SIGKILL) -> int:
        """Send `sig` and wait for the process to end; its exit code."""
        assert self.popen is not None
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
        return self.popen.wait(timeout=STOP_SECONDS)

    def restart(self) -> None:
        """Kill it if it runs, start it again with the same arguments, wait until ready."""
        if self.running:
            self.kill()
        self.start()
        if self.port is not None:
            self.wait_until_ready()

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not stopped by the deadline."""
        if self.popen is None or self.popen.poll() is not None:
            return
        self.popen.terminate()
        try:
            self.popen.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout=STOP_SECONDS)

    def tail(self, lines: int = TAIL_LINES) -> str:
        parts = []
        for path in (self.stdout_path, self.stderr_path):
            text_lines = path.read_text(errors="replace").splitlines() if path.exists() else []
            parts.append(f"== {self.name} {path.name} (last {lines} lines)")
            parts.extend(text_lines[-lines:])
        return "\n".join(parts)


class Cluster:
    """The shared database and Redis, and the processes started on them."""

    def __init__(self, *, root: Path, database_url: str, redis: RedisServer) -> None:
        self.root = root
        self.database_url = database_url
        self.redis = redis
        self.processes: list[Process] = []

    def env(self, data_dir: Path, **extra: str) -> dict[str, str]:
        """The environment of a process: none of the caller's CONFIDE_*, the shared services."""
        env = {k: v for k, v in os.environ.items() if not k.upper().startswith("CONFIDE_")}
        env.update(
            CONFIDE_DATABASE_URL=self.database_url,
            CONFIDE_REDIS_URL=self.redis.url,
            CONFIDE_SECRET_KEY=SECRET,
            # One key ring for every process, as a deployment must have (each its own key file
            # would make the others' data keys unreadable to it).
            CONFIDE_MASTER_KEYS=TEST_MASTER_KEYS,
            CONFIDE_DATA_DIR=str(data_dir),
            CONFIDE_ALLOWED_HOSTS="127.0.0.1,localhost",
            CONFIDE_ARGON2_TIME_COST="1",
            CONFIDE_ARGON2_MEMORY_KIB="256",
            CONFIDE_ARGON2_PARALLELISM="1",
            # Long enough that no test can pass because an entry simply expired.
            CONFIDE_SESSION_CACHE_TTL_SECONDS="60",
            # Tests sign up and chat fast from one address (tests/ratelimit sets its own).
            **{f"CONFIDE_{name.upper()}": limit for name, limit in TEST_RATE_LIMITS.items()},
            COLUMNS="120",
            NO_COLOR="1",
        )
        env.update(extra)
        return env

    def start_process(
        self, argv: list[str], *, name: str, env: dict[str, str] | None = None
    ) -> Process:
        """Start `confide <argv>` (`env`: extra variables); `serve` waits until ready."""
        cwd = self.root / name
        cwd.mkdir(parents=True, exist_ok=False)
        port = None
        if argv[:1] == ["serve"]:
            port = free_port()
            argv = [*argv, "--host", "127.0.0.1", "--port", str(port)]
        process = Process(name, argv, env=self.env(cwd / "data", **(env or {})), cwd=cwd, port=port)
        self.processes.append(process)
        process.start()
        if port is not None:
            process.wait_until_ready()
        return process

    def serve(self, name: str, **env: str) -> Process:
        """A `confide serve` process, ready."""
        return self.start_process(["serve"], name=name, env=env)

    def worker(self, name: str, *, concurrency: int = 2, **env: str) -> Process:
        """A `confide worker` process (started; it serves no HTTP to wait on)."""
        return self.start_process(["worker", "--concurrency", str(concurrency)], name=name, env=env)

    def upgrade(self) -> None:
        cwd = self.root / "upgrade"
        cwd.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            [sys.executable, "-m", "confide", "db", "upgrade"],
            cwd=cwd,
            env=self.env(cwd / "data"),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr

    async def execute(self, sql: str, **params: Any) -> None:
        """Run one statement on the shared database (to look behind the API's back)."""
        engine = create_async_engine(self.database_url)
        try:
            async with engine.begin() as conn:
                await conn.execute(text(sql), params)
        finally:
            await engine.dispose()

    def stop(self) -> None:
        for process in self.processes:
            process.stop()

    def tails(self) -> str:
        return "\n\n".join(process.tail() for process in self.processes)


async def _create_database(admin_url: str, name: str) -> None:
    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await engine.dispose()


async def _drop_database(admin_url: str, name: str) -> None:
    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    if not POSTGRES_URL:
        unavailable("PostgreSQL not configured: set CONFIDE_TEST_POSTGRES_URL")
    root = tmp_path_factory.mktemp("multihost")
    name = f"confide_mh_{uuid.uuid4().hex[:12]}"
    try:
        run_async(lambda: _create_database(POSTGRES_URL, name))
    except OSError as exc:
        unavailable(f"PostgreSQL at CONFIDE_TEST_POSTGRES_URL is not reachable: {exc}")
    try:
        redis_dir = root / "redis"
        redis_dir.mkdir()
        redis = RedisServer(redis_dir)
        redis.start()
        try:
            database_url = make_url(POSTGRES_URL).set(database=name)
            shared = Cluster(
                root=root,
                database_url=database_url.render_as_string(hide_password=False),
                redis=redis,
            )
            shared.upgrade()
            _live.append(shared)
            try:
                yield shared
            finally:
                _live.remove(shared)
                shared.stop()
        finally:
            redis.stop()
    finally:
        run_async(lambda: _drop_database(POSTGRES_URL, name))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item) -> Any:
    report = yield
    if report.failed and _live:
        report.sections.append(
            ("confide processes (log tails)", "\n\n".join(c.tails() for c in _live))
        )
    return report


# A small typed client ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Account:
    user_id: str
    email: str
    password: str


@dataclass(frozen=True, slots=True)
class SignedIn:
    access_token: str
    refresh_token: str
    session_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


def unique_email(prefix: str = "mh") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}@example.org"


async def sign_up(client: httpx.AsyncClient, *, password: str = PASSWORD) -> Account:
    """Register a new account with a unique email through the JSON API."""
    email = unique_email()
    response = await client.post("/api/auth/register", json={"email": email, "password": password})
    assert response.status_code == 201, response.text
    return Account(user_id=response.json()["id"], email=email, password=password)


async def sign_in(client: httpx.AsyncClient, account: Account) -> SignedIn:
    """A bearer session for the account (JSON login)."""
    response = await client.post(
        "/api/auth/login", json={"email": account.email, "password": account.password}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    return SignedIn(
        access_token=body["access_token"],
        refresh_token=body["refresh_token"],
        session_id=body["session_id"],
    )
