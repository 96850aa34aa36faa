"""Small builders for the crypto tests."""

from __future__ import annotations

import secrets

from confide.crypto.keyring import KeyRing
from confide.crypto.keys import DataKey, MasterKey


def data_key(key_id: str = "d1") -> DataKey:
    return DataKey(key_id, secrets.token_bytes(32))


def ring_of(*key_ids: str) -> KeyRing:
    """A ring of new random keys with these ids, the first current."""
    return KeyRing(tuple(MasterKey(key_id, secrets.token_bytes(32)) for key_id in key_ids))
