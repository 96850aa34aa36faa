"""The `confide` command, run as operators run it: a real process, a real uvicorn."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from confide.config import load_or_create_secret_key
from confide.db.migrate import head_revision, upgrade
from tests.conftest import POSTGRES_URL, TEST_MASTER_KEYS, run_async, unavailable
from tests.factories import PASSWORD

CONFIDE = str(Path(sys.executable).with_name("confide"))
STARTUP_SECONDS = 20
SECRET = "cli-test-secret-that-is-long-enough-0123456789-abcdef"
ADMIN_EMAIL = "a@example.org"
# Production with the host names set (required there), so a test sees the problem it is about.
PRODUCTION = {
    "CONFIDE_ENV": "production",
    "CONFIDE_ALLOWED_HOSTS": "chat.example.org",
    "CONFIDE_MASTER_KEYS": TEST_MASTER_KEYS,
}


def cli_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The caller's environment without any CONFIDE_* setting, plus what the test says."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("CONFIDE_")}
    env.update(
        CONFIDE_DATA_DIR=str(data_dir),
        CONFIDE_ARGON2_TIME_COST="1",
        CONFIDE_ARGON2_MEMORY_KIB="256",
        CONFIDE_ARGON2_PARALLELISM="1",
        COLUMNS="120",
        NO_COLOR="1",
    )
    env.update(extra)
    return env


def confide(
    *args: str, cwd: Path, env: dict[str, str], stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CONFIDE, *args],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    """`confide serve` in the background; stderr (the JSON log) goes to a file."""

    def __init__(self, args: list[str], *, cwd: Path, env: dict[str, str], port: int) -> None:
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.stdout = (cwd / f"serve-{port}.out").open("w+")
        self.stderr = (cwd / f"serve-{port}.err").open("w+")
        self.process = subprocess.Popen(
            [CONFIDE, "serve", *args], cwd=cwd, env=env, stdout=self.stdout, stderr=self.stderr
        )

    def wait_until_healthy(self) -> httpx.Response:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(
                    f"confide serve exited with {self.process.returncode}:\n{self.output()}"
                )
            try:
                response = httpx.get(f"{self.base_url}/api/health", timeout=2)
            except httpx.TransportError:
                time.sleep(0.1)
                continue
            return response
        pytest.fail(f"confide serve did not answer within {STARTUP_SECONDS}s:\n{self.output()}")

    def output(self) -> str:
        self.stdout.seek(0)
        self.stderr.seek(0)
        return self.stdout.read() + self.stderr.read()

    def log(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read()

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)
        return self.process.returncode


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        server.stop()
        server.stdout.close()
        server.stderr.close()


def create_admin(tmp_path: Path, env: dict[str, str]) -> None:
    result = confide(
        "users", "create", "--email", ADMIN_EMAIL, "--admin", "--password-stdin",
        cwd=tmp_path, env=env, stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "administrator" in result.stdout
    assert PASSWORD not in result.stdout + result.stderr


def assert_graceful_stop(server: Server) -> None:
    # uvicorn shuts down cleanly on SIGTERM, then re-raises the signal to report it.
    assert server.stop() in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in server.log()
    assert "Traceback" not in server.log()


def assert_no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stdout + result.stderr
    assert 'File "' not in result.stdout + result.stderr


def problem_lines(stderr: str) -> list[str]:
    return [line.strip() for line in stderr.splitlines() if line.strip().startswith("CONFIDE_")]


# config check ----------------------------------------------------------------------------------


def test_config_check_shows_settings_without_secrets(tmp_path: Path) -> None:
    env = cli_env(
        tmp_path,
        CONFIDE_SECRET_KEY=SECRET,
        CONFIDE_DATABASE_URL="postgresql+asyncpg://confide:db-pass-4471@db.internal/confide",
    )
    result = confide("config", "check", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    assert SECRET not in output
    assert "db-pass-4471" not in output
    assert "db.internal" in output
    for name in ("CONFIDE_PORT", "CONFIDE_SECRET_KEY", "CONFIDE_ENV", "CONFIDE_DATABASE_URL"):
        assert name in result.stdout
    assert "valid" in result.stdout.lower()


def test_config_check_never_prints_a_generated_secret(tmp_path: Path) -> None:
    key = load_or_create_secret_key(tmp_path)
    result = confide("config", "check", cwd=tmp_path, env=cli_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "secret_key" in result.stdout  # says where it lives
    assert key not in result.stdout + result.stderr
    assert key[:12] not in result.stdout + result.stderr


def test_config_check_refuses_unsafe_production(tmp_path: Path) -> None:
    result = confide("config", "check", cwd=tmp_path, env=cli_env(tmp_path, **PRODUCTION))
    assert result.returncode != 0
    assert_no_traceback(result)
    lines = problem_lines(result.stderr)
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("CONFIDE_SECRET_KEY:")
    assert "CONFIDE_PORT" not in result.stdout  # no table of settings it refused


def test_config_check_prints_one_line_per_problem(tmp_path: Path) -> None:
    env = cli_env(
        tmp_path,
        **PRODUCTION,
        CONFIDE_SECRET_KEY="short-secret-xyz",
        CONFIDE_COOKIE_SECURE="false",
        CONFIDE_CORS_ORIGINS="*",
    )
    result = confide("config", "check", cwd=tmp_path, env=env)
    assert result.returncode != 0
    assert_no_traceback(result)
    lines = problem_lines(result.stderr)
    assert [line.split(":", 1)[0] for line in lines] == [
        "CONFIDE_SECRET_KEY",
        "CONFIDE_COOKIE_SECURE",
        "CONFIDE_CORS_ORIGINS",
    ]
    assert "short-secret-xyz" not in result.stdout + result.stderr


def test_config_check_reports_bad_values(tmp_path: Path) -> None:
    env = cli_env(tmp_path, CONFIDE_PORT="abc", CONFIDE_ACCESS_TOKEN_TTL_SECONDS="5")
    result = confide("config", "check", cwd=tmp_path, env=env)
    assert result.returncode != 0
    assert_no_traceback(result)
    lines = problem_lines(result.stderr)
    assert [line.split(":", 1)[0] for line in lines] == [
        "CONFIDE_PORT",
        "CONFIDE_ACCESS_TOKEN_TTL_SECONDS",
    ]


def test_serve_refuses_unsafe_production(tmp_path: Path) -> None:
    env = cli_env(tmp_path, **PRODUCTION)
    result = confide("serve", "--port", str(free_port()), cwd=tmp_path, env=env)
    assert result.returncode != 0
    assert_no_traceback(result)
    assert [line.split(":", 1)[0] for line in problem_lines(result.stderr)] == [
        "CONFIDE_SECRET_KEY"
    ]
    assert not (tmp_path / "confide.db").exists()


# db upgrade ------------------------------------------------------------------------------------


def tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def sqlite_revision(path: Path) -> str:
    with sqlite3.connect(path) as db:
        (revision,) = db.execute("SELECT version_num FROM alembic_version").fetchone()
        return str(revision)


def test_db_upgrade_creates_the_embedded_database(tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    result = confide("db", "upgrade", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    database = tmp_path / "confide.db"
    assert database.is_file()
    assert {"users", "alembic_version"} <= tables(database)
    assert sqlite_revision(database) == head_revision()
    again = confide("db", "upgrade", cwd=tmp_path, env=env)
    assert again.returncode == 0, again.stderr
    assert sqlite_revision(database) == head_revision()


def test_db_upgrade_creates_a_missing_data_directory(tmp_path: Path) -> None:
    data_dir = tmp_path / "deep" / "data"
    result = confide("db", "upgrade", cwd=tmp_path, env=cli_env(data_dir))
    assert result.returncode == 0, result.stderr
    assert (data_dir / "confide.db").is_file()


# users create ----------------------------------------------------------------------------------


def users(path: Path) -> list[tuple[str, bool, str]]:
    with sqlite3.connect(path) as db:
        rows = db.execute(
            "SELECT email, EXISTS (SELECT 1 FROM user_roles JOIN roles ON roles.id = role_id "
            "WHERE user_id = users.id AND roles.name = 'admin'), password_hash FROM users"
        ).fetchall()
    return [(email, bool(admin), hashed) for email, admin, hashed in rows]


def test_users_create_admin_from_stdin(tmp_path: Path) -> None:
    create_admin(tmp_path, cli_env(tmp_path))
    [(email, is_admin, password_hash)] = users(tmp_path / "confide.db")
    assert email == ADMIN_EMAIL
    assert is_admin
    assert PASSWORD not in password_hash
    assert password_hash.startswith("$argon2id$")


def test_users_create_works_when_registration_is_closed(tmp_path: Path) -> None:
    env = cli_env(tmp_path, CONFIDE_REGISTRATION_OPEN="false")
    result = confide(
        "users", "create", "--email", "b@example.org", "--password-stdin",
        cwd=tmp_path, env=env, stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = users(tmp_path / "confide.db")
    assert [(email, is_admin) for email, is_admin, _ in rows] == [("b@example.org", False)]


@pytest.mark.parametrize("password", ["short", "password1234"])
def test_users_create_refuses_a_weak_password(tmp_path: Path, password: str) -> None:
    result = confide(
        "users", "create", "--email", ADMIN_EMAIL, "--admin", "--password-stdin",
        cwd=tmp_path, env=cli_env(tmp_path), stdin=password + "\n",
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    assert "weak_password" in result.stderr
    assert_no_traceback(result)
    assert password not in result.stdout + result.stderr
    assert users(tmp_path / "confide.db") == []


def test_users_create_refuses_a_taken_email(tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    create_admin(tmp_path, env)
    result = confide(
        "users", "create", "--email", ADMIN_EMAIL.upper(), "--password-stdin",
        cwd=tmp_path, env=env, stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert result.returncode == 1
    assert "email_unavailable" in result.stderr
    assert_no_traceback(result)
    assert len(users(tmp_path / "confide.db")) == 1


def test_users_create_refuses_an_invalid_email(tmp_path: Path) -> None:
    result = confide(
        "users", "create", "--email", "not-an-email", "--password-stdin",
        cwd=tmp_path, env=cli_env(tmp_path), stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert result.returncode == 1
    assert "invalid_email" in result.stderr
    assert_no_traceback(result)


# serve -----------------------------------------------------------------------------------------


def test_serve_answers_and_the_cli_admin_can_sign_in(tmp_path: Path, servers: list[Server]) -> None:
    env = cli_env(tmp_path, CONFIDE_SECRET_KEY=SECRET, CONFIDE_PORT=str(free_port()))
    create_admin(tmp_path, env)
    port = free_port()  # the option wins over CONFIDE_PORT
    server = Server(["--port", str(port)], cwd=tmp_path, env=env, port=port)
    servers.append(server)
    health = server.wait_until_healthy()
    assert health.status_code == 200
    assert health.json() == {"status": "ok"}
    assert "server" not in health.headers
    assert health.headers["x-content-type-options"] == "nosniff"
    assert "x-request-id" in health.headers

    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        assert client.get("/api/ready").status_code == 200
        signed_in = client.post(
            "/api/auth/login",
            json={"email": ADMIN_EMAIL, "password": PASSWORD},
            headers={"X-Request-ID": "cli-login-000001"},
        )
        assert signed_in.status_code == 200, signed_in.text
        tokens = signed_in.json()
        me = client.get(
            "/api/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
        )
        assert me.status_code == 200, me.text
        assert me.json()["email"] == ADMIN_EMAIL
        assert me.json()["is_admin"] is True
        wrong = client.post(
            "/api/auth/login", json={"email": ADMIN_EMAIL, "password": "wrong-password-0000"}
        )
        assert wrong.status_code == 401
        assert wrong.headers["content-type"].startswith("application/problem+json")

    assert_graceful_stop(server)
    log = server.log()
    for secret in (PASSWORD, "wrong-password-0000", tokens["access_token"], SECRET):
        assert secret not in log
    entries = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    requests = [entry for entry in entries if entry.get("msg") == "request"]
    assert any(
        e["request_id"] == "cli-login-000001" and e["path"] == "/api/auth/login" for e in requests
    )
    assert all("request_id" in entry for entry in requests)
    assert f":{port}" in server.output()


def test_serve_reads_the_port_from_the_environment(tmp_path: Path, servers: list[Server]) -> None:
    port = free_port()
    env = cli_env(tmp_path, CONFIDE_PORT=str(port))
    server = Server([], cwd=tmp_path, env=env, port=port)
    servers.append(server)
    assert server.wait_until_healthy().json() == {"status": "ok"}
    # In development the embedded database is migrated on start, and a key generated once.
    assert sqlite_revision(tmp_path / "confide.db") == head_revision()
    assert (tmp_path / "secret_key").is_file()


# PostgreSQL ------------------------------------------------------------------------------------


async def _empty_schema(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    finally:
        await engine.dispose()


@pytest.fixture
def empty_postgres() -> Iterator[str]:
    """CONFIDE_TEST_POSTGRES_URL with nothing in it; migrated again afterwards, because the
    shared fixtures of the other tests expect a migrated database there."""
    if not POSTGRES_URL:
        unavailable("PostgreSQL not configured: set CONFIDE_TEST_POSTGRES_URL")
    try:
        run_async(lambda: _empty_schema(POSTGRES_URL))
    except OSError as exc:
        unavailable(f"PostgreSQL at CONFIDE_TEST_POSTGRES_URL is not reachable: {exc}")
    try:
        yield POSTGRES_URL
    finally:
        run_async(lambda: _empty_schema(POSTGRES_URL))
        run_async(lambda: upgrade(POSTGRES_URL))


def test_serve_on_postgres_needs_migrations_first(
    tmp_path: Path, servers: list[Server], empty_postgres: str
) -> None:
    env = cli_env(tmp_path, CONFIDE_DATABASE_URL=empty_postgres, CONFIDE_SECRET_KEY=SECRET)
    port = free_port()
    refused = confide("serve", "--port", str(port), cwd=tmp_path, env=env)
    assert refused.returncode != 0
    assert_no_traceback(refused)
    assert "confide db upgrade" in refused.stdout + refused.stderr
    assert "Confide serving" not in refused.stdout
    # users create insists too, rather than creating tables behind the operator's back.
    not_yet = confide(
        "users", "create", "--email", ADMIN_EMAIL, "--password-stdin",
        cwd=tmp_path, env=env, stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert not_yet.returncode != 0
    assert "confide db upgrade" in not_yet.stdout + not_yet.stderr

    migrated = confide("db", "upgrade", cwd=tmp_path, env=env)
    assert migrated.returncode == 0, migrated.stderr
    assert not (tmp_path / "confide.db").exists()  # the server database, not the embedded one
    create_admin(tmp_path, env)
    server = Server(["--port", str(port)], cwd=tmp_path, env=env, port=port)
    servers.append(server)
    assert server.wait_until_healthy().status_code == 200
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        assert client.get("/api/ready").status_code == 200
        tokens = client.post(
            "/api/auth/login", json={"email": ADMIN_EMAIL, "password": PASSWORD}
        ).json()
        me = client.get(
            "/api/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
        )
        assert me.json()["is_admin"] is True
    assert_graceful_stop(server)
