"""`confide keys rotate | rewrap | retire | status` on a real embedded database: data keys move
to the new master key, content stays readable, and a key still in use is never retired."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from confide.app import create_app
from confide.config import Settings
from confide.crypto.keyring import generate_master_key, parse_key_ring
from confide.crypto.keystore import MASTER_KEYS_FILE, load_key_ring
from confide.db.migrate import upgrade
from tests.conftest import FAST_HASH, TEST_HOSTS, TEST_SECRET, client_for
from tests.factories import signed_up
from tests.test_cli import cli_env, confide

TITLE = "plans for the orchard"


def _settings(data_dir: Path, **values: Any) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=data_dir,
        secret_key=TEST_SECRET,
        allowed_hosts=TEST_HOSTS,
        **FAST_HASH,
        **values,
    )


async def _user_with_a_thread(settings: Settings) -> tuple[str, str, dict[str, str]]:
    await upgrade(settings.effective_database_url, key_ring=load_key_ring(settings))
    app = create_app(settings)
    async with client_for(app) as client:
        user, headers = await signed_up(client)
        made = await client.post("/api/threads", json={"title": TITLE}, headers=headers)
        assert made.status_code == 201, made.text
    await app.state.database.dispose()
    return str(user["id"]), str(made.json()["id"]), headers


async def _title(settings: Settings, thread_id: str, headers: dict[str, str]) -> str:
    app = create_app(settings)
    async with client_for(app) as client:
        found = await client.get(f"/api/threads/{thread_id}", headers=headers)
    await app.state.database.dispose()
    assert found.status_code == 200, found.text
    return str(found.json()["title"])


async def test_rotate_rewraps_under_the_new_key_and_retire_drops_the_old(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    _, thread_id, headers = await _user_with_a_thread(settings)
    (first,) = parse_key_ring((tmp_path / MASTER_KEYS_FILE).read_text()).key_ids
    env = cli_env(tmp_path)

    status = confide("keys", "status", cwd=tmp_path, env=env)
    assert status.returncode == 0, status.stderr
    assert f"{first}: wraps 1 data keys" in status.stdout

    refused = confide("keys", "retire", first, cwd=tmp_path, env=env)
    assert refused.returncode == 2
    assert "still wraps 1 data keys" in refused.stderr

    rotated = confide("keys", "rotate", "--key-id", "second", cwd=tmp_path, env=env)
    assert rotated.returncode == 0, rotated.stderr
    assert "Re-wrapped 1 data keys under second" in rotated.stdout
    ring = parse_key_ring((tmp_path / MASTER_KEYS_FILE).read_text())
    assert ring.key_ids == ("second", first)
    assert await _title(settings, thread_id, headers) == TITLE

    again = confide("keys", "rewrap", cwd=tmp_path, env=env)
    assert "Re-wrapped 0 data keys" in again.stdout  # nothing left under the old key

    retired = confide("keys", "retire", first, cwd=tmp_path, env=env)
    assert retired.returncode == 0, retired.stderr
    assert parse_key_ring((tmp_path / MASTER_KEYS_FILE).read_text()).key_ids == ("second",)
    assert await _title(settings, thread_id, headers) == TITLE
    # No master key material on the terminal.
    for key in ring:
        assert key.material.hex() not in rotated.stdout + retired.stdout


async def test_with_master_keys_in_the_environment_rotate_prints_the_value_and_rewraps_later(
    tmp_path: Path,
) -> None:
    old = generate_master_key(key_id="old")
    old_value = f"old:{_b64(old.material)}"
    settings = _settings(tmp_path, master_keys=old_value)
    _, thread_id, headers = await _user_with_a_thread(settings)

    rotated = confide(
        "keys",
        "rotate",
        "--key-id",
        "new",
        cwd=tmp_path,
        env=cli_env(tmp_path, CONFIDE_MASTER_KEYS=old_value),
    )
    assert rotated.returncode == 0, rotated.stderr
    new_value = rotated.stdout.strip().splitlines()[-1]
    ring = parse_key_ring(new_value)
    assert ring.key_ids == ("new", "old")
    assert not (tmp_path / MASTER_KEYS_FILE).exists()  # the environment's ring is never copied

    env = cli_env(tmp_path, CONFIDE_MASTER_KEYS=new_value)
    status = confide("keys", "status", cwd=tmp_path, env=env)
    assert "old: wraps 1 data keys" in status.stdout  # not re-wrapped yet: servers have "old"
    rewrapped = confide("keys", "rewrap", cwd=tmp_path, env=env)
    assert "Re-wrapped 1 data keys under new" in rewrapped.stdout
    assert await _title(_settings(tmp_path, master_keys=new_value), thread_id, headers) == TITLE
    assert uuid.UUID(thread_id)


def _b64(material: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(material).decode().rstrip("=")
