"""AES-256-GCM envelopes: a ciphertext that names its key and is bound to where it is stored.

A blob is `version (1 byte) | key id length (1 byte) | key id (ASCII) | nonce (12 random
bytes) | ciphertext | tag (16 bytes)`. The GCM associated data is the header (version, key id
length and key id) followed by the caller's `aad`, which `aad_for` builds from the table,
column, row and user: a blob copied to another row, column or user, or altered anywhere,
fails to open with DecryptionFailed instead of returning some other text. A fresh nonce per
seal makes identical plaintexts give different blobs.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from confide.crypto.errors import DecryptionFailed
from confide.crypto.keys import SymmetricKey, is_key_id

VERSION = 1
NONCE_BYTES = 12
TAG_BYTES = 16
FIELD_AAD = b"confide/field/v1"


@dataclass(frozen=True, slots=True)
class Envelope:
    """A blob's parts, parsed but not yet opened."""

    version: int
    key_id: str
    header: bytes
    nonce: bytes
    ciphertext: bytes  # with the tag at its end


def seal(key: SymmetricKey, plaintext: bytes, *, aad: bytes) -> bytes:
    """Encrypt `plaintext` under `key`, bound to `aad` (build it with `aad_for`)."""
    header = _header(key.key_id)
    nonce = os.urandom(NONCE_BYTES)
    return header + nonce + AESGCM(key.material).encrypt(nonce, plaintext, header + aad)


def unseal(key: SymmetricKey, blob: bytes, *, aad: bytes) -> bytes:
    """The plaintext `seal` was given, or DecryptionFailed (with its reason)."""
    envelope = parse_envelope(blob)
    if envelope.key_id != key.key_id:
        raise DecryptionFailed(
            "unknown_key",
            f"it was sealed with key {envelope.key_id!r}, not {key.key_id!r}.",
            key_id=envelope.key_id,
        )
    try:
        return AESGCM(key.material).decrypt(
            envelope.nonce, envelope.ciphertext, envelope.header + aad
        )
    except InvalidTag:
        raise DecryptionFailed(
            "authentication_failed",
            "it does not authenticate (another key, another row's ciphertext, or altered).",
            key_id=envelope.key_id,
        ) from None


def seal_text(key: SymmetricKey, text: str, *, aad: bytes) -> bytes:
    return seal(key, text.encode("utf-8"), aad=aad)


def unseal_text(key: SymmetricKey, blob: bytes, *, aad: bytes) -> str:
    plaintext = unseal(key, blob, aad=aad)
    try:
        return plaintext.decode("utf-8")
    except UnicodeDecodeError:
        raise DecryptionFailed("not_text", "it does not hold UTF-8 text.") from None


def parse_envelope(blob: bytes) -> Envelope:
    """Split a blob into its parts; DecryptionFailed when it cannot be one of ours."""
    if not blob:
        raise DecryptionFailed("malformed", "the stored value is empty.")
    version = blob[0]
    if version != VERSION:
        raise DecryptionFailed(
            "unsupported_version", f"format version {version} is not one this code reads."
        )
    if len(blob) < 2:
        raise DecryptionFailed("malformed", "the stored value is truncated.")
    id_end = 2 + blob[1]
    if len(blob) < id_end + NONCE_BYTES + TAG_BYTES:
        raise DecryptionFailed("malformed", "the stored value is truncated.")
    try:
        key_id = blob[2:id_end].decode("ascii")
    except UnicodeDecodeError:
        key_id = ""
    if not is_key_id(key_id):
        raise DecryptionFailed("malformed", "its key id is not valid.")
    return Envelope(
        version=version,
        key_id=key_id,
        header=blob[:id_end],
        nonce=blob[id_end : id_end + NONCE_BYTES],
        ciphertext=blob[id_end + NONCE_BYTES :],
    )


def sealed_key_id(blob: bytes) -> str:
    """The id of the key a blob was sealed with (to pick the key that opens it)."""
    return parse_envelope(blob).key_id


def aad_for(table: str, column: str, row_id: str | UUID, user_id: UUID) -> bytes:
    """The associated data that binds a value to its table, column, row and user."""
    if not table or not column or not str(row_id):
        raise ValueError("the table, column and row id must not be empty")
    return length_prefixed(FIELD_AAD, table, column, str(row_id), str(user_id))


def length_prefixed(*fields: bytes | str) -> bytes:
    """Fields joined unambiguously: each is its 4-byte big-endian length, then its bytes."""
    parts: list[bytes] = []
    for item in fields:
        data = item.encode("utf-8") if isinstance(item, str) else item
        parts.append(struct.pack(">I", len(data)) + data)
    return b"".join(parts)


def _header(key_id: str) -> bytes:
    encoded = key_id.encode("ascii")  # SymmetricKey checked it: 1 to 32 ASCII characters
    return bytes((VERSION, len(encoded))) + encoded
