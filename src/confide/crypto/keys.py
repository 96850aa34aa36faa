"""The two kinds of 256-bit keys: master keys (from the key ring) and users' data keys."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

KEY_BYTES = 32  # AES-256
KEY_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,32}")


@dataclass(frozen=True, slots=True)
class SymmetricKey:
    """An AES-256-GCM key and the id its ciphertexts carry. Its repr never shows the key."""

    key_id: str
    material: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if not is_key_id(self.key_id):
            raise ValueError("a key id is 1 to 32 characters from A-Z a-z 0-9 _ -")
        if len(self.material) != KEY_BYTES:
            raise ValueError(f"a key is {KEY_BYTES} bytes, not {len(self.material)}")


class MasterKey(SymmetricKey):
    """A key-encryption key from the key ring: it wraps data keys, never user data."""

    __slots__ = ()


class DataKey(SymmetricKey):
    """One user's data key, unwrapped: it seals that user's data."""

    __slots__ = ()


def is_key_id(value: str) -> bool:
    return KEY_ID_PATTERN.fullmatch(value) is not None
