"""Branches: a thread is a tree of messages (each with a parent) with one active path

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 19:10:00.000000

Every existing thread becomes one path: each message's parent is the message before it, the
thread's active leaf its newest message, and each run starts from the user message it answers.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("parent_id", sa.Uuid(), nullable=True))
    with op.batch_alter_table("threads") as batch:
        batch.add_column(sa.Column("active_leaf_id", sa.Uuid(), nullable=True))
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("parent_id", sa.Uuid(), nullable=True))
    op.execute(
        "UPDATE messages SET parent_id = (SELECT p.id FROM messages p "
        "WHERE p.thread_id = messages.thread_id AND p.seq < messages.seq "
        "ORDER BY p.seq DESC LIMIT 1)"
    )
    op.execute(
        "UPDATE threads SET active_leaf_id = (SELECT m.id FROM messages m "
        "WHERE m.thread_id = threads.id ORDER BY m.seq DESC LIMIT 1)"
    )
    op.execute(
        "UPDATE runs SET parent_id = (SELECT m.id FROM messages m "
        "WHERE m.thread_id = runs.thread_id AND m.run_id = runs.id AND m.role = 'user' "
        "ORDER BY m.seq LIMIT 1)"
    )
    # A message's children (its siblings' parent), and a thread's roots (parent NULL).
    op.create_index("ix_messages_thread_parent", "messages", ["thread_id", "parent_id", "seq"])


def downgrade() -> None:
    op.drop_index("ix_messages_thread_parent", table_name="messages")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("parent_id")
    with op.batch_alter_table("threads") as batch:
        batch.drop_column("active_leaf_id")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("parent_id")
