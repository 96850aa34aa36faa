"""Each user's data key: 32 random bytes, stored only wrapped by a master key of the ring.

A wrapped data key is an envelope (envelope.py) sealed under the ring's current master key,
so it carries that key's id, with associated data naming the user: a wrapped key copied to
another user does not unwrap. Destroying a user's wrapped key destroys their data with it
(crypto-shredding).
"""

from __future__ import annotations

import secrets
from uuid import UUID

from confide.crypto.envelope import length_prefixed, seal, sealed_key_id, unseal
from confide.crypto.errors import DecryptionFailed
from confide.crypto.keyring import KeyRing
from confide.crypto.keys import KEY_BYTES

_WRAP_AAD = b"confide/data-key/v1"


def new_data_key() -> bytes:
    """A new data key: 32 random bytes."""
    return secrets.token_bytes(KEY_BYTES)


def wrap(ring: KeyRing, data_key: bytes, *, user_id: UUID) -> bytes:
    """`data_key` sealed under the ring's current master key, bound to `user_id`."""
    if len(data_key) != KEY_BYTES:
        raise ValueError(f"a data key is {KEY_BYTES} bytes, not {len(data_key)}")
    return seal(ring.current, data_key, aad=_aad(user_id))


def unwrap(ring: KeyRing, wrapped: bytes, *, user_id: UUID) -> bytes:
    """The data key inside `wrapped`, under whichever ring key its id names."""
    key_id = sealed_key_id(wrapped)
    master = ring.get(key_id)
    if master is None:
        raise DecryptionFailed(
            "unknown_key",
            f"its data key is wrapped under master key {key_id!r}, which is not in the key "
            "ring (retired, or a different ring).",
            key_id=key_id,
        )
    data_key = unseal(master, wrapped, aad=_aad(user_id))
    if len(data_key) != KEY_BYTES:  # sealed by the right key, so never; but never use it
        raise DecryptionFailed("malformed", "the wrapped data key has the wrong length.")
    return data_key


def needs_rewrap(ring: KeyRing, wrapped: bytes) -> bool:
    """Whether `wrapped` is under a master key other than the ring's current one."""
    return sealed_key_id(wrapped) != ring.current.key_id


def rewrap(ring: KeyRing, wrapped: bytes, *, user_id: UUID) -> bytes:
    """`wrapped`'s data key wrapped under the current master key.

    Always unwraps first (so a broken blob fails here, not later). Already under the current
    key, it returns `wrapped` itself: `rewrap(...) is wrapped` (or `needs_rewrap`, before)
    tells the caller there is nothing to store. A real rewrap has a fresh nonce, so it never
    equals the input.
    """
    data_key = unwrap(ring, wrapped, user_id=user_id)
    if not needs_rewrap(ring, wrapped):
        return wrapped
    return wrap(ring, data_key, user_id=user_id)


def _aad(user_id: UUID) -> bytes:
    return length_prefixed(_WRAP_AAD, str(user_id))
