"""What the benchmarks share: a `confide serve` process on a temporary data directory (of the
working tree, or of a git revision's source exported beside it), CPU pinning and CPU accounting,
a registered account with a bearer token, and small helpers for arguments, percentiles and the
JSON results.

Imported by the scripts next to it (`python bench/<name>.py` puts bench/ on sys.path).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import re
import resource
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
HOST = "127.0.0.1"
HEALTH = "/api/health"
ME = "/api/auth/me"
THREADS = "/api/threads"
# The access token must outlive a whole measured phase; we log in again when it might not.
TOKEN_TTL_SECONDS = 3600


class BenchError(Exception):
    pass


# The server ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def confide_command() -> list[str]:
    script = Path(sys.executable).with_name("confide")
    if script.exists():
        return [str(script)]
    found = shutil.which("confide")
    return [found] if found else [sys.executable, "-m", "confide"]


ALL_CPUS: set[int] = set(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else set()


def pin(cpu: int | None) -> None:
    """Pin this thread (and what it starts from now on) to one CPU; None: every CPU."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu} if cpu is not None else ALL_CPUS)


def cpus(no_pin: bool) -> tuple[int | None, int | None]:
    """(server CPU, generator CPU), or (None, None) when not pinning."""
    if no_pin or len(ALL_CPUS) < 2:
        return None, None
    ordered = sorted(ALL_CPUS)
    return ordered[0], ordered[1]


# A load generator is one client IP driving many accounts at full speed: the budgets and
# lockouts meant for people (CONFIDE_RATE_LIMIT_*, CONFIDE_LOCKOUT_*, CONFIDE_IP_BLOCK_*) would
# measure the limiter's refusals. They are raised out of reach, not turned off, so every
# request still pays for the checks. (A version of Confide without them ignores them.)
LOAD_LIMITS = {
    **{
        f"CONFIDE_RATE_LIMIT_{name}": "100000000/minute"
        for name in (
            "RUNS_PER_USER",
            "RUNS_PER_SESSION",
            "RUNS_PER_CHANNEL",
            "API_PER_USER",
            "LOGIN_PER_IP",
            "REGISTER_PER_IP",
            "RESET_PER_IP",
            "CODES_PER_IP",
        )
    },
    "CONFIDE_LOCKOUT_THRESHOLD": "1000",
    "CONFIDE_IP_BLOCK_THRESHOLD": "1000000",
}


def server_env(data_dir: Path, extra_env: dict[str, str], source: Path | None) -> dict[str, str]:
    """The server's environment. CONFIDE_* variables of the caller's environment are left out,
    so every run measures the same set-up; `extra_env` (from --env) is the way to change it.
    `source`: a `src` directory to import confide from (PYTHONPATH comes before the editable
    install's path) instead of the working tree."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONFIDE_")}
    env.update(
        CONFIDE_DATA_DIR=str(data_dir),
        CONFIDE_LOG_LEVEL="WARNING",
        CONFIDE_ACCESS_TOKEN_TTL_SECONDS=str(TOKEN_TTL_SECONDS),
        **LOAD_LIMITS,
    )
    env.update(extra_env)
    if source is not None:
        env["PYTHONPATH"] = str(source)
    return env


@contextlib.contextmanager
def confide_server(
    data_dir: Path,
    port: int,
    cpu: int | None,
    timeout: float,
    extra_env: dict[str, str],
    *,
    source: Path | None = None,
) -> Iterator[tuple[str, int]]:
    """A `confide serve` process (one uvicorn worker) on a fresh data directory; it migrates
    its embedded SQLite database itself. `source`: see `server_env`."""
    env = server_env(data_dir, extra_env, source)
    log_path = data_dir / "server.log"
    base = f"http://{HOST}:{port}"
    with log_path.open("wb") as log:
        if cpu is not None:
            pin(cpu)  # the child inherits this affinity
        try:
            process = subprocess.Popen(
                [*confide_command(), "serve", "--host", HOST, "--port", str(port)],
                cwd=data_dir,  # so no .env of the checkout leaks in
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches us; we stop the server in order
            )
        finally:
            if cpu is not None:
                pin(None)
        try:
            wait_healthy(process, base, timeout, log_path)
            yield base, process.pid
        finally:
            stop(process)


def wait_healthy(process: subprocess.Popen[bytes], base: str, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise BenchError(f"the server exited with {process.returncode}:\n{tail(log)}")
            with contextlib.suppress(httpx.TransportError):
                if client.get(base + HEALTH).status_code == 200:
                    return
            time.sleep(0.1)
    raise BenchError(f"the server did not answer {HEALTH} within {timeout:g} s:\n{tail(log)}")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)  # uvicorn's graceful shutdown
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no server log)"


# Which code a server runs ------------------------------------------------------------------------


@dataclass(frozen=True)
class Revision:
    """A git revision of the project whose `src/` was exported to run a server from."""

    name: str  # as given, e.g. "c3944cd" or "HEAD~1"
    commit: str  # the full hash
    short: str
    subject: str
    source: Path  # the exported src/ directory, for PYTHONPATH


def git(*args: str) -> subprocess.CompletedProcess[bytes]:
    """A read-only git command in the project's checkout."""
    # --no-optional-locks: never refresh the index, which others may be using.
    return subprocess.run(
        ["git", "--no-optional-locks", "-C", str(ROOT), *args], capture_output=True, check=False
    )


def export_revision(name: str, dest: Path) -> Revision:
    """`src/` of revision `name` extracted under `dest` (`git archive`: no checkout, no
    worktree, nothing in the checkout changes)."""
    found = git("rev-parse", "--verify", "--quiet", f"{name}^{{commit}}")
    if found.returncode != 0:
        raise BenchError(f"--baseline {name}: not a commit of {ROOT}")
    commit = found.stdout.decode().strip()
    described = git("log", "-1", "--format=%h%x00%s", commit).stdout.decode()
    short, _, subject = described.partition("\0")
    archive = git("archive", "--format=tar", commit, "src")
    if archive.returncode != 0:
        raise BenchError(f"git archive {commit} src: {archive.stderr.decode().strip()}")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        # The "data" filter refuses absolute paths, links out of `dest` and device files.
        tar.extractall(dest, filter="data")
    source = dest / "src"
    if not (source / "confide" / "__init__.py").is_file():
        raise BenchError(f"--baseline {name}: {commit[:12]} has no src/confide package")
    return Revision(name, commit, short.strip(), subject.strip(), source)


_IMPORTED = (
    "import json, confide, confide.db.migrate as m; "
    "print(json.dumps({'confide': confide.__file__, 'schema_head': m.head_revision()}))"
)


def imported_code(env: dict[str, str], cwd: Path) -> dict[str, str]:
    """Where a server started with `env` imports confide from, and the newest migration of
    that code: the same interpreter (the `confide` script's) and environment as the server."""
    done = subprocess.run(
        [sys.executable, "-c", _IMPORTED], env=env, cwd=cwd, capture_output=True, check=False
    )
    if done.returncode != 0:
        raise BenchError(f"importing confide failed:\n{done.stderr.decode(errors='replace')}")
    found: dict[str, str] = json.loads(done.stdout)
    return found


def schema_revision(database: Path) -> str | None:
    """The migration an SQLite database is at (alembic_version), None when it has none."""
    with contextlib.closing(sqlite3.connect(database, timeout=30)) as db:
        try:
            row = db.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.Error:
            return None
    return None if row is None else str(row[0])


@dataclass(frozen=True)
class ServerUnderTest:
    """A started `confide serve`, the working tree's or a revision's, and the code and schema it
    was checked to run (see `start_server_under_test`)."""

    key: str  # e.g. "current" or "baseline": where its figures go in the JSON results
    label: str  # "working tree", or the revision's short hash
    revision: Revision | None
    base: str
    pid: int
    database: Path | None  # its SQLite file; None: a database from --env
    code: dict[str, str]  # where it imports confide from, that code's newest migration
    schema: str | None  # the migration its database is at once the server is up

    @property
    def port(self) -> int:
        return int(self.base.rsplit(":", 1)[1])

    def as_json(self) -> dict[str, Any]:
        described: dict[str, Any] = {"confide": self.code["confide"], "schema": self.schema}
        if self.revision is None:
            described |= {"git_commit": git_commit(), "src_changed": src_changed()}
        else:
            described |= {
                "revision": self.revision.name,
                "commit": self.revision.commit,
                "subject": self.revision.subject,
            }
        return described


def start_server_under_test(
    servers: contextlib.ExitStack,
    *,
    key: str,
    label: str,
    revision: Revision | None,
    data_dir: Path,
    cpu: int | None,
    timeout: float,
    extra_env: dict[str, str],
) -> ServerUnderTest:
    """Start a server on a fresh `data_dir` (stopped when `servers` closes) and check it runs the
    code it should: the revision's when there is one (its exported src/ on PYTHONPATH), and an
    embedded SQLite database its own code migrated to that code's newest migration."""
    data_dir.mkdir(parents=True)
    source = None if revision is None else revision.source
    code = imported_code(server_env(data_dir, extra_env, source), data_dir)
    if source is not None and not Path(code["confide"]).resolve().is_relative_to(source.resolve()):
        raise BenchError(f"the {label} server would import {code['confide']}, not {source}")
    base, pid = servers.enter_context(
        confide_server(data_dir, free_port(), cpu, timeout, extra_env, source=source)
    )
    database = None if "CONFIDE_DATABASE_URL" in extra_env else data_dir / "confide.db"
    schema = None if database is None else schema_revision(database)
    if database is not None and schema != code["schema_head"]:
        raise BenchError(
            f"the {label} server's database is at migration {schema}, "
            f"but its code's newest migration is {code['schema_head']}"
        )
    return ServerUnderTest(key, label, revision, base, pid, database, code, schema)


# CPU accounting --------------------------------------------------------------------------------


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process (all its threads), from /proc; None elsewhere."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def thread_cpu_seconds(pid: int) -> float | None:
    """CPU seconds of a process's main thread, to the nanosecond (/proc/<pid>/schedstat; the
    process-wide /proc/<pid>/stat counts in 10 ms ticks). None where there is no such file."""
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9
    except (OSError, ValueError, IndexError):
        return None


def own_cpu_seconds() -> float:
    """CPU seconds of this process and of the children it waited for (wrk)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


# Accounts --------------------------------------------------------------------------------------


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


# Arguments, figures, results -------------------------------------------------------------------


def parse_env(parser: argparse.ArgumentParser, items: list[str]) -> dict[str, str]:
    """--env CONFIDE_NAME=VALUE items as a dict (a parser error for anything else)."""
    extra_env: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.startswith("CONFIDE_"):
            parser.error(f"--env {item!r}: expected CONFIDE_NAME=VALUE")
        extra_env[name] = value
    return extra_env


def uvloop_factory() -> Callable[[], Any] | None:
    """uvloop's event loop factory when uvloop is installed (a faster load generator)."""
    try:
        import uvloop
    except ImportError:
        return None
    factory: Callable[[], Any] = uvloop.new_event_loop
    return factory


def percentile(ordered: list[float], q: float) -> float:
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))
    return ordered[index]


def git_commit() -> str | None:
    try:
        done = git("rev-parse", "--short", "HEAD")
    except OSError:
        return None
    return done.stdout.decode().strip() or None


def src_changed() -> bool | None:
    """Whether the working tree's src/ differs from HEAD (changes or new files)."""
    try:
        done = git("status", "--porcelain", "--", "src")
    except OSError:
        return None
    return bool(done.stdout.strip()) if done.returncode == 0 else None


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def masked(value: str) -> str:
    """A URL's password hidden (postgresql+asyncpg://user:***@host/db)."""
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", value)


def round3(share: float | None) -> float | None:
    return None if share is None else round(share, 3)


def pct(share: float | None) -> str:
    return "n/a" if share is None else f"{share:4.0%}"


def shown(path: Path) -> str:
    with contextlib.suppress(ValueError):
        return str(path.resolve().relative_to(Path.cwd()))
    return str(path)


def interrupt(_signum: int, _frame: object) -> None:
    """SIGTERM handler: unwind like Ctrl-C, so `kill` stops the server too."""
    raise KeyboardInterrupt
