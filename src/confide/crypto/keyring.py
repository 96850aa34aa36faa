"""The master key ring: `<key id>:<base64url 32-byte key>`, comma-separated, current first.

The first key wraps new data keys; every key in the ring still unwraps what it wrapped.
`rotate` puts a new key first, `retire` drops an old one once nothing is wrapped under it.
Pure functions: where the ring is kept (CONFIDE_MASTER_KEYS or the key file) is keystore.py.
Messages name an entry by its position and (when valid) its id, never by its key.
"""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from confide.crypto.errors import KeyRingError
from confide.crypto.keys import KEY_BYTES, MasterKey, is_key_id

_BASE64URL = re.compile(r"[A-Za-z0-9_-]+={0,2}")


@dataclass(frozen=True, slots=True)
class KeyRing:
    """Master keys, the current one first. Its repr shows the ids only."""

    keys: tuple[MasterKey, ...]

    def __post_init__(self) -> None:
        if not self.keys:
            raise KeyRingError("the key ring holds no key")
        ids = [key.key_id for key in self.keys]
        for key_id in ids:
            if ids.count(key_id) > 1:
                raise KeyRingError(f"key id {key_id!r} appears more than once")
        materials = [key.material for key in self.keys]
        for position, material in enumerate(materials):
            if materials.index(material) != position:
                raise KeyRingError(
                    f"{self.keys[position].key_id!r} holds the same key as "
                    f"{self.keys[materials.index(material)].key_id!r}"
                )

    def __repr__(self) -> str:
        return f"KeyRing(key_ids={self.key_ids!r})"

    def __iter__(self) -> Iterator[MasterKey]:
        return iter(self.keys)

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def current(self) -> MasterKey:
        """The key new data keys are wrapped under."""
        return self.keys[0]

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(key.key_id for key in self.keys)

    def get(self, key_id: str) -> MasterKey | None:
        return next((key for key in self.keys if key.key_id == key_id), None)

    def encoded(self) -> str:
        """The ring in the CONFIDE_MASTER_KEYS format (secret: never log it)."""
        return ",".join(f"{key.key_id}:{_encode(key.material)}" for key in self.keys)


def parse_key_ring(text: str) -> KeyRing:
    """Read a ring in the CONFIDE_MASTER_KEYS format; KeyRingError says what is wrong."""
    entries = [entry.strip() for entry in text.split(",")]
    if not any(entries):
        raise KeyRingError("no key: expected <key id>:<base64url key>, comma-separated")
    keys: list[MasterKey] = []
    for position, entry in enumerate(entries, start=1):
        if not entry:
            raise KeyRingError(f"entry {position} is empty (a stray comma?)")
        keys.append(_parse_entry(position, entry))
    return KeyRing(tuple(keys))


def _parse_entry(position: int, entry: str) -> MasterKey:
    key_id, colon, encoded = (part.strip() for part in entry.partition(":"))
    if not colon:
        raise KeyRingError(f"entry {position}: expected <key id>:<base64url key>")
    if not is_key_id(key_id):
        # Not echoed: a malformed entry may have its key where the id should be.
        raise KeyRingError(
            f"entry {position}: the key id must be 1 to 32 characters from A-Z a-z 0-9 _ -"
        )
    where = f"entry {position} ({key_id!r})"
    unpadded = encoded.rstrip("=")
    if not _BASE64URL.fullmatch(encoded) or len(unpadded) % 4 == 1:
        raise KeyRingError(f"{where}: the key is not base64url (A-Z a-z 0-9 - _)")
    material = base64.urlsafe_b64decode(unpadded + "=" * (-len(unpadded) % 4))
    if len(material) != KEY_BYTES:
        raise KeyRingError(
            f"{where}: the key must be {KEY_BYTES} bytes ({_encoded_length()} base64url "
            f"characters), not {len(material)}"
        )
    return MasterKey(key_id, material)


def generate_master_key(*, key_id: str | None = None) -> MasterKey:
    """A new random master key; its id, unless given, says when it was made."""
    if key_id is None:
        key_id = f"{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(3)}"
    elif not is_key_id(key_id):
        raise KeyRingError("a key id is 1 to 32 characters from A-Z a-z 0-9 _ -")
    return MasterKey(key_id, secrets.token_bytes(KEY_BYTES))


def new_key_ring() -> KeyRing:
    """A ring of one new key (the zero-config key file)."""
    return KeyRing((generate_master_key(),))


def rotate(ring: KeyRing, *, key_id: str | None = None) -> tuple[KeyRing, str]:
    """The ring with a new current key first (the others kept, to unwrap), and its id."""
    if key_id is not None and ring.get(key_id) is not None:
        raise KeyRingError(f"key id {key_id!r} is already in the ring")
    key = generate_master_key(key_id=key_id)
    while ring.get(key.key_id) is not None:  # a generated id met an old one (same day)
        key = generate_master_key()
    return KeyRing((key, *ring.keys)), key.key_id


def retire(ring: KeyRing, key_id: str) -> KeyRing:
    """The ring without `key_id`. Refuses the current key and ids not in the ring.

    Whatever is still wrapped under the retired key no longer unwraps: rewrap first.
    """
    if ring.get(key_id) is None:
        shown = repr(key_id) if is_key_id(key_id) else "that key id"
        raise KeyRingError(f"{shown} is not in the key ring (its ids: {', '.join(ring.key_ids)})")
    if ring.current.key_id == key_id:
        raise KeyRingError(
            f"{key_id!r} is the current key, which wraps new data keys; rotate first, "
            "then retire it"
        )
    return KeyRing(tuple(key for key in ring.keys if key.key_id != key_id))


def _encode(material: bytes) -> str:
    return base64.urlsafe_b64encode(material).decode("ascii").rstrip("=")


def _encoded_length() -> int:
    return len(_encode(bytes(KEY_BYTES)))
