"""Organising: folders, pinned and archived threads, generated titles

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04 19:10:00.000000

Existing threads keep their titles as first-words ones: a generated title only ever follows
a thread's first completed run, which they have had already.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "folders",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.LargeBinary(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name="fk_folders_owner_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_folders"),
    )
    op.create_index("ix_folders_owner_position", "folders", ["owner_id", "position", "id"])
    with op.batch_alter_table("threads") as batch:
        batch.add_column(
            sa.Column(
                "title_source", sa.String(length=16), server_default="first_words", nullable=False
            )
        )
        batch.add_column(sa.Column("folder_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("pinned_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_foreign_key(
            "fk_threads_folder_id_folders", "folders", ["folder_id"], ["id"], ondelete="SET NULL"
        )
        batch.create_index("ix_threads_folder_id", ["folder_id"])
        batch.drop_index("ix_threads_owner_activity")
        batch.create_index(
            "ix_threads_owner_archived_activity",
            ["owner_id", "archived_at", "last_activity_at", "id"],
        )
        batch.create_index(
            "ix_threads_owner_pinned",
            ["owner_id", "pinned_at"],
            postgresql_where=sa.text("pinned_at IS NOT NULL"),
            sqlite_where=sa.text("pinned_at IS NOT NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("threads") as batch:
        batch.drop_index("ix_threads_owner_pinned")
        batch.drop_index("ix_threads_owner_archived_activity")
        batch.create_index("ix_threads_owner_activity", ["owner_id", "last_activity_at", "id"])
        batch.drop_index("ix_threads_folder_id")
        batch.drop_constraint("fk_threads_folder_id_folders", type_="foreignkey")
        batch.drop_column("archived_at")
        batch.drop_column("pinned_at")
        batch.drop_column("folder_id")
        batch.drop_column("title_source")
    op.drop_index("ix_folders_owner_position", table_name="folders")
    op.drop_table("folders")
