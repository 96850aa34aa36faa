"""Where the ring lives: CONFIDE_MASTER_KEYS (checked, never echoed) or the generated key file
(0600, reused, rewritten atomically by rotate and retire); production refuses the file."""

from __future__ import annotations

import os
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from confide.config import Settings, SettingsError, load_settings
from confide.crypto.errors import KeyRingError
from confide.crypto.keyring import parse_key_ring
from confide.crypto.keystore import (
    MASTER_KEYS_FILE,
    EnvKeyStore,
    FileKeyStore,
    load_key_ring,
    retire_key,
    rotate_keys,
)
from tests.crypto.helpers import ring_of

RING = ring_of("env-1", "env-0")
SECRET = "s" * 40


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No CONFIDE_* variable from the caller and no .env file."""
    for name in list(os.environ):
        if name.upper().startswith("CONFIDE_"):
            monkeypatch.delenv(name)
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)


def file_settings(data_dir: Path) -> Settings:
    return Settings(_env_file=None, data_dir=data_dir)  # type: ignore[call-arg]


def env_settings(data_dir: Path, value: str = RING.encoded()) -> Settings:
    return Settings(_env_file=None, data_dir=data_dir, master_keys=value)  # type: ignore[call-arg]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def files_in(directory: Path) -> list[str]:
    return sorted(entry.name for entry in directory.iterdir())


# The generated key file ------------------------------------------------------------------------


def test_the_key_file_is_created_private_and_reused(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    ring = load_key_ring(file_settings(data_dir))
    path = data_dir / MASTER_KEYS_FILE
    assert mode(path) == 0o600
    assert mode(data_dir) & 0o077 == 0
    assert len(ring) == 1
    assert parse_key_ring(path.read_text()) == ring
    # Again, and after a restart (new Settings): the same ring, the file untouched.
    inode = path.stat().st_ino
    assert load_key_ring(file_settings(data_dir)) == ring
    assert FileKeyStore(data_dir).load() == ring
    assert path.stat().st_ino == inode
    assert files_in(data_dir) == [MASTER_KEYS_FILE]  # no temporary file left behind


def test_installations_get_different_keys(tmp_path: Path) -> None:
    one = load_key_ring(file_settings(tmp_path / "one"))
    two = load_key_ring(file_settings(tmp_path / "two"))
    assert one.current.material != two.current.material


def test_an_existing_key_file_is_never_replaced_by_a_new_ring(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / MASTER_KEYS_FILE).write_text(RING.encoded() + "\n")
    assert load_key_ring(file_settings(data_dir)) == RING


@pytest.mark.parametrize("content", ["", "\n", "k1:not-a-key\n"], ids=["empty", "blank", "bad"])
def test_a_broken_key_file_is_refused_and_kept(tmp_path: Path, content: str) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    path = data_dir / MASTER_KEYS_FILE
    path.write_text(content)
    with pytest.raises(SettingsError) as caught:
        load_key_ring(file_settings(data_dir))
    [problem] = caught.value.problems
    assert problem.startswith(f"{path}: not a usable key ring (")
    assert "restore it from a backup" in problem
    assert "delete" not in problem
    assert "not-a-key" not in problem
    assert path.read_text() == content


def test_rotate_writes_the_file_atomically(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    settings = file_settings(data_dir)
    before = load_key_ring(settings)
    path = data_dir / MASTER_KEYS_FILE
    inode = path.stat().st_ino

    change = rotate_keys(settings)

    assert change.written_to == path
    assert change.value_to_set is None
    assert change.ring.key_ids == (change.key_id, before.current.key_id)
    assert change.ring.get(before.current.key_id) == before.current
    # A new file renamed over the old (never the old one rewritten in place), still private.
    assert path.stat().st_ino != inode
    assert mode(path) == 0o600
    assert load_key_ring(settings) == change.ring
    assert files_in(data_dir) == [".master_keys.lock", MASTER_KEYS_FILE]
    assert mode(data_dir / ".master_keys.lock") == 0o600


def test_a_failed_rewrite_leaves_the_old_file_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "data"
    settings = file_settings(data_dir)
    before = load_key_ring(settings)

    def disk_full(source: str, target: Path) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(OSError, match="No space left"):
        rotate_keys(settings)
    monkeypatch.undo()
    assert load_key_ring(settings) == before
    assert files_in(data_dir) == [".master_keys.lock", MASTER_KEYS_FILE]


def test_concurrent_rotations_keep_every_key(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    settings = file_settings(data_dir)
    first = load_key_ring(settings).current.key_id
    with ThreadPoolExecutor(max_workers=8) as pool:
        changes = list(pool.map(lambda _: rotate_keys(settings), range(8)))
    ring = load_key_ring(settings)
    assert set(ring.key_ids) == {first, *(change.key_id for change in changes)}
    assert len(ring) == 9


def test_retire_rewrites_the_file_and_refuses_the_current_key(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    settings = file_settings(data_dir)
    old = load_key_ring(settings).current.key_id
    new = rotate_keys(settings, key_id="second").ring

    with pytest.raises(KeyRingError, match="current key"):
        retire_key(settings, "second")
    with pytest.raises(KeyRingError, match="not in the key ring"):
        retire_key(settings, "never-was")
    assert load_key_ring(settings) == new

    change = retire_key(settings, old)
    assert (change.key_id, change.ring.key_ids) == (old, ("second",))
    assert change.written_to == data_dir / MASTER_KEYS_FILE
    assert load_key_ring(settings).key_ids == ("second",)


# CONFIDE_MASTER_KEYS -------------------------------------------------------------------------


def test_a_configured_ring_writes_no_file(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    assert load_key_ring(env_settings(data_dir)) == RING
    assert not data_dir.exists()


def test_changing_a_configured_ring_returns_the_value_to_set(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    settings = env_settings(data_dir)

    rotated = rotate_keys(settings, key_id="env-2")
    assert rotated.written_to is None
    assert rotated.value_to_set is not None
    assert parse_key_ring(rotated.value_to_set.get_secret_value()) == rotated.ring
    assert rotated.ring.key_ids == ("env-2", "env-1", "env-0")
    assert "env-2" not in repr(rotated.value_to_set)  # a SecretStr: no key in a log line

    retired = retire_key(settings, "env-0")
    assert retired.value_to_set is not None
    assert parse_key_ring(retired.value_to_set.get_secret_value()).key_ids == ("env-1",)
    assert not data_dir.exists()
    assert load_key_ring(settings) == RING  # the environment is the operator's to change


def test_the_variable_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CONFIDE_MASTER_KEYS", RING.encoded())
    monkeypatch.setenv("CONFIDE_DATA_DIR", str(tmp_path / "data"))
    settings = load_settings()
    assert settings.master_keys is not None
    assert load_key_ring(settings) == RING
    assert RING.encoded() not in repr(settings)


def test_an_empty_variable_means_the_generated_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CONFIDE_MASTER_KEYS", "")
    monkeypatch.setenv("CONFIDE_DATA_DIR", str(tmp_path / "data"))
    settings = load_settings()
    assert settings.master_keys is None
    load_key_ring(settings)
    assert (tmp_path / "data" / MASTER_KEYS_FILE).is_file()
    assert Settings(_env_file=None, master_keys="").master_keys is None  # type: ignore[call-arg]


GOOD, OTHER = (entry.split(":")[1] for entry in RING.encoded().split(","))  # base64url keys


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (f"bad id:{GOOD}", "entry 1: the key id must be 1 to 32 characters"),
        (f"k1:{GOOD[:-1]}*", "entry 1 ('k1'): the key is not base64url"),
        (f"k1:{GOOD[:30]}", "entry 1 ('k1'): the key must be 32 bytes"),
        (f"k1:{GOOD},k1:{OTHER}", "key id 'k1' appears more than once"),
        (f"k1:{GOOD},k2:{GOOD}", "'k2' holds the same key as 'k1'"),
    ],
    ids=["bad-id", "bad-base64", "wrong-length", "duplicate-id", "duplicate-key"],
)
def test_a_bad_variable_is_one_line_without_the_key(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: str
) -> None:
    monkeypatch.setenv("CONFIDE_MASTER_KEYS", value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    [problem] = caught.value.problems
    assert problem.startswith("CONFIDE_MASTER_KEYS: ")
    assert expected in problem
    assert GOOD[:12] not in str(caught.value)


# Production ----------------------------------------------------------------------------------


def production(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    data_dir = tmp_path / "data"
    monkeypatch.setenv("CONFIDE_ENV", "production")
    monkeypatch.setenv("CONFIDE_DATA_DIR", str(data_dir))
    monkeypatch.setenv("CONFIDE_ALLOWED_HOSTS", "chat.example.org")
    monkeypatch.setenv("CONFIDE_SECRET_KEY", SECRET)
    return data_dir


def test_production_refuses_the_generated_key_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    data_dir = production(monkeypatch, tmp_path)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert caught.value.problems == [
        "CONFIDE_MASTER_KEYS: must be set in production (a generated key file is refused)"
    ]
    assert not (data_dir / MASTER_KEYS_FILE).exists()


def test_production_accepts_a_configured_ring(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    data_dir = production(monkeypatch, tmp_path)
    monkeypatch.setenv("CONFIDE_MASTER_KEYS", RING.encoded())
    settings = load_settings()
    assert settings.production_problems() == []
    assert load_key_ring(settings) == RING
    assert not data_dir.exists()


def test_a_bad_ring_given_to_the_store_directly_is_a_settings_error() -> None:
    with pytest.raises(SettingsError) as caught:
        EnvKeyStore(SecretStr("k1:short")).load()
    assert caught.value.problems == [
        "CONFIDE_MASTER_KEYS: entry 1 ('k1'): the key is not base64url (A-Z a-z 0-9 - _)"
    ]


def test_settings_built_directly_never_repeat_a_refused_ring() -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(_env_file=None, master_keys=f"k1:{GOOD[:30]}")  # type: ignore[call-arg]
    assert "the key must be 32 bytes" in str(caught.value)
    assert GOOD[:30] not in str(caught.value)
