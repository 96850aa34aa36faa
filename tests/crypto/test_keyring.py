"""The key ring format: what it accepts, what it refuses (never echoing a key), rotate, retire."""

from __future__ import annotations

import base64
import re
import secrets

import pytest

from confide.crypto import keyring
from confide.crypto.errors import KeyRingError
from confide.crypto.keyring import (
    KeyRing,
    generate_master_key,
    new_key_ring,
    parse_key_ring,
    retire,
    rotate,
)
from confide.crypto.keys import MasterKey
from tests.crypto.helpers import ring_of

RAW = secrets.token_bytes(32)
ENCODED = base64.urlsafe_b64encode(RAW).decode().rstrip("=")  # 43 characters
OTHER = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")


def refused(text: str) -> str:
    with pytest.raises(KeyRingError) as caught:
        parse_key_ring(text)
    message = str(caught.value)
    for secret in (ENCODED, OTHER, ENCODED[:16], OTHER[:16]):
        assert secret not in message
    return message


def test_one_key() -> None:
    ring = parse_key_ring(f"k1:{ENCODED}")
    assert ring.key_ids == ("k1",)
    assert ring.current == MasterKey("k1", RAW)
    assert ring.get("k1") == ring.current
    assert ring.get("k2") is None
    assert len(ring) == 1


def test_several_keys_the_first_current_with_spaces_and_padding() -> None:
    ring = parse_key_ring(f" new-2026_12 : {OTHER}= ,  old:{ENCODED} ")
    assert ring.key_ids == ("new-2026_12", "old")
    assert ring.current.key_id == "new-2026_12"
    assert [key.key_id for key in ring] == ["new-2026_12", "old"]


def test_encoded_reads_back_as_the_same_ring() -> None:
    ring = ring_of("a", "b", "c")
    assert parse_key_ring(ring.encoded()) == ring
    assert parse_key_ring(f"k1:{ENCODED}").encoded() == f"k1:{ENCODED}"


def test_the_repr_shows_ids_only() -> None:
    ring = parse_key_ring(f"k1:{ENCODED}")
    assert repr(ring) == "KeyRing(key_ids=('k1',))"
    assert ENCODED not in repr(ring) + repr(ring.current) + str(ring.current)
    assert RAW.hex() not in repr(ring.current)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "no key"),
        (" , ", "no key"),
        (f"k1:{ENCODED},", "entry 2 is empty"),
        (ENCODED, "entry 1: expected <key id>:<base64url key>"),
        (f":{ENCODED}", "entry 1: the key id must be 1 to 32 characters"),
        (f"bad id:{ENCODED}", "entry 1: the key id must be"),
        (f"{'x' * 33}:{ENCODED}", "entry 1: the key id must be"),
        (f"{ENCODED}:{OTHER}", "entry 1: the key id must be"),  # the key where the id goes
        (f"k1:{ENCODED},k2:{OTHER[:-1]}+", "entry 2 ('k2'): the key is not base64url"),
        (f"k1:{ENCODED[:20]}/{ENCODED[21:]}", "entry 1 ('k1'): the key is not base64url"),
        ("k1:A", "entry 1 ('k1'): the key is not base64url"),
        ("k1:", "entry 1 ('k1'): the key is not base64url"),
        (f"k1:{ENCODED[:22]}", "must be 32 bytes (43 base64url characters), not 16"),
        (f"k1:{ENCODED}{ENCODED}", "must be 32 bytes (43 base64url characters), not 64"),
        (f"k1:{ENCODED},k1:{OTHER}", "key id 'k1' appears more than once"),
        (f"k1:{ENCODED},k2:{ENCODED}", "'k2' holds the same key as 'k1'"),
    ],
    ids=[
        "empty",
        "only-commas",
        "stray-comma",
        "no-id",
        "empty-id",
        "space-in-id",
        "long-id",
        "key-as-id",
        "plus",
        "slash",
        "one-char",
        "empty-key",
        "short",
        "long",
        "duplicate-id",
        "duplicate-key",
    ],
)
def test_bad_rings_say_what_is_wrong_without_the_key(text: str, expected: str) -> None:
    assert expected in refused(text)


def test_rotate_puts_a_new_key_first_and_keeps_the_old() -> None:
    ring = ring_of("old")
    rotated, key_id = rotate(ring)
    assert rotated.current.key_id == key_id != "old"
    assert rotated.key_ids == (key_id, "old")
    assert rotated.get("old") == ring.current
    assert re.fullmatch(r"\d{8}-[0-9a-f]{6}", key_id)
    assert ring.key_ids == ("old",)  # the ring given is not changed


def test_rotate_with_a_chosen_id() -> None:
    rotated, key_id = rotate(ring_of("old"), key_id="2027")
    assert (key_id, rotated.key_ids) == ("2027", ("2027", "old"))
    with pytest.raises(KeyRingError, match="'old' is already in the ring"):
        rotate(rotated, key_id="old")
    with pytest.raises(KeyRingError, match="1 to 32 characters"):
        rotate(rotated, key_id="no good")


def test_rotated_keys_are_new_each_time() -> None:
    ring = ring_of("a")
    for _ in range(5):
        ring, _key_id = rotate(ring)
    assert len({key.material for key in ring}) == len(ring) == 6


def test_retire_drops_an_old_key() -> None:
    ring = ring_of("new", "old", "older")
    assert retire(ring, "old").key_ids == ("new", "older")


def test_retire_refuses_the_current_key() -> None:
    with pytest.raises(KeyRingError, match=r"'new' is the current key.*rotate first"):
        retire(ring_of("new", "old"), "new")


def test_retire_refuses_an_unknown_key() -> None:
    with pytest.raises(KeyRingError, match=r"'gone' is not in the key ring \(its ids: new, old\)"):
        retire(ring_of("new", "old"), "gone")
    with pytest.raises(KeyRingError, match="that key id is not in the key ring"):
        retire(ring_of("new", "old"), "not an id")


def test_a_ring_is_never_empty_nor_has_duplicates() -> None:
    with pytest.raises(KeyRingError, match="holds no key"):
        KeyRing(())
    key = generate_master_key(key_id="a")
    with pytest.raises(KeyRingError, match="more than once"):
        KeyRing((key, MasterKey("a", secrets.token_bytes(32))))
    assert new_key_ring().current.key_id


def test_a_generated_id_never_repeats_one_in_the_ring(monkeypatch: pytest.MonkeyPatch) -> None:
    suffixes = iter(["aaaaaa", "aaaaaa", "bbbbbb"])
    monkeypatch.setattr(keyring.secrets, "token_hex", lambda _n: next(suffixes))
    ring, first = rotate(ring_of("old"))
    assert first.endswith("-aaaaaa")
    ring, second = rotate(ring)  # "-aaaaaa" again is taken: another is drawn
    assert second.endswith("-bbbbbb")
    assert ring.key_ids == (second, first, "old")
