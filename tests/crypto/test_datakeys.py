"""Data keys: wrapped under the current master key, bound to the user, across a rotation."""

from __future__ import annotations

import uuid

import pytest

from confide.crypto.datakeys import needs_rewrap, new_data_key, rewrap, unwrap, wrap
from confide.crypto.envelope import (
    aad_for,
    length_prefixed,
    seal,
    seal_text,
    sealed_key_id,
    unseal_text,
)
from confide.crypto.errors import DecryptionFailed
from confide.crypto.keyring import retire, rotate
from confide.crypto.keys import DataKey
from tests.crypto.helpers import ring_of

USER = uuid.uuid4()
OTHER_USER = uuid.uuid4()


def test_new_data_keys_are_32_random_bytes() -> None:
    keys = {new_data_key() for _ in range(20)}
    assert len(keys) == 20
    assert {len(key) for key in keys} == {32}


def test_wrap_and_unwrap() -> None:
    ring = ring_of("m1")
    data_key = new_data_key()
    wrapped = wrap(ring, data_key, user_id=USER)
    assert sealed_key_id(wrapped) == "m1"
    assert data_key not in wrapped
    assert unwrap(ring, wrapped, user_id=USER) == data_key
    assert wrap(ring, data_key, user_id=USER) != wrapped  # a fresh nonce each time


def test_a_wrapped_key_does_not_unwrap_for_another_user() -> None:
    ring = ring_of("m1")
    wrapped = wrap(ring, new_data_key(), user_id=USER)
    with pytest.raises(DecryptionFailed) as caught:
        unwrap(ring, wrapped, user_id=OTHER_USER)
    assert caught.value.reason == "authentication_failed"


def test_a_wrapped_key_does_not_unwrap_under_another_ring() -> None:
    wrapped = wrap(ring_of("m1"), new_data_key(), user_id=USER)
    with pytest.raises(DecryptionFailed) as caught:
        unwrap(ring_of("m1"), wrapped, user_id=USER)  # same id, other key
    assert caught.value.reason == "authentication_failed"


def test_only_32_byte_data_keys_are_wrapped() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        wrap(ring_of("m1"), b"short", user_id=USER)


def test_a_rotation_from_wrap_to_retire() -> None:
    ring = ring_of("old")
    data_key = new_data_key()
    before = wrap(ring, data_key, user_id=USER)

    ring, new_id = rotate(ring)
    # The old key still unwraps; new wraps go to the new key.
    assert unwrap(ring, before, user_id=USER) == data_key
    assert needs_rewrap(ring, before)
    fresh = wrap(ring, new_data_key(), user_id=OTHER_USER)
    assert sealed_key_id(fresh) == new_id
    assert not needs_rewrap(ring, fresh)

    # Rewrap moves the old one over; an already current one comes back as it is.
    moved = rewrap(ring, before, user_id=USER)
    assert moved != before
    assert sealed_key_id(moved) == new_id
    assert not needs_rewrap(ring, moved)
    assert unwrap(ring, moved, user_id=USER) == data_key
    assert rewrap(ring, moved, user_id=USER) is moved

    # The current key cannot be retired; after the old one is, what it wrapped fails clearly.
    with pytest.raises(ValueError, match="current key"):
        retire(ring, new_id)
    ring = retire(ring, "old")
    assert unwrap(ring, moved, user_id=USER) == data_key
    with pytest.raises(DecryptionFailed) as caught:
        unwrap(ring, before, user_id=USER)
    error = caught.value
    assert (error.reason, error.key_id, error.code, error.status) == (
        "unknown_key",
        "old",
        "decryption_failed",
        500,
    )
    assert "master key 'old', which is not in the key ring" in error.detail
    assert data_key.hex() not in error.detail


def test_rewrap_checks_what_it_is_given() -> None:
    ring = ring_of("m1")
    wrapped = bytearray(wrap(ring, new_data_key(), user_id=USER))
    wrapped[-1] ^= 1
    with pytest.raises(DecryptionFailed):
        rewrap(ring, bytes(wrapped), user_id=USER)


def test_the_user_data_under_a_wrapped_key_survives_a_rotation() -> None:
    ring = ring_of("m1")
    wrapped = wrap(ring, new_data_key(), user_id=USER)
    aad = aad_for("messages", "content", uuid.uuid4(), USER)
    blob = seal_text(DataKey("u1", unwrap(ring, wrapped, user_id=USER)), "hello", aad=aad)
    ring, _ = rotate(ring)
    wrapped = rewrap(ring, wrapped, user_id=USER)
    ring = retire(ring, "m1")
    assert unseal_text(DataKey("u1", unwrap(ring, wrapped, user_id=USER)), blob, aad=aad) == "hello"


def test_a_wrapped_value_of_the_wrong_length_is_never_used_as_a_key() -> None:
    ring = ring_of("m1")
    # Sealed exactly as a wrap is, but around 16 bytes: only someone holding the master key
    # could make one, and still it is refused.
    forged = seal(ring.current, bytes(16), aad=length_prefixed(b"confide/data-key/v1", str(USER)))
    with pytest.raises(DecryptionFailed) as caught:
        unwrap(ring, forged, user_id=USER)
    assert caught.value.reason == "malformed"
