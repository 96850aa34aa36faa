"""Creating an account under the registration policy (CONFIDE_REGISTRATION), with or without
an invitation, audited in the same transaction. Raises domain errors; never commits."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from confide.access import repository as access_repository
from confide.admin import repository
from confide.admin.errors import InviteRequired
from confide.admin.invites import redeem_invite
from confide.audit.service import Origin, record
from confide.auth.models import User
from confide.auth.service import AuthContext, AuthService, RegistrationClosed


async def register_account(
    db: AsyncSession,
    ctx: AuthContext,
    *,
    email: str,
    password: str,
    display_name: str | None,
    invite: str | None,
    origin: Origin,
) -> tuple[User, list[str]]:
    """Register under the policy: `open` anyone, `invite` only with an invitation,
    `approval` anyone but pending until approved (an invitation makes the account active at
    once), `closed` nobody. An invitation is spent and its roles given. The account and the
    names of its roles."""
    policy = ctx.settings.registration
    if policy == "closed":
        raise RegistrationClosed
    invite_id = None
    invited_roles: list[str] = []
    if invite is not None:
        invite_id = await redeem_invite(db, invite, email=email)
        invited_roles = (await repository.invite_role_names(db, [invite_id]))[invite_id]
    elif policy == "invite":
        raise InviteRequired
    status = "pending" if policy == "approval" and invite_id is None else "active"
    user = await AuthService(db, ctx).register(
        email=email,
        password=password,
        display_name=display_name,
        status=status,
        roles=invited_roles,
    )
    await db.flush()
    roles = (await access_repository.users_role_names(db, [user.id]))[user.id]
    if invite_id is not None:
        await repository.set_invite_user(db, invite_id, user.id)
        await record(
            db,
            action="invite.used",
            actor_id=user.id,
            actor=user.email,
            target_type="invite",
            target_id=invite_id,
            origin=origin,
            detail={"roles": invited_roles},
        )
    await record(
        db,
        action="auth.registered",
        actor_id=user.id,
        actor=user.email,
        target_type="user",
        target_id=user.id,
        origin=origin,
        detail={
            "policy": policy,
            "status": status,
            "roles": roles,
            "invite_id": str(invite_id) if invite_id else None,
        },
    )
    return user, roles
