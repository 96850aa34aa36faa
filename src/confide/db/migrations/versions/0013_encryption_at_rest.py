"""Encryption at rest: users' data keys; content columns hold sealed bytes

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 14:00:00.000000

Thread titles, message content and tool calls, run event data, TOTP secrets and phone numbers
become `LargeBinary` columns holding AES-256-GCM envelopes (crypto/vault.py). What is already
stored is sealed here, in the migration's one transaction, under a data key made for each
owner and wrapped by the key ring that `confide db upgrade` (or `confide serve` on the
embedded database) passes in: a database with content and no ring at hand is refused, never
left half plaintext. The downgrade opens everything again, with the same ring.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import context, op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 500

# (table, column, nullable, the old type, the key columns, the owner's id as SQL)
_COLUMNS: list[tuple[str, str, bool, Any, tuple[str, ...], str]] = [
    ("threads", "title", True, sa.Text(), ("id",), "threads.owner_id"),
    (
        "messages",
        "content",
        True,
        sa.Text(),
        ("id",),
        "(SELECT owner_id FROM threads WHERE threads.id = messages.thread_id)",
    ),
    (
        "messages",
        "tool_calls",
        True,
        sa.Text(),
        ("id",),
        "(SELECT owner_id FROM threads WHERE threads.id = messages.thread_id)",
    ),
    (
        "run_events",
        "data",
        False,
        sa.Text(),
        ("run_id", "seq"),
        "(SELECT user_id FROM runs WHERE runs.id = run_events.run_id)",
    ),
    ("mfa_totp", "secret", False, sa.String(length=64), ("user_id",), "mfa_totp.user_id"),
    ("phones", "number", False, sa.String(length=16), ("user_id",), "phones.user_id"),
]


def upgrade() -> None:
    op.create_table(
        "user_keys",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
        sa.Column("master_key_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rewrapped_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_user_keys_user_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name="pk_user_keys"),
    )
    op.create_index("ix_user_keys_master_key_id", "user_keys", ["master_key_id"])
    for table, column, nullable, old_type, _keys, _owner in _COLUMNS:
        _retype(table, column, old_type, sa.LargeBinary(), nullable)
    codecs = _Codecs(op.get_bind())
    for table, column, _nullable, _type, keys, owner in _COLUMNS:
        _rewrite(
            table,
            column,
            keys,
            owner,
            lambda codec, value, where: codec.encode(
                value if isinstance(value, str) else bytes(value).decode("utf-8"), **where
            ),
            codecs,
        )


def downgrade() -> None:
    codecs = _Codecs(op.get_bind(), create=False)
    for table, column, _nullable, _type, keys, owner in _COLUMNS:
        _rewrite(
            table,
            column,
            keys,
            owner,
            lambda codec, value, where: codec.decode(bytes(value), **where).encode("utf-8"),
            codecs,
        )
    for table, column, nullable, old_type, _keys, _owner in _COLUMNS:
        _retype(table, column, sa.LargeBinary(), old_type, nullable)
    op.drop_index("ix_user_keys_master_key_id", table_name="user_keys")
    op.drop_table("user_keys")


def _retype(table: str, column: str, old: Any, new: Any, nullable: bool) -> None:
    if op.get_bind().dialect.name == "postgresql":
        using = (
            f"convert_to({column}, 'UTF8')"
            if isinstance(new, sa.LargeBinary)
            else f"convert_from({column}, 'UTF8')"
        )
        op.alter_column(table, column, type_=new, existing_type=old, postgresql_using=using)
        return
    with op.batch_alter_table(table) as batch:
        batch.alter_column(column, type_=new, existing_type=old, existing_nullable=nullable)


def _rewrite(
    table: str,
    column: str,
    keys: tuple[str, ...],
    owner: str,
    change: Callable[[Any, Any, dict[str, Any]], bytes],
    codecs: _Codecs,
) -> None:
    """Pass every stored value of `column` through `change(codec of its owner, value, where)`."""
    connection = op.get_bind()
    key_list = ", ".join(keys)
    after: tuple[Any, ...] | None = None
    while True:
        where = f"{column} IS NOT NULL"
        params: dict[str, Any] = {"limit": BATCH}
        if after is not None:
            where += f" AND ({key_list}) > ({', '.join(f':k{i}' for i in range(len(keys)))})"
            params.update({f"k{i}": value for i, value in enumerate(after)})
        rows = connection.execute(
            sa.text(
                f"SELECT {key_list}, {owner} AS owner, {column} FROM {table} "  # noqa: S608
                f"WHERE {where} ORDER BY {key_list} LIMIT :limit"
            ),
            params,
        ).all()
        if not rows:
            return
        for row in rows:
            key_values = tuple(row[: len(keys)])
            owner_id, value = _uuid(row[len(keys)]), row[len(keys) + 1]
            row_id = ":".join(
                str(_uuid(v) if k.endswith("id") else v)
                for k, v in zip(keys, key_values, strict=True)
            )
            codec = codecs.of(owner_id)
            stored = change(codec, value, {"table": table, "column": column, "row_id": row_id})
            connection.execute(
                sa.text(
                    f"UPDATE {table} SET {column} = :value WHERE "  # noqa: S608
                    + " AND ".join(f"{k} = :k{i}" for i, k in enumerate(keys))
                ).bindparams(sa.bindparam("value", type_=sa.LargeBinary())),
                {"value": stored, **{f"k{i}": v for i, v in enumerate(key_values)}},
            )
        after = tuple(rows[-1][: len(keys)])


def _uuid(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, str) and len(value) in (32, 36):
        return uuid.UUID(value)
    return value


class _Codecs:
    """Owners' codecs, their data keys made (and wrapped by the ring given) on first need."""

    def __init__(self, connection: sa.Connection, *, create: bool = True) -> None:
        self.connection = connection
        self.create = create
        self.codecs: dict[uuid.UUID, Any] = {}

    def of(self, user_id: uuid.UUID) -> Any:
        codec = self.codecs.get(user_id)
        if codec is None:
            codec = self.codecs[user_id] = self._codec(user_id)
        return codec

    def _codec(self, user_id: uuid.UUID) -> Any:
        from confide.crypto import datakeys
        from confide.crypto.keys import DataKey
        from confide.crypto.vault import DATA_KEY_ID, EncryptingCodec
        from confide.db.base import utcnow

        ring = context.config.attributes.get("key_ring")
        if ring is None:
            raise RuntimeError(
                "this database holds content to encrypt (or decrypt), and no key ring was "
                "given: run `confide db upgrade` (it loads CONFIDE_MASTER_KEYS or the key file)"
            )
        user_keys = sa.table(
            "user_keys",
            sa.column("user_id", sa.Uuid()),
            sa.column("wrapped", sa.LargeBinary()),
            sa.column("master_key_id", sa.String()),
            sa.column("created_at", sa.DateTime(timezone=True)),
        )
        wrapped = self.connection.scalar(
            sa.select(user_keys.c.wrapped).where(user_keys.c.user_id == user_id)
        )
        if wrapped is None:
            if not self.create:
                raise RuntimeError(f"user {user_id} has content but no data key")
            data_key = datakeys.new_data_key()
            self.connection.execute(
                sa.insert(user_keys).values(
                    user_id=user_id,
                    wrapped=datakeys.wrap(ring, data_key, user_id=user_id),
                    master_key_id=ring.current.key_id,
                    created_at=utcnow(),
                )
            )
        else:
            data_key = datakeys.unwrap(ring, bytes(wrapped), user_id=user_id)
        return EncryptingCodec(user_id, DataKey(DATA_KEY_ID, data_key))
