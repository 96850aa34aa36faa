"""notifications: the outbox of email and SMS messages, and every delivery attempt

`outbox_messages` holds each message until it is delivered (its body is blanked then);
`notification_attempts` records each try (channel, recipient hash, status, provider reference),
never the body.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 16:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "outbox_messages",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("recipient_hash", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=998), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("purpose", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fallback_email", sa.String(length=320), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_outbox_messages_user_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_outbox_messages"),
    )
    op.create_index("ix_outbox_messages_recipient_hash", "outbox_messages", ["recipient_hash"])
    op.create_index("ix_outbox_messages_user_id", "outbox_messages", ["user_id"])
    op.create_index(
        "ix_outbox_messages_status_next", "outbox_messages", ["status", "next_attempt_at"]
    )
    op.create_table(
        "notification_attempts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("message_id", sa.Uuid(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("recipient_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("provider_ref", sa.String(length=200), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["outbox_messages.id"],
            name="fk_notification_attempts_message_id_outbox_messages",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_notification_attempts"),
    )
    op.create_index("ix_notification_attempts_message_id", "notification_attempts", ["message_id"])


def downgrade() -> None:
    op.drop_index("ix_notification_attempts_message_id", table_name="notification_attempts")
    op.drop_table("notification_attempts")
    op.drop_index("ix_outbox_messages_status_next", table_name="outbox_messages")
    op.drop_index("ix_outbox_messages_user_id", table_name="outbox_messages")
    op.drop_index("ix_outbox_messages_recipient_hash", table_name="outbox_messages")
    op.drop_table("outbox_messages")
