"""`confide roles ...`: what no administrator may do through the API, from the shell (the
root of trust): grant a role a permission nobody holds, such as `threads:read:any`."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console

from confide.config import Settings

roles_app = typer.Typer(help="Roles and their permissions.", no_args_is_help=True)

out = Console()
err = Console(stderr=True)

RoleArgument = Annotated[str, typer.Argument(help="The role's name.")]
PermissionArgument = Annotated[str, typer.Argument(help="e.g. threads:read:any.")]


@roles_app.command("grant")
def roles_grant(role: RoleArgument, permission: PermissionArgument) -> None:
    """Grant ROLE the PERMISSION (any known one; audited with actor `cli`)."""
    _change(role, permission, grant=True)


@roles_app.command("revoke")
def roles_revoke(role: RoleArgument, permission: PermissionArgument) -> None:
    """Take the PERMISSION from ROLE; its holders lose it on their next request."""
    _change(role, permission, grant=False)


def _change(role: str, permission: str, *, grant: bool) -> None:
    from confide.cli import _prepare_database, _settings
    from confide.errors import ConfideError

    settings = _settings()
    asyncio.run(_prepare_database(settings))
    try:
        changed = asyncio.run(_apply(settings, role, permission, grant=grant))
    except ConfideError as exc:
        err.print(f"[bold red]{exc.code}:[/] {exc.detail}", highlight=False)
        raise typer.Exit(1) from None
    if not changed:
        state = "already grants" if grant else "does not grant"
        out.print(f"Role {role} {state} {permission}; nothing changed.", highlight=False)
    elif grant:
        out.print(f"[green]Granted[/] {permission} to role {role}.", highlight=False)
    else:
        out.print(f"[green]Revoked[/] {permission} from role {role}.", highlight=False)


async def _apply(settings: Settings, role: str, permission: str, *, grant: bool) -> bool:
    from confide.admin.service import AdminService
    from confide.agents.registry import AgentRegistry
    from confide.agents.tools import builtin_tools
    from confide.app import build_auth_context
    from confide.audit.service import Origin
    from confide.db.engine import Database
    from confide.shared.redis import connect_redis

    # With Redis, the servers' session caches hear the change at once (the invalidation is
    # published; this process need not listen); without it, a server trusts a cached
    # session for at most CONFIDE_SESSION_CACHE_TTL_SECONDS.
    redis = connect_redis(settings.redis_url) if settings.redis_url else None
    ctx = build_auth_context(settings, redis)
    agents = AgentRegistry.from_settings(settings, known_tools=builtin_tools().names())
    ctx.permissions.add_agents(agent.id for agent in agents.agents)
    database = Database.from_settings(settings)
    try:
        async with database.session() as db:
            return await AdminService(db, ctx, origin=Origin.of(None)).change_grant_from_shell(
                role, permission, grant=grant
            )
    finally:
        await database.dispose()
        if redis is not None:
            await redis.aclose()
