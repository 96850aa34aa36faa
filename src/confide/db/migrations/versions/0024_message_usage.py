"""Usage per message: tokens, latency, tool duration and status

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-04 19:10:00.000000

Messages stored before keep NULL in every new column: their usage was never recorded.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("input_tokens", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("output_tokens", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("model_ms", sa.Float(), nullable=True))
        batch.add_column(sa.Column("first_token_ms", sa.Float(), nullable=True))
        batch.add_column(sa.Column("model", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("tool_ms", sa.Float(), nullable=True))
        batch.add_column(sa.Column("tool_status", sa.String(length=32), nullable=True))
    op.create_index("ix_messages_run", "messages", ["run_id"])
    op.create_index("ix_runs_user_created", "runs", ["user_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_runs_user_created", table_name="runs")
    op.drop_index("ix_messages_run", table_name="messages")
    with op.batch_alter_table("messages") as batch:
        for column in (
            "tool_status",
            "tool_ms",
            "model",
            "first_token_ms",
            "model_ms",
            "output_tokens",
            "input_tokens",
        ):
            batch.drop_column(column)
