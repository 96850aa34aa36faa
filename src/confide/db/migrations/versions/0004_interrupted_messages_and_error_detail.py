"""interrupted messages, runs' upstream error detail

An assistant message cut short (cancel, time-out, failure) is kept, marked `interrupted`; a
run keeps what a failing model endpoint said (`error_detail`) for the log and admins.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 22:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(
            sa.Column("interrupted", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("error_detail", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("error_detail")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("interrupted")
