"""The blind search index: keyed tokens of words in titles and messages

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 14:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Empty at first: tokens need each user's key, which only the running application holds.
    # `confide search reindex` fills it for what was written before (docs/security.md).
    op.create_table(
        "search_terms",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("token", sa.LargeBinary(length=16), nullable=False),
        sa.Column("thread_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("message_id", sa.Uuid(), nullable=True),
        sa.Column("tf", sa.SmallInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_search_terms_user_id_users", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["thread_id"],
            ["threads.id"],
            name="fk_search_terms_thread_id_threads",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name="fk_search_terms_message_id_messages",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "user_id",
            "token",
            "thread_id",
            "seq",
            name="pk_search_terms",
            postgresql_include=["message_id", "tf", "created_at"],
        ),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_search_terms_thread_seq", "search_terms", ["thread_id", "seq"])
    op.create_index("ix_search_terms_message_id", "search_terms", ["message_id"])


def downgrade() -> None:
    op.drop_index("ix_search_terms_message_id", table_name="search_terms")
    op.drop_index("ix_search_terms_thread_seq", table_name="search_terms")
    op.drop_table("search_terms")
