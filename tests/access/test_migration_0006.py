"""Migration 0006 keeps every existing account's rights: `is_admin` becomes the admin role,
`is_active` the status, everyone holds the user role; and it goes back down the same way."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from confide.db.migrate import upgrade
from tests.test_migrations import _downgrade, empty_database, run_sync

__all__ = ["empty_database"]  # the fixture, on SQLite and PostgreSQL

OLD_USERS = sa.table(
    "users",
    sa.column("id", sa.Uuid()),
    sa.column("email", sa.String()),
    sa.column("email_key", sa.String()),
    sa.column("password_hash", sa.String()),
    sa.column("display_name", sa.String()),
    sa.column("is_admin", sa.Boolean()),
    sa.column("is_active", sa.Boolean()),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
    sa.column("password_changed_at", sa.DateTime(timezone=True)),
)
ACCOUNTS = {  # email: (is_admin, is_active)
    "admin@example.org": (True, True),
    "user@example.org": (False, True),
    "gone@example.org": (False, False),
    "former-admin@example.org": (True, False),
}


async def _execute(url: str, statement: Any) -> Any:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            result = await conn.execute(statement)
            return result.all() if result.returns_rows else None
    finally:
        await engine.dispose()


async def test_0006_turns_admins_into_the_admin_role_and_keeps_disabled_accounts_disabled(
    empty_database: str,
) -> None:
    url = empty_database
    await upgrade(url, "0005")
    now = datetime.now(UTC)
    ids = {email: uuid.uuid4() for email in ACCOUNTS}
    await _execute(
        url,
        OLD_USERS.insert().values(
            [
                {
                    "id": ids[email],
                    "email": email,
                    "email_key": email,
                    "password_hash": "x",
                    "display_name": None,
                    "is_admin": admin,
                    "is_active": active,
                    "created_at": now,
                    "updated_at": now,
                    "password_changed_at": now,
                }
                for email, (admin, active) in ACCOUNTS.items()
            ]
        ),
    )
    await upgrade(url)

    rows = await _execute(
        url,
        sa.text(
            "SELECT users.email, users.status, roles.name FROM users "
            "JOIN user_roles ON user_roles.user_id = users.id "
            "JOIN roles ON roles.id = user_roles.role_id"
        ),
    )
    held: dict[str, set[str]] = {}
    status: dict[str, str] = {}
    for email, state, role in rows:
        held.setdefault(email, set()).add(role)
        status[email] = state
    assert held == {
        "admin@example.org": {"user", "admin"},
        "user@example.org": {"user"},
        "gone@example.org": {"user"},
        "former-admin@example.org": {"user", "admin"},
    }
    assert status == {
        "admin@example.org": "active",
        "user@example.org": "active",
        "gone@example.org": "disabled",
        "former-admin@example.org": "disabled",
    }
    grants = await _execute(
        url,
        sa.text(
            "SELECT role_permissions.permission FROM role_permissions "
            "JOIN roles ON roles.id = role_permissions.role_id WHERE roles.name = 'user'"
        ),
    )
    # What every user could do before: their own threads, every agent not admin_only.
    assert {p for (p,) in grants} == {
        "threads:read",
        "threads:write",
        "threads:share",
        "agents:use:*",
    }

    await run_sync(url, _downgrade, "0005")
    back = await _execute(
        url, sa.select(OLD_USERS.c.email, OLD_USERS.c.is_admin, OLD_USERS.c.is_active)
    )
    assert {email: (bool(a), bool(b)) for email, a, b in back} == ACCOUNTS
    await upgrade(url)
