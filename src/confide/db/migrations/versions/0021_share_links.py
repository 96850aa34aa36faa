"""Share links: public read-only snapshots of a thread's path

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04 19:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "share_links",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("thread_id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("leaf_id", sa.Uuid(), nullable=False),
        sa.Column("message_count", sa.Integer(), nullable=False),
        sa.Column("include_tool_calls", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["thread_id"],
            ["threads.id"],
            name="fk_share_links_thread_id_threads",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name="fk_share_links_owner_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_share_links"),
        sa.UniqueConstraint("token_hash", name="uq_share_links_token_hash"),
    )
    op.create_index("ix_share_links_owner_id", "share_links", ["owner_id"])
    op.create_index(
        "ix_share_links_thread_created", "share_links", ["thread_id", "created_at", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_share_links_thread_created", table_name="share_links")
    op.drop_index("ix_share_links_owner_id", table_name="share_links")
    op.drop_table("share_links")
