"""Files: uploads, their blobs and their attachment to messages

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04 19:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "files",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.LargeBinary(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.LargeBinary(), nullable=False),
        sa.Column("blob_key", sa.String(length=64), nullable=False),
        sa.Column("text", sa.LargeBinary(), nullable=True),
        sa.Column("text_chars", sa.Integer(), nullable=True),
        sa.Column("lines", sa.Integer(), nullable=True),
        sa.Column("pages", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name="fk_files_owner_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_files"),
    )
    op.create_index("ix_files_owner_created", "files", ["owner_id", "created_at", "id"])
    op.create_index("ix_files_owner_blob", "files", ["owner_id", "blob_key"])
    op.create_table(
        "message_files",
        sa.Column("message_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.Uuid(), nullable=False),
        sa.Column("thread_id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("sent_chars", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name="fk_message_files_message_id_messages",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["file_id"], ["files.id"], name="fk_message_files_file_id_files", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["thread_id"],
            ["threads.id"],
            name="fk_message_files_thread_id_threads",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name="fk_message_files_owner_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("message_id", "position", name="pk_message_files"),
    )
    op.create_index("ix_message_files_file_id", "message_files", ["file_id"])
    op.create_index("ix_message_files_thread_id", "message_files", ["thread_id"])


def downgrade() -> None:
    op.drop_index("ix_message_files_thread_id", table_name="message_files")
    op.drop_index("ix_message_files_file_id", table_name="message_files")
    op.drop_table("message_files")
    op.drop_index("ix_files_owner_blob", table_name="files")
    op.drop_index("ix_files_owner_created", table_name="files")
    op.drop_table("files")
