"""The data directory is private: 0700, every file Confide keeps there 0600, wider modes narrowed.

Real files in temporary directories, under the usual umask (022), which is what made SQLite's
files 0644 before.
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from confide.app import create_app
from confide.config import SECRET_KEY_FILE, Settings, SettingsError
from confide.datadir import data_dir_problems, secure_data_dir
from confide.db.engine import Database
from tests.conftest import FAST_HASH, TEST_HOSTS, TEST_SECRET, client_for
from tests.factories import register
from tests.test_cli import SECRET, Server, cli_env, confide, free_port, problem_lines

pytestmark = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")

TOOL_LOGS = ("tool_calls.jsonl", "tool_calls.log")


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def wide_data_dir(path: Path, *files: str) -> Path:
    """A data directory as an older Confide (or a person) left it: 0755, files 0644."""
    path.mkdir(mode=0o755)
    os.chmod(path, 0o755)  # noqa: S103  (the unsafe mode under test)
    for name in files:
        (path / name).write_text("{}\n")
        os.chmod(path / name, 0o644)
    return path


def settings_for(data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "secret_key": TEST_SECRET,
        "allowed_hosts": TEST_HOSTS,
        **FAST_HASH,
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def sqlite_files(database: Path) -> list[Path]:
    return [
        database,
        database.with_name(database.name + "-wal"),
        database.with_name(database.name + "-shm"),
    ]


# An app built in-process ---------------------------------------------------------------------


async def test_create_app_narrows_a_wide_data_dir_given_a_secret_key(
    tmp_path: Path, sqlite_template: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """CONFIDE_SECRET_KEY given (no key file written) and a 0755 directory from before."""
    data_dir = wide_data_dir(tmp_path / "data", *TOOL_LOGS)
    shutil.copyfile(sqlite_template, data_dir / "confide.db")
    assert mode(data_dir / "confide.db") == 0o644
    with caplog.at_level(logging.WARNING, logger="confide.datadir"):
        app = create_app(settings_for(data_dir))
    try:
        assert mode(data_dir) == 0o700
        for name in ("confide.db", *TOOL_LOGS):
            assert mode(data_dir / name) == 0o600, name
        narrowed = [r.getMessage() for r in caplog.records if r.name == "confide.datadir"]
        assert any(str(data_dir) in line and "0755" in line for line in narrowed), narrowed
        assert len(narrowed) == 4
        async with client_for(app) as client:
            await register(client)  # a write: SQLite opens the -wal and -shm files
            for path in sqlite_files(data_dir / "confide.db"):
                assert path.exists(), path
                assert mode(path) == 0o600, path
    finally:
        await app.state.database.dispose()
    assert not (data_dir / SECRET_KEY_FILE).exists()


async def test_an_app_creates_its_database_and_key_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    settings = settings_for(data_dir, secret_key=None)
    app = create_app(settings)  # generates the key: the directory appears, 0700
    await app.state.database.dispose()
    assert mode(data_dir) == 0o700
    assert mode(data_dir / SECRET_KEY_FILE) == 0o600
    # The first connection creates the database file; SQLite would have made it 0644.
    database = Database(settings.effective_database_url)
    try:
        async with database.begin() as conn:
            await conn.execute(text("CREATE TABLE notes (body TEXT)"))
            await conn.execute(text("INSERT INTO notes VALUES ('private')"))
        for path in sqlite_files(data_dir / "confide.db"):
            assert mode(path) == 0o600, path
    finally:
        await database.dispose()


async def test_stale_wal_and_shm_files_are_narrowed(tmp_path: Path, sqlite_template: Path) -> None:
    """A database somewhere else than the data directory is narrowed all the same."""
    elsewhere = wide_data_dir(tmp_path / "db", "confide.db-wal", "confide.db-shm")
    shutil.copyfile(sqlite_template, elsewhere / "confide.db")
    (elsewhere / "confide.db-wal").write_bytes(b"")
    (elsewhere / "confide.db-shm").write_bytes(b"")
    url = f"sqlite+aiosqlite:///{elsewhere / 'confide.db'}"
    app = create_app(settings_for(tmp_path / "data", database_url=url))
    try:
        for path in sqlite_files(elsewhere / "confide.db"):
            assert mode(path) == 0o600, path
        assert mode(elsewhere) == 0o755  # not ours to decide: only the files are Confide's
    finally:
        await app.state.database.dispose()


def test_a_directory_of_another_user_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = wide_data_dir(tmp_path / "data", "confide.db")
    someone_else = os.geteuid() + 1
    monkeypatch.setattr(os, "geteuid", lambda: someone_else)
    with pytest.raises(SettingsError) as caught:
        create_app(settings_for(data_dir))
    lines = caught.value.problems
    assert len(lines) == 2
    assert all(line.startswith("CONFIDE_DATA_DIR: ") for line in lines)
    assert f"{data_dir} is open to other users (mode 0755)" in lines[0]
    assert "chmod 700" in lines[0]
    assert "chmod 600" in lines[1]
    assert mode(data_dir) == 0o755  # left as it was


def test_symbolic_links_in_the_data_dir_are_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "shared.txt"
    outside.write_text("not Confide's")
    os.chmod(outside, 0o644)
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o700)
    (data_dir / "link").symlink_to(outside)
    secure_data_dir(settings_for(data_dir), create=False)
    assert mode(outside) == 0o644


def test_a_private_data_dir_has_no_problems(tmp_path: Path) -> None:
    settings = settings_for(tmp_path / "data")
    secure_data_dir(settings, create=True)
    assert mode(tmp_path / "data") == 0o700
    assert mode(tmp_path / "data" / "confide.db") == 0o600
    assert data_dir_problems(settings) == []


# The commands ----------------------------------------------------------------------------------


def test_db_upgrade_keeps_a_given_secret_key_and_a_wide_dir_private(tmp_path: Path) -> None:
    data_dir = wide_data_dir(tmp_path / "data")
    env = cli_env(data_dir, CONFIDE_SECRET_KEY=SECRET)
    result = confide("db", "upgrade", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert mode(data_dir) == 0o700
    assert mode(data_dir / "confide.db") == 0o600
    assert f"narrowed {data_dir} from mode 0755 to 0700" in result.stderr
    assert not (data_dir / SECRET_KEY_FILE).exists()


def test_db_upgrade_creates_a_private_data_dir(tmp_path: Path) -> None:
    data_dir = tmp_path / "deep" / "data"
    result = confide("db", "upgrade", cwd=tmp_path, env=cli_env(data_dir))
    assert result.returncode == 0, result.stderr
    assert mode(data_dir) == 0o700
    assert mode(data_dir / "confide.db") == 0o600
    assert mode(data_dir / SECRET_KEY_FILE) == 0o600


def test_serve_keeps_every_file_private(tmp_path: Path) -> None:
    data_dir = wide_data_dir(tmp_path / "data", *TOOL_LOGS)
    port = free_port()
    env = cli_env(data_dir, CONFIDE_SECRET_KEY=SECRET, CONFIDE_PORT=str(port))
    server = Server([], cwd=tmp_path, env=env, port=port)
    try:
        assert server.wait_until_healthy().status_code == 200
        with httpx.Client(base_url=server.base_url, timeout=10) as client:
            created = client.post(
                "/api/auth/register",
                json={"email": "files@example.org", "password": "plum-orchard-velvet-42"},
            )
            assert created.status_code == 201, created.text
        assert mode(data_dir) == 0o700
        for path in [*sqlite_files(data_dir / "confide.db"), *(data_dir / n for n in TOOL_LOGS)]:
            assert path.exists(), path
            assert mode(path) == 0o600, path
    finally:
        server.stop()
        server.stdout.close()
        server.stderr.close()


def test_config_check_reports_a_readable_data_dir(tmp_path: Path) -> None:
    data_dir = wide_data_dir(tmp_path / "data", "confide.db")
    env = cli_env(data_dir, CONFIDE_SECRET_KEY=SECRET)
    result = confide("config", "check", cwd=tmp_path, env=env)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = problem_lines(result.stderr)
    assert len(lines) == 2, result.stderr
    assert lines[0].startswith(f"CONFIDE_DATA_DIR: {data_dir} is open to other users")
    assert lines[1].startswith(f"CONFIDE_DATA_DIR: {data_dir / 'confide.db'} is open")
    assert "Traceback" not in result.stderr
    assert mode(data_dir) == 0o755  # a check changes nothing
    os.chmod(data_dir, 0o700)
    os.chmod(data_dir / "confide.db", 0o600)
    again = confide("config", "check", cwd=tmp_path, env=env)
    assert again.returncode == 0, again.stderr


def test_config_check_reports_a_group_readable_file(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o700)
    (data_dir / SECRET_KEY_FILE).write_text("k" * 48)
    os.chmod(data_dir / SECRET_KEY_FILE, 0o640)
    result = confide("config", "check", cwd=tmp_path, env=cli_env(data_dir))
    assert result.returncode == 2
    assert len(problem_lines(result.stderr)) == 1
    unwrapped = " ".join(result.stderr.split())  # the console wraps long lines
    assert f"{data_dir / SECRET_KEY_FILE} is open to other users (mode 0640)" in unwrapped
    assert "k" * 48 not in result.stdout + result.stderr
