"""Encryption at rest: each user's codec, sealing their content under their own data key.

The key hierarchy (docs/security.md, "Encryption at rest"): master keys (the ring:
CONFIDE_MASTER_KEYS or the generated key file) wrap each user's data key (`user_keys`); the
data key seals the user's content (AES-256-GCM envelopes bound to their table, column, row and
user, envelope.py) and, through HKDF, gives the key of the user's blind search tokens.

A user's data key is made on first use, in the caller's transaction (`INSERT ... ON CONFLICT
DO NOTHING`, so two first uses at once share one key). It is cached unwrapped (cache.py) only
once it was read back as a row that was already there: a key made by a transaction that then
rolls back is never cached, so nothing is ever sealed under a key the database does not hold.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import struct
import uuid
import weakref
from collections.abc import Callable
from datetime import datetime

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from redis.exceptions import RedisError
from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from confide.crypto import datakeys
from confide.crypto.cache import DataKeyCache
from confide.crypto.envelope import (
    FIELD_AAD,
    NONCE_BYTES,
    TAG_BYTES,
    length_prefixed,
    parse_envelope,
)
from confide.crypto.errors import DecryptionFailed
from confide.crypto.keyring import KeyRing
from confide.crypto.keys import DataKey
from confide.crypto.keystore import KeyStore
from confide.crypto.models import UserKey
from confide.db.base import utcnow
from confide.shared.broadcast import Broadcast
from confide.shared.redis import key
from confide.storage.codec import ContentCodec, Executor, blind_token

log = logging.getLogger("confide.crypto")

FORGET_CHANNEL = key("crypto", "forget")  # a user's data key was destroyed: drop it
DATA_KEY_ID = "dk1"  # the id a data key's envelopes carry (one data key per user)
_INDEX_INFO = b"confide/search-index/v1"
# The users whose data key each open transaction made (not yet known to be committed).
_MADE: weakref.WeakKeyDictionary[object, set[uuid.UUID]] = weakref.WeakKeyDictionary()


class EncryptingCodec:
    """One user's content sealed under their data key (AES-256-GCM, a fresh nonce a value)."""

    __slots__ = ("_aead", "_header", "_index_key", "_key", "_places", "_user_id", "_user_part")

    def __init__(self, user_id: uuid.UUID, key: DataKey) -> None:
        self._user_id = user_id
        self._key = key
        self._aead = AESGCM(key.material)
        encoded = key.key_id.encode("ascii")
        self._header = bytes((1, len(encoded))) + encoded  # envelope.py's version 1 header
        self._index_key: bytes | None = None  # derived when search first needs it
        self._user_part = length_prefixed(str(user_id))
        self._places: dict[tuple[str, str], bytes] = {}

    @property
    def user_id(self) -> uuid.UUID:
        return self._user_id

    def encode(self, text: str, *, table: str, column: str, row_id: object) -> bytes:
        return self.encode_bytes(text.encode("utf-8"), table=table, column=column, row_id=row_id)

    def encode_bytes(self, data: bytes, *, table: str, column: str, row_id: object) -> bytes:
        header = self._header
        nonce = os.urandom(NONCE_BYTES)
        aad = self._aad(table, column, row_id)
        return header + nonce + self._aead.encrypt(nonce, data, aad)

    def decode(self, stored: bytes, *, table: str, column: str, row_id: object) -> str:
        plaintext = self.decode_bytes(stored, table=table, column=column, row_id=row_id)
        try:
            return plaintext.decode("utf-8")
        except UnicodeDecodeError:
            raise DecryptionFailed("not_text", "it does not hold UTF-8 text.") from None

    def decode_bytes(self, stored: bytes, *, table: str, column: str, row_id: object) -> bytes:
        # The header compared as bytes, not parsed (envelope.parse_envelope): 10.5 us a value
        # before, 4 after; 50 messages a page (bench/search_bench.py, README "Figures").
        stored = bytes(stored)
        header = self._header
        start = len(header)
        if stored[:start] != header or len(stored) < start + NONCE_BYTES + TAG_BYTES:
            envelope = parse_envelope(stored)  # raises with the reason when it is malformed
            raise DecryptionFailed(
                "unknown_key",
                f"{table}.{column} of {row_id} is not sealed under this user's data key.",
                key_id=envelope.key_id,
            )
        nonce = stored[start : start + NONCE_BYTES]
        try:
            plaintext = self._aead.decrypt(
                nonce, stored[start + NONCE_BYTES :], self._aad(table, column, row_id)
            )
        except InvalidTag:
            log.error(
                "decryption failed: %s.%s of row %s (user %s) does not authenticate",
                table,
                column,
                row_id,
                self._user_id,
            )
            raise DecryptionFailed(
                "authentication_failed",
                f"{table}.{column} of {row_id} does not authenticate (another row's "
                "ciphertext, another user's, or altered).",
            ) from None
        return plaintext

    def _aad(self, table: str, column: str, row_id: object) -> bytes:
        """The header, then what `envelope.aad_for` binds (tests/crypto/test_vault.py holds
        them equal), with the parts that do not change per value made once."""
        place = self._places.get((table, column))
        if place is None:
            place = self._places[(table, column)] = self._header + length_prefixed(
                FIELD_AAD, table, column
            )
        row = str(row_id).encode("utf-8")
        return place + struct.pack(">I", len(row)) + row + self._user_part

    def blind_token(self, word: str) -> bytes:
        if self._index_key is None:
            self._index_key = HKDF(
                algorithm=hashes.SHA256(), length=32, salt=None, info=_INDEX_INFO
            ).derive(self._key.material)
        return blind_token(self._index_key, word)


class KeyVault:
    """Users' codecs under their data keys, wrapped by the key ring's master keys."""

    def __init__(
        self,
        store: KeyStore,
        *,
        cache: DataKeyCache | None = None,
        broadcast: Broadcast | None = None,
    ) -> None:
        self.store = store
        self.ring: KeyRing = store.load()
        self.cache = cache or DataKeyCache()
        # With Redis: a destroyed key leaves every process's cache at once, not within its TTL.
        self.broadcast = broadcast
        if broadcast is not None:
            broadcast.subscribe(FORGET_CHANNEL, self._forget_heard)
            broadcast.on_reset(self.cache.clear)  # a forget may have been missed meanwhile

    async def codec(self, db: Executor, user_id: uuid.UUID) -> ContentCodec:
        if user_id in _made_in(db):
            return EncryptingCodec(user_id, await self._read_or_create(db, user_id))
        try:
            key = await self.cache.get(user_id, lambda: self._read(db, user_id))
        except _NoDataKey:
            key = await self._read_or_create(db, user_id)
        return EncryptingCodec(user_id, key)

    async def destroy(self, db: Executor, user_id: uuid.UUID) -> None:
        await db.execute(delete(UserKey).where(UserKey.user_id == user_id))
        self.cache.forget(user_id)
        _made_in(db).discard(user_id)
        if self.broadcast is not None:
            try:
                await self.broadcast.publish(FORGET_CHANNEL, user_id.bytes)
            except RedisError:  # the others drop it within the cache's TTL anyway
                log.warning("could not tell the other processes to forget a data key")

    def _forget_heard(self, data: bytes) -> None:
        with contextlib.suppress(ValueError):
            self.cache.forget(uuid.UUID(bytes=data))

    def forget(self, user_id: uuid.UUID) -> None:
        """Drop a user's cached key (their key was destroyed or rewrapped elsewhere)."""
        self.cache.forget(user_id)

    async def prune_forever(self, every_seconds: float = 60.0) -> None:
        """Drop expired keys on a timer, so a quiet process holds none past its TTL."""
        while True:
            await asyncio.sleep(every_seconds)
            self.cache.prune()

    async def _read(self, db: Executor, user_id: uuid.UUID) -> DataKey:
        wrapped = await db.scalar(select(UserKey.wrapped).where(UserKey.user_id == user_id))
        if wrapped is None:
            raise _NoDataKey
        return DataKey(DATA_KEY_ID, self._unwrap(bytes(wrapped), user_id))

    async def _read_or_create(self, db: Executor, user_id: uuid.UUID) -> DataKey:
        wrapped = datakeys.wrap(self.ring, datakeys.new_data_key(), user_id=user_id)
        dialect = db.dialect if isinstance(db, AsyncConnection) else db.get_bind().dialect
        insert = sqlite_insert if dialect.name == "sqlite" else pg_insert
        await db.execute(
            insert(UserKey)
            .values(
                user_id=user_id,
                wrapped=wrapped,
                master_key_id=self.ring.current.key_id,
                created_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["user_id"])
        )
        _made_in(db).add(user_id)
        stored = await db.scalar(select(UserKey.wrapped).where(UserKey.user_id == user_id))
        if stored is None:  # deleted meanwhile (the account is being deleted)
            raise DecryptionFailed("unknown_key", "the user's data key no longer exists.")
        return DataKey(DATA_KEY_ID, self._unwrap(bytes(stored), user_id))

    def _unwrap(self, wrapped: bytes, user_id: uuid.UUID) -> bytes:
        try:
            return datakeys.unwrap(self.ring, wrapped, user_id=user_id)
        except DecryptionFailed as exc:
            if exc.reason != "unknown_key":
                raise
            # A master key added since this process loaded the ring (`confide keys rotate`
            # on the key file): read the ring again, once.
            self.ring = self.store.load()
            return datakeys.unwrap(self.ring, wrapped, user_id=user_id)


def _made_in(db: Executor) -> set[uuid.UUID]:
    """The users whose data key `db`'s current transaction made: not cached while it lasts.
    Kept by transaction, not on the connection (whose `info` outlives it, pooled), so a key
    is cached from the next transaction on."""
    sync = db.sync_connection if isinstance(db, AsyncConnection) else db.sync_session
    transaction = sync.get_transaction() if sync is not None else None
    if transaction is None:
        return set()
    return _MADE.setdefault(transaction, set())


class _NoDataKey(Exception):
    """The user has no data key yet."""


async def rewrap_all(
    database_begin: Callable[[], contextlib.AbstractAsyncContextManager[Executor]],
    ring: KeyRing,
    *,
    batch: int = 200,
    on_progress: Callable[[int, int], None] | None = None,
) -> int:
    """Wrap every data key not under the ring's current master key under it, in batches of
    `batch` (each its own transaction); `on_progress(done, total)` after each. Returns how
    many were rewrapped. Safe to run twice or to interrupt: a rewrapped key is skipped."""
    current = ring.current.key_id
    async with database_begin() as conn:
        total = len(
            (
                await conn.execute(select(UserKey.user_id).where(UserKey.master_key_id != current))
            ).all()
        )
    done = 0
    if on_progress is not None:
        on_progress(0, total)
    while True:
        async with database_begin() as conn:
            rows = (
                await conn.execute(
                    select(UserKey.user_id, UserKey.wrapped)
                    .where(UserKey.master_key_id != current)
                    .order_by(UserKey.user_id)
                    .limit(batch)
                )
            ).all()
            if not rows:
                return done
            now: datetime = utcnow()
            for user_id, wrapped in rows:
                await conn.execute(
                    update(UserKey)
                    .where(UserKey.user_id == user_id, UserKey.wrapped == wrapped)
                    .values(
                        wrapped=datakeys.rewrap(ring, bytes(wrapped), user_id=user_id),
                        master_key_id=current,
                        rewrapped_at=now,
                    )
                )
        done += len(rows)
        if on_progress is not None:
            on_progress(min(done, total), total)


async def wrapped_under(
    database_begin: Callable[[], contextlib.AbstractAsyncContextManager[Executor]],
) -> dict[str, int]:
    """How many data keys each master key id wraps."""
    from sqlalchemy import func

    async with database_begin() as conn:
        rows = (
            await conn.execute(
                select(UserKey.master_key_id, func.count()).group_by(UserKey.master_key_id)
            )
        ).all()
    return {key_id: count for key_id, count in rows}
