"""Where the key ring lives: CONFIDE_MASTER_KEYS, or the generated key file.

Without CONFIDE_MASTER_KEYS, `<data dir>/master_keys` (mode 0600) holds a ring of one
generated key, created on first use and reused after; production refuses it (config.py).
`rotate_keys` and `retire_key` change the ring: the file is rewritten atomically (a new file
renamed over the old, under a lock, so two rotations never lose a key); a ring from the
environment cannot be changed from here, so the change returns the value to set instead.

Losing the key file, once data is encrypted, loses that data: back it up with the database.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from pydantic import SecretStr

from confide.config import Settings, SettingsError
from confide.crypto.errors import KeyRingError
from confide.crypto.keyring import KeyRing, new_key_ring, parse_key_ring, retire, rotate

MASTER_KEYS_FILE = "master_keys"
_LOCK_FILE = ".master_keys.lock"


@dataclass(frozen=True, slots=True)
class RingChange:
    """A changed ring: `key_id` was added (rotate) or removed (retire)."""

    ring: KeyRing
    key_id: str
    # The key file that now holds `ring`; None when the ring comes from CONFIDE_MASTER_KEYS.
    written_to: Path | None

    @property
    def value_to_set(self) -> SecretStr | None:
        """For a ring from CONFIDE_MASTER_KEYS: the new value the operator must set."""
        return None if self.written_to is not None else SecretStr(self.ring.encoded())


class KeyStore(Protocol):
    """Holds the key ring."""

    def load(self) -> KeyRing:
        """The ring as it is now."""

    def change(self, edit: Callable[[KeyRing], tuple[KeyRing, str]]) -> RingChange:
        """Apply `edit` (a rotate or retire) to the ring and keep the result where it can."""


class EnvKeyStore:
    """The ring given in CONFIDE_MASTER_KEYS: read-only from here."""

    def __init__(self, value: SecretStr) -> None:
        self._value = value

    def load(self) -> KeyRing:
        try:
            return parse_key_ring(self._value.get_secret_value())
        except KeyRingError as exc:
            raise SettingsError([f"CONFIDE_MASTER_KEYS: {exc}"]) from None

    def change(self, edit: Callable[[KeyRing], tuple[KeyRing, str]]) -> RingChange:
        ring, key_id = edit(self.load())
        return RingChange(ring=ring, key_id=key_id, written_to=None)


class FileKeyStore:
    """The generated key file in the data directory."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.path = data_dir / MASTER_KEYS_FILE

    def load(self) -> KeyRing:
        if not self.path.exists():
            self._create()
        return self._read()

    def change(self, edit: Callable[[KeyRing], tuple[KeyRing, str]]) -> RingChange:
        with self._locked():
            ring, key_id = edit(self.load())
            write_key_file(self.path, ring)
        return RingChange(ring=ring, key_id=key_id, written_to=self.path)

    def _create(self) -> None:
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        # As config.load_or_create_secret_key: written whole to a private file, then linked
        # into place, so a reader never sees half a ring and the first of two racers wins.
        fd, temporary = tempfile.mkstemp(dir=self.data_dir, prefix=".master_keys.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(new_key_ring().encoded() + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            with contextlib.suppress(FileExistsError):
                os.link(temporary, self.path)
        finally:
            os.unlink(temporary)

    def _read(self) -> KeyRing:
        try:
            return parse_key_ring(self.path.read_text(encoding="utf-8"))
        except KeyRingError as exc:
            # Never "delete it": a new ring would make everything encrypted unreadable.
            raise SettingsError(
                [f"{self.path}: not a usable key ring ({exc}); restore it from a backup"]
            ) from None

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.data_dir / _LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock


def write_key_file(path: Path, ring: KeyRing) -> None:
    """Replace the key file with `ring` atomically: a reader sees the old ring or the new."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(ring.encoded() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # the rename itself survives a crash
    finally:
        os.close(directory)


def key_store(settings: Settings) -> KeyStore:
    """CONFIDE_MASTER_KEYS when set, else the generated key file."""
    if settings.master_keys is not None:
        return EnvKeyStore(settings.master_keys)
    return FileKeyStore(settings.data_dir)


def load_key_ring(settings: Settings) -> KeyRing:
    """The configured ring (creating the key file on first use when none is configured)."""
    return key_store(settings).load()


def rotate_keys(settings: Settings, *, key_id: str | None = None) -> RingChange:
    """A new current master key (`confide keys rotate`); the old ones still unwrap.

    Data keys wrapped under the old keys are not touched: rewrap them (datakeys.rewrap).
    """
    return key_store(settings).change(lambda ring: rotate(ring, key_id=key_id))


def retire_key(settings: Settings, key_id: str) -> RingChange:
    """Drop a master key that is not the current one (`confide keys retire`)."""
    return key_store(settings).change(lambda ring: (retire(ring, key_id), key_id))
