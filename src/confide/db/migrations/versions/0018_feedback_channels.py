"""Feedback over channels: users' channel choice, and the notices sent about approvals

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 18:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "feedback_channels",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("channel_order", sa.String(length=64), nullable=False),
        sa.Column("slack_user_id", sa.LargeBinary(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name="fk_feedback_channels_user_id_users",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name="pk_feedback_channels"),
    )
    op.create_table(
        "approval_notices",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("approval_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("ref", sa.String(length=200), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["approval_id"],
            ["approvals.id"],
            name="fk_approval_notices_approval_id_approvals",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_approval_notices_user_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_approval_notices"),
        sa.UniqueConstraint("approval_id", "channel", name="uq_approval_notices_approval_channel"),
        sa.UniqueConstraint("token_hash", name="uq_approval_notices_token_hash"),
    )
    op.create_index("ix_approval_notices_channel_status", "approval_notices", ["channel", "status"])


def downgrade() -> None:
    op.drop_index("ix_approval_notices_channel_status", table_name="approval_notices")
    op.drop_table("approval_notices")
    op.drop_table("feedback_channels")
