"""failed sign-in counters and admin IP rules

`throttle_counters` holds one row per account key (a hash of the normalised email) or client
network with failed sign-ins; `ip_rules` the administrators' allow and block lists.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 16:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "throttle_counters",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notified", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_throttle_counters"),
    )
    op.create_index(
        "ix_throttle_counters_locked_until", "throttle_counters", ["locked_until"], unique=False
    )
    op.create_table(
        "ip_rules",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("cidr", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name="fk_ip_rules_created_by_users", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_ip_rules"),
    )


def downgrade() -> None:
    op.drop_table("ip_rules")
    op.drop_index("ix_throttle_counters_locked_until", table_name="throttle_counters")
    op.drop_table("throttle_counters")
