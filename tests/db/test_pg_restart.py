"""PostgreSQL stopped and started again under load: a server of the test's own (never the
machine's shared one), stopped with `pg_ctl stop -m fast` while clients keep sending. Requests
in the outage get 503 `unavailable`, never a 500; once it is back Confide serves again without
a restart, and every write it acknowledged is there."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from confide.db.migrate import upgrade
from tests.conftest import unavailable
from tests.db.test_pool_faults import assert_success_or_unavailable, stored_thread_ids, under_load
from tests.factories import signed_up
from tests.live_server import serve

# The app's own settings name the private server; the suite's database is not used.
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

WORKERS = 6
ANSWERS_BEFORE = 60
OUTAGE_ANSWERS = 6  # 503s seen while it is down
ANSWERS_AFTER = 60


def _bindir() -> Path | None:
    found = shutil.which("pg_config")
    if found:
        out = subprocess.run([found, "--bindir"], capture_output=True, text=True, check=False)
        path = Path(out.stdout.strip())
        if (path / "initdb").exists():
            return path
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists():
            return candidate
    return None


class PrivatePostgres:
    """initdb into a temporary directory, served on a free port; stop() and start() keep it."""

    def __init__(self, root: Path) -> None:
        bindir = _bindir()
        if bindir is None:
            unavailable("PostgreSQL's initdb and pg_ctl are not installed")
        self.bindir = bindir
        self.root = root
        self.data = root / "data"
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        # PostgreSQL refuses to run as root: then as the `postgres` account.
        self.user = "postgres" if os.geteuid() == 0 else None
        if self.user is not None:
            try:
                entry = pwd.getpwnam(self.user)
            except KeyError:
                unavailable("running as root and there is no postgres account to run initdb")
            os.chown(root, entry.pw_uid, entry.pw_gid)

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bindir / tool), *args]
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.root / "pg.log"),
            "-w",
            "start",
        )

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    # Not under pytest's temporary directory: it is private to root, and the server may run
    # as the postgres account.
    root = Path(tempfile.mkdtemp(prefix="confide-pg-"))
    try:
        server = PrivatePostgres(root)
        server.init()
        server.start()
        try:
            yield server
        finally:
            with contextlib.suppress(subprocess.CalledProcessError):
                server.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


async def test_postgresql_stopped_and_started_under_load_is_503_then_served_again(
    settings_factory: Callable[..., Any], private_postgres: PrivatePostgres
) -> None:
    from confide.app import create_app

    url = private_postgres.url
    await upgrade(url)
    app: FastAPI = create_app(settings_factory(database_url=url, db_connect_timeout_seconds=2))
    try:
        async with serve(app) as address:
            base_url = f"http://{address}"
            async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
                _, headers = await signed_up(client)
            async with under_load(base_url, headers, WORKERS) as load:
                await load.until(ANSWERS_BEFORE)
                await asyncio.to_thread(private_postgres.stop)
                async with load.progress:  # the outage, as the clients see it
                    await load.progress.wait_for(
                        lambda: sum(r.status_code == 503 for _, r in load.answers) >= OUTAGE_ANSWERS
                    )
                await asyncio.to_thread(private_postgres.start)
                served = len(load.answers)
                async with load.progress:  # served again, without a restart
                    await load.progress.wait_for(
                        lambda: sum(r.is_success for _, r in load.answers[served:]) >= ANSWERS_AFTER
                    )
    finally:
        await app.state.database.dispose()

    assert_success_or_unavailable(load)
    assert load.acknowledged <= await stored_thread_ids(url)  # nothing acknowledged lost
