"""Human approval: approvals, and runs that wait for one

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 17:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_RUNNING = sa.text("status = 'running'")
_ACTIVE = sa.text("status IN ('running', 'waiting')")


def upgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("job_key", sa.String(length=200), nullable=True))
        batch_op.drop_index(
            "uq_runs_thread_running", sqlite_where=_RUNNING, postgresql_where=_RUNNING
        )
        batch_op.create_index(
            "uq_runs_thread_active",
            ["thread_id"],
            unique=True,
            sqlite_where=_ACTIVE,
            postgresql_where=_ACTIVE,
        )
    op.create_table(
        "approvals",
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("thread_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("tool_call_id", sa.String(length=200), nullable=False),
        sa.Column("tool", sa.String(length=100), nullable=False),
        sa.Column("server_id", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("arguments", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_arguments", sa.LargeBinary(), nullable=True),
        sa.Column("reason", sa.LargeBinary(), nullable=True),
        sa.Column("answer", sa.LargeBinary(), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name="fk_approvals_run_id_runs", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["thread_id"], ["threads.id"], name="fk_approvals_thread_id_threads", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_approvals_user_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_approvals"),
        sa.UniqueConstraint("run_id", "tool_call_id", name="uq_approvals_run_call"),
    )
    op.create_index("ix_approvals_user_status", "approvals", ["user_id", "status", "created_at"])
    op.create_index("ix_approvals_status_expires", "approvals", ["status", "expires_at"])


def downgrade() -> None:
    op.drop_index("ix_approvals_status_expires", table_name="approvals")
    op.drop_index("ix_approvals_user_status", table_name="approvals")
    op.drop_table("approvals")
    # A run still waiting cannot be kept: it ends as cancelled (its calls left unanswered
    # are answered by nobody; the downgraded server closes it as any run it did not start).
    op.execute(
        "UPDATE runs SET status = 'cancelled', error_code = 'cancelled', "
        "error = 'The run was cancelled.' WHERE status = 'waiting'"
    )
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_index("uq_runs_thread_active", sqlite_where=_ACTIVE, postgresql_where=_ACTIVE)
        batch_op.create_index(
            "uq_runs_thread_running",
            ["thread_id"],
            unique=True,
            sqlite_where=_RUNNING,
            postgresql_where=_RUNNING,
        )
        batch_op.drop_column("job_key")
