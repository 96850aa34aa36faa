"""The one storage codec every piece of user content passes through.

A `Vault` hands out one user's `ContentCodec`: `await vault.codec(db, user_id)`. The codec
seals text for a column of a row and opens it again; what it stores is bytes (a
`LargeBinary` column). With encryption at rest (crypto/vault.py, the default) the bytes are an
AES-256-GCM envelope under the user's data key, bound to the table, column, row and user, so
a value copied to another row or user fails to open (DecryptionFailed, a 500) instead of
showing the wrong text. `PlainVault` stores UTF-8 as it is: only the benchmark's "encryption
off" column uses it, never a deployment.

`blind_token(word)` is the search index's keyed token for a normalised word: an HMAC under a
key derived from the user's data key, so the index shows no word to someone with the database
and two users' tokens for one word differ.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

# A request's session, or a connection outside a request (`Database.begin()`).
Executor = AsyncConnection | AsyncSession

BLIND_TOKEN_BYTES = 16


class ContentCodec(Protocol):
    """One user's content, sealed for storage and opened again."""

    @property
    def user_id(self) -> uuid.UUID:
        """Whose key this codec holds."""

    def encode(self, text: str, *, table: str, column: str, row_id: object) -> bytes:
        """The stored form of `text`, for `column` of the row `row_id` of `table`."""

    def decode(self, stored: bytes, *, table: str, column: str, row_id: object) -> str:
        """The text `stored` holds; DecryptionFailed when it was not sealed for this place."""

    def encode_bytes(self, data: bytes, *, table: str, column: str, row_id: object) -> bytes:
        """`encode` for bytes that are not text (an uploaded file's content)."""

    def decode_bytes(self, stored: bytes, *, table: str, column: str, row_id: object) -> bytes:
        """The bytes `stored` holds; DecryptionFailed when it was not sealed for this place."""

    def blind_token(self, word: str) -> bytes:
        """The search index's token for a normalised word (BLIND_TOKEN_BYTES bytes)."""


class Vault(Protocol):
    """Hands out users' codecs and destroys users' keys."""

    async def codec(self, db: Executor, user_id: uuid.UUID) -> ContentCodec:
        """The user's codec (their data key is made on first use, in `db`'s transaction)."""

    async def destroy(self, db: Executor, user_id: uuid.UUID) -> None:
        """Delete the user's data key (crypto-shredding); everything sealed under it is lost."""


class PlainCodec:
    """Stores UTF-8 unchanged: the benchmark's "encryption off" only."""

    __slots__ = ("_index_key", "_user_id")

    def __init__(self, user_id: uuid.UUID) -> None:
        self._user_id = user_id
        self._index_key = hashlib.sha256(b"confide/plain-index/" + user_id.bytes).digest()

    @property
    def user_id(self) -> uuid.UUID:
        return self._user_id

    def encode(self, text: str, *, table: str, column: str, row_id: object) -> bytes:
        return text.encode("utf-8")

    def decode(self, stored: bytes, *, table: str, column: str, row_id: object) -> str:
        return bytes(stored).decode("utf-8")

    def encode_bytes(self, data: bytes, *, table: str, column: str, row_id: object) -> bytes:
        return bytes(data)

    def decode_bytes(self, stored: bytes, *, table: str, column: str, row_id: object) -> bytes:
        return bytes(stored)

    def blind_token(self, word: str) -> bytes:
        return blind_token(self._index_key, word)


class PlainVault:
    """Codecs that store text unchanged (the benchmark's comparison, never a deployment)."""

    async def codec(self, db: Executor, user_id: uuid.UUID) -> ContentCodec:
        return PlainCodec(user_id)

    async def destroy(self, db: Executor, user_id: uuid.UUID) -> None:
        return None


def blind_token(index_key: bytes, word: str) -> bytes:
    return hmac.new(index_key, word.encode("utf-8"), hashlib.sha256).digest()[:BLIND_TOKEN_BYTES]


def encode_json(
    codec: ContentCodec, value: Any, *, table: str, column: str, row_id: object
) -> bytes:
    """Structured content (tool calls, event data) goes through the same codec as text."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return codec.encode(text, table=table, column=column, row_id=row_id)


def decode_json(
    codec: ContentCodec, stored: bytes, *, table: str, column: str, row_id: object
) -> Any:
    return json.loads(codec.decode(stored, table=table, column=column, row_id=row_id))
