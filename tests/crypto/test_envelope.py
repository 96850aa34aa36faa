"""Envelopes: round trips, fresh nonces, bound to their row, and every failure is one error."""

from __future__ import annotations

import uuid

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import given
from hypothesis import strategies as st

from confide.crypto.envelope import (
    NONCE_BYTES,
    TAG_BYTES,
    VERSION,
    aad_for,
    length_prefixed,
    parse_envelope,
    seal,
    seal_text,
    sealed_key_id,
    unseal,
    unseal_text,
)
from confide.crypto.errors import DecryptionFailed
from confide.crypto.keys import DataKey
from confide.error_handlers import install_error_handlers
from tests.crypto.helpers import data_key

KEY = data_key("d1")
USER = uuid.UUID("00000000-0000-4000-8000-000000000001")
OTHER_USER = uuid.UUID("00000000-0000-4000-8000-000000000002")
ROW = uuid.UUID("10000000-0000-4000-8000-000000000001")
AAD = aad_for("messages", "content", ROW, USER)
SECRET_TEXT = "the patient's diagnosis is confidential"


def sealed() -> bytes:
    return seal_text(KEY, SECRET_TEXT, aad=AAD)


def assert_fails(blob: bytes, *, key: DataKey = KEY, aad: bytes = AAD) -> DecryptionFailed:
    with pytest.raises(DecryptionFailed) as caught:
        unseal(key, blob, aad=aad)
    error = caught.value
    assert (error.status, error.code) == (500, "decryption_failed")
    assert SECRET_TEXT not in str(error)
    assert KEY.material.hex() not in str(error)
    return error


# Round trips ------------------------------------------------------------------------------


@given(plaintext=st.binary(max_size=4096), aad=st.binary(max_size=256))
def test_any_bytes_round_trip(plaintext: bytes, aad: bytes) -> None:
    assert unseal(KEY, seal(KEY, plaintext, aad=aad), aad=aad) == plaintext


@given(text=st.text(max_size=2000))
def test_any_text_round_trips(text: str) -> None:
    blob = seal_text(KEY, text, aad=AAD)
    assert unseal_text(KEY, blob, aad=AAD) == text
    if len(text.encode()) >= 8:  # a shorter run of bytes may turn up in any random blob
        assert text.encode() not in blob


def test_the_blob_format() -> None:
    blob = seal(KEY, b"hello", aad=AAD)
    assert blob[0] == VERSION == 1
    assert blob[1] == len("d1")
    assert blob[2:4] == b"d1"
    assert len(blob) == 4 + NONCE_BYTES + len(b"hello") + TAG_BYTES
    assert sealed_key_id(blob) == "d1"
    assert SECRET_TEXT.encode() not in sealed()
    envelope = parse_envelope(blob)
    assert (envelope.version, envelope.key_id, envelope.header) == (1, "d1", blob[:4])
    assert envelope.nonce == blob[4 : 4 + NONCE_BYTES]


def test_identical_plaintexts_give_different_blobs() -> None:
    blobs = {sealed() for _ in range(50)}
    assert len(blobs) == 50
    assert len({parse_envelope(blob).nonce for blob in blobs}) == 50
    assert {unseal_text(KEY, blob, aad=AAD) for blob in blobs} == {SECRET_TEXT}


# Bound to where it is stored ----------------------------------------------------------------


@pytest.mark.parametrize(
    "elsewhere",
    [
        aad_for("messages", "content", uuid.UUID(int=ROW.int + 1), USER),  # another row
        aad_for("messages", "tool_args", ROW, USER),  # another column
        aad_for("threads", "content", ROW, USER),  # another table
        aad_for("messages", "content", ROW, OTHER_USER),  # another user
        b"",
    ],
    ids=["row", "column", "table", "user", "no-aad"],
)
def test_a_blob_moved_elsewhere_does_not_open(elsewhere: bytes) -> None:
    error = assert_fails(sealed(), aad=elsewhere)
    assert error.reason == "authentication_failed"


def test_two_rows_swapped_fail_rather_than_show_each_others_text() -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    first_aad = aad_for("messages", "content", first, USER)
    second_aad = aad_for("messages", "content", second, USER)
    first_blob = seal_text(KEY, "first", aad=first_aad)
    second_blob = seal_text(KEY, "second", aad=second_aad)
    assert_fails(second_blob, aad=first_aad)
    assert_fails(first_blob, aad=second_aad)


def test_aad_fields_cannot_be_shifted_into_each_other() -> None:
    assert aad_for("ab", "c", "1", USER) != aad_for("a", "bc", "1", USER)
    assert aad_for("t", "c", "1" + str(USER), USER) != aad_for("t", "c", "1", USER)
    assert length_prefixed("ab", "c") != length_prefixed("a", "bc")
    assert length_prefixed(b"x") == b"\x00\x00\x00\x01x"
    # A row id given as a UUID or as its text is the same row.
    assert aad_for("t", "c", ROW, USER) == aad_for("t", "c", str(ROW), USER)


@pytest.mark.parametrize(
    ("table", "column", "row"), [("", "c", "1"), ("t", "", "1"), ("t", "c", "")]
)
def test_aad_needs_every_field(table: str, column: str, row: str) -> None:
    with pytest.raises(ValueError, match="must not be empty"):
        aad_for(table, column, row, USER)


# Every failure is DecryptionFailed with a reason -----------------------------------------------


@given(data=st.data())
def test_a_changed_byte_anywhere_fails(data: st.DataObject) -> None:
    blob = bytearray(sealed())
    position = data.draw(st.integers(min_value=0, max_value=len(blob) - 1), label="position")
    blob[position] ^= data.draw(st.integers(min_value=1, max_value=255), label="xor")
    assert_fails(bytes(blob))


@given(data=st.data())
def test_a_truncated_blob_fails(data: st.DataObject) -> None:
    blob = sealed()
    length = data.draw(st.integers(min_value=0, max_value=len(blob) - 1), label="length")
    assert_fails(blob[:length])


def test_an_extended_blob_fails() -> None:
    assert assert_fails(sealed() + b"\x00").reason == "authentication_failed"


@pytest.mark.parametrize(
    ("blob", "reason"),
    [
        (b"", "malformed"),
        (b"\x01", "malformed"),
        (b"\x01\x02d1" + bytes(NONCE_BYTES + TAG_BYTES - 1), "malformed"),
        (b"\x01\x00" + bytes(NONCE_BYTES + TAG_BYTES), "malformed"),  # an empty key id
        (b"\x01\x02d!" + bytes(NONCE_BYTES + TAG_BYTES), "malformed"),  # not a key id
        (b"\x01\x02\xff\xfe" + bytes(NONCE_BYTES + TAG_BYTES), "malformed"),  # not ASCII
        (b"\x00\x02d1" + bytes(64), "unsupported_version"),
        (b"\x02\x02d1" + bytes(64), "unsupported_version"),
    ],
    ids=["empty", "one-byte", "truncated", "empty-id", "bad-id", "non-ascii-id", "v0", "v2"],
)
def test_malformed_blobs_say_why(blob: bytes, reason: str) -> None:
    assert assert_fails(blob).reason == reason


def test_a_future_version_names_itself() -> None:
    blob = bytearray(sealed())
    blob[0] = 7
    error = assert_fails(bytes(blob))
    assert error.reason == "unsupported_version"
    assert "version 7" in error.detail


def test_another_key_id_is_unknown_key() -> None:
    other = data_key("d2")
    error = assert_fails(seal(other, b"x", aad=AAD))
    assert error.reason == "unknown_key"
    assert error.key_id == "d2"
    assert "'d2'" in error.detail


def test_another_key_with_the_same_id_fails_authentication() -> None:
    assert assert_fails(sealed(), key=data_key("d1")).reason == "authentication_failed"


def test_bytes_that_are_not_text_fail_as_text() -> None:
    blob = seal(KEY, b"\xff\xfe", aad=AAD)
    with pytest.raises(DecryptionFailed) as caught:
        unseal_text(KEY, blob, aad=AAD)
    assert caught.value.reason == "not_text"


def test_keys_are_checked_and_never_shown() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        DataKey("d1", b"short")
    with pytest.raises(ValueError, match="key id"):
        DataKey("has space", bytes(32))
    with pytest.raises(ValueError, match="key id"):
        DataKey("x" * 33, bytes(32))
    assert KEY.material.hex() not in repr(KEY)
    assert repr(KEY) == "DataKey(key_id='d1')"


async def test_a_decryption_failure_fails_the_request_with_a_problem() -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/message")
    async def read_message() -> dict[str, str]:
        moved = seal_text(KEY, SECRET_TEXT, aad=aad_for("messages", "content", "other", USER))
        return {"content": unseal_text(KEY, moved, aad=AAD)}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/message")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "decryption_failed"
    assert SECRET_TEXT not in response.text
