"""roles and permissions, user status, invitations, thread shares, the audit trail

`users.is_admin` becomes the built-in `admin` role and `users.is_active` the `status` column
(`active` | `disabled` | `pending`): every account keeps exactly its rights. Every existing
user holds the built-in `user` role, whose grants are those a user had before (read, write
and share their own threads, use every agent not marked admin_only).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 05:10:00.000000
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here (the code's registry may change later; a migration must not).
USER_GRANTS = ("threads:read", "threads:write", "threads:share", "agents:use:*")
USER_ROLE_ID = uuid.UUID("00000000-0000-4000-8000-000000000001")
ADMIN_ROLE_ID = uuid.UUID("00000000-0000-4000-8000-000000000002")


def upgrade() -> None:
    now = datetime.now(UTC)
    roles = op.create_table(
        "roles",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("parent_id", sa.Uuid(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("builtin", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["roles.id"], name="fk_roles_parent_id_roles", ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_roles"),
        sa.UniqueConstraint("name", name="uq_roles_name"),
    )
    grants = op.create_table(
        "role_permissions",
        sa.Column("role_id", sa.Uuid(), nullable=False),
        sa.Column("permission", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["role_id"],
            ["roles.id"],
            name="fk_role_permissions_role_id_roles",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("role_id", "permission", name="pk_role_permissions"),
    )
    holders = op.create_table(
        "user_roles",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("role_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_user_roles_user_id_users", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["role_id"], ["roles.id"], name="fk_user_roles_role_id_roles", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "role_id", name="pk_user_roles"),
    )
    op.create_index("ix_user_roles_role_id", "user_roles", ["role_id"])

    op.bulk_insert(
        roles,
        [
            {
                "id": USER_ROLE_ID,
                "name": "user",
                "parent_id": None,
                "description": "Every account: its own threads, and the agents open to all.",
                "builtin": True,
                "created_at": now,
                "updated_at": now,
            },
            {
                "id": ADMIN_ROLE_ID,
                "name": "admin",
                "parent_id": USER_ROLE_ID,
                "description": "Every permission but threads:read:any, every agent included.",
                "builtin": True,
                "created_at": now,
                "updated_at": now,
            },
        ],
    )
    op.bulk_insert(grants, [{"role_id": USER_ROLE_ID, "permission": p} for p in USER_GRANTS])

    users = sa.table(
        "users",
        sa.column("id", sa.Uuid()),
        sa.column("is_admin", sa.Boolean()),
        sa.column("is_active", sa.Boolean()),
        sa.column("status", sa.String()),
    )
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("status", sa.String(length=16), server_default="active", nullable=False)
        )
    op.execute(users.update().where(users.c.is_active == sa.false()).values(status="disabled"))
    op.execute(
        holders.insert().from_select(
            ["user_id", "role_id"],
            sa.select(users.c.id, sa.literal(USER_ROLE_ID, sa.Uuid())),
        )
    )
    op.execute(
        holders.insert().from_select(
            ["user_id", "role_id"],
            sa.select(users.c.id, sa.literal(ADMIN_ROLE_ID, sa.Uuid())).where(
                users.c.is_admin == sa.true()
            ),
        )
    )
    with op.batch_alter_table("users") as batch:
        batch.drop_column("is_admin")
        batch.drop_column("is_active")
        batch.create_index("ix_users_status", ["status"])

    op.create_table(
        "invites",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("email_key", sa.String(length=320), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_by", sa.Uuid(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name="fk_invites_created_by_users", ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["used_by"], ["users.id"], name="fk_invites_used_by_users", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_invites"),
        sa.UniqueConstraint("token_hash", name="uq_invites_token_hash"),
    )
    op.create_table(
        "invite_roles",
        sa.Column("invite_id", sa.Uuid(), nullable=False),
        sa.Column("role_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["invite_id"],
            ["invites.id"],
            name="fk_invite_roles_invite_id_invites",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["role_id"], ["roles.id"], name="fk_invite_roles_role_id_roles", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("invite_id", "role_id", name="pk_invite_roles"),
    )
    op.create_table(
        "thread_shares",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("thread_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["thread_id"],
            ["threads.id"],
            name="fk_thread_shares_thread_id_threads",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_thread_shares_user_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_thread_shares"),
        sa.UniqueConstraint("thread_id", "user_id", name="uq_thread_shares_thread_user"),
    )
    op.create_index("ix_thread_shares_user_id", "thread_shares", ["user_id"])
    op.create_table(
        "audit_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("actor", sa.String(length=320), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target_type", sa.String(length=32), nullable=True),
        sa.Column("target_id", sa.String(length=200), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=300), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_events"),
        sa.UniqueConstraint("prev_hash", name="uq_audit_events_prev_hash"),
        sa.UniqueConstraint("hash", name="uq_audit_events_hash"),
    )
    op.create_index("ix_audit_events_actor_id", "audit_events", ["actor_id", "id"])
    op.create_index("ix_audit_events_action", "audit_events", ["action", "id"])
    op.create_index("ix_audit_events_target", "audit_events", ["target_type", "target_id", "id"])
    op.create_index("ix_audit_events_at", "audit_events", ["at"])
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_head"),
    )
    op.bulk_insert(head, [{"id": 1, "last_id": 0, "last_hash": "0" * 64}])


def downgrade() -> None:
    op.drop_table("audit_head")
    op.drop_table("audit_events")
    op.drop_table("thread_shares")
    op.drop_table("invite_roles")
    op.drop_table("invites")
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("is_admin", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch.add_column(
            sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
    users = sa.table(
        "users",
        sa.column("id", sa.Uuid()),
        sa.column("is_admin", sa.Boolean()),
        sa.column("is_active", sa.Boolean()),
        sa.column("status", sa.String()),
    )
    holders = sa.table(
        "user_roles", sa.column("user_id", sa.Uuid()), sa.column("role_id", sa.Uuid())
    )
    op.execute(users.update().where(users.c.status != "active").values(is_active=False))
    op.execute(
        users.update()
        .where(
            users.c.id.in_(sa.select(holders.c.user_id).where(holders.c.role_id == ADMIN_ROLE_ID))
        )
        .values(is_admin=True)
    )
    with op.batch_alter_table("users") as batch:
        batch.drop_index("ix_users_status")
        batch.drop_column("status")
    op.drop_table("user_roles")
    op.drop_table("role_permissions")
    op.drop_table("roles")
