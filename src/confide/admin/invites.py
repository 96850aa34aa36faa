"""Invitations to register: single-use links whose token is stored only as its SHA-256
(as refresh tokens are, auth/tokens.py). Raises domain errors; never commits."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from confide.access.models import Invite
from confide.access.permissions import USER_ROLE
from confide.access.roles import RoleGraph
from confide.admin import repository
from confide.admin.errors import (
    InviteAlreadyUsed,
    InviteEmailMismatch,
    InviteExpired,
    InviteInvalid,
    InviteNotFound,
    InviteUsed,
    RoleExceedsCaller,
    UnknownRole,
)
from confide.admin.schemas import (
    INVITE_DEFAULT_SECONDS,
    INVITE_MAX_SECONDS,
    INVITE_MIN_SECONDS,
    InviteCreate,
    InviteCreated,
    InviteOut,
    InviteStatus,
)
from confide.audit.service import DENIED, Origin, record
from confide.auth.cache import Principal
from confide.auth.emails import email_key
from confide.auth.service import AuthContext
from confide.auth.tokens import hash_refresh_token, new_refresh_token
from confide.db.base import utcnow
from confide.errors import ValidationFailed
from confide.notify.senders import EmailSender

REGISTER_PATH = "/register"  # the web app's page; it posts the token to /api/auth/register


class InvalidExpiry(ValidationFailed):
    code = "invalid_expiry"
    title = "An invitation expires between a minute and 30 days from now"


def invite_status(invite: Invite, now: datetime) -> InviteStatus:
    if invite.revoked_at is not None:
        return "revoked"
    if invite.used_at is not None:
        return "used"
    return "expired" if invite.expires_at <= now else "pending"


def invite_out(invite: Invite, roles: list[str], now: datetime) -> InviteOut:
    return InviteOut(
        id=invite.id,
        email=invite.email,
        roles=roles,
        status=invite_status(invite, now),
        created_at=invite.created_at,
        created_by=invite.created_by,
        expires_at=invite.expires_at,
        used_at=invite.used_at,
        used_by=invite.used_by,
        revoked_at=invite.revoked_at,
    )


class InviteService:
    def __init__(self, db: AsyncSession, ctx: AuthContext, *, origin: Origin) -> None:
        self.db = db
        self.ctx = ctx
        self.origin = origin

    async def create(
        self,
        principal: Principal,
        body: InviteCreate,
        *,
        base_url: str,
        mailer: EmailSender | None = None,
    ) -> InviteCreated:
        """A single-use link to register, giving `body.roles` (each within what the caller
        holds). The token is in the answer once and nowhere else."""
        now = utcnow()
        expires_at = self._expiry(body, now)
        graph = await RoleGraph.load(self.db, self.ctx.permissions)
        roles = {name: graph.by_name(name) for name in body.roles if name != USER_ROLE}
        unknown = [name for name, role in roles.items() if role is None]
        if unknown:
            raise UnknownRole(unknown)
        role_ids = [role.id for role in roles.values() if role is not None]
        missing = {
            p
            for p in graph.effective(role_ids)
            if p in self.ctx.permissions and p not in principal.permissions
        }
        if missing:
            error = RoleExceedsCaller("These roles grant permissions you do not hold", missing)
            # Kept although the request fails (nothing was changed before): outcome `denied`.
            await record(
                self.db,
                action="invite.created",
                outcome=DENIED,
                actor_id=principal.user_id,
                actor=principal.email,
                target_type="invite",
                origin=self.origin,
                detail={"code": error.code, **error.extra},
            )
            error.keep_changes = True
            raise error
        token, token_hash = new_refresh_token()
        invite = Invite(
            token_hash=token_hash,
            email=body.email,
            email_key=email_key(body.email) if body.email else None,
            created_by=principal.user_id,
            created_at=now,
            expires_at=expires_at,
        )
        await repository.add_invite(self.db, invite, role_ids)
        names = sorted(roles)
        await record(
            self.db,
            action="invite.created",
            actor_id=principal.user_id,
            actor=principal.email,
            target_type="invite",
            target_id=invite.id,
            origin=self.origin,
            detail={"email": body.email, "roles": names, "expires_at": expires_at.isoformat()},
        )
        out = invite_out(invite, names, now)
        link = f"{base_url.rstrip('/')}{REGISTER_PATH}?invite={token}"
        if body.send and body.email is not None and mailer is not None:
            days = max((expires_at - now).days, 1)
            await mailer.email(
                self.db,
                to=body.email,
                subject="You are invited to Confide",
                text=(
                    f"{principal.display_name or principal.email} invited you to Confide.\n\n"
                    f"Create your account and choose its password here:\n\n{link}\n\n"
                    f"The link works once, for {days} days.\n"
                ),
                purpose="invite",
            )
        return InviteCreated(**out.model_dump(), token=token, link=link)

    async def list_invites(
        self,
        *,
        status: str | None,
        after: tuple[datetime, uuid.UUID] | None,
        limit: int,
    ) -> list[tuple[Invite, InviteOut]]:
        """One page of invitations, newest first (never their tokens, which are not kept)."""
        now = utcnow()
        rows = await repository.invites_page(
            self.db, status=status, now=now, after=after, limit=limit
        )
        names = await repository.invite_role_names(self.db, [i.id for i in rows])
        return [(invite, invite_out(invite, names[invite.id], now)) for invite in rows]

    async def revoke(self, principal: Principal, invite_id: uuid.UUID) -> None:
        """Revoke an unused invitation (revoking a revoked one changes nothing)."""
        invite = await self.db.get(Invite, invite_id)
        if invite is None:
            raise InviteNotFound
        if invite.revoked_at is not None:
            return
        if invite.used_at is not None or not await repository.revoke_invite(
            self.db, invite.id, utcnow()
        ):
            await self.db.refresh(invite)
            if invite.revoked_at is not None:
                return
            raise InviteAlreadyUsed
        await record(
            self.db,
            action="invite.revoked",
            actor_id=principal.user_id,
            actor=principal.email,
            target_type="invite",
            target_id=invite.id,
            origin=self.origin,
        )

    def _expiry(self, body: InviteCreate, now: datetime) -> datetime:
        if body.expires_at is None:
            return now + timedelta(seconds=body.expires_in_seconds or INVITE_DEFAULT_SECONDS)
        ahead = (body.expires_at - now).total_seconds()
        if not INVITE_MIN_SECONDS <= ahead <= INVITE_MAX_SECONDS:
            raise InvalidExpiry
        return body.expires_at


async def redeem_invite(db: AsyncSession, token: str, *, email: str) -> uuid.UUID:
    """Spend an invitation for registering `email`, in the caller's transaction (which rolls
    back, leaving it unspent, if the registration then fails); its id."""
    token_hash = hash_refresh_token(token)
    invite_id = await repository.claim_invite(db, token_hash, utcnow())
    if invite_id is None:
        invite = await repository.invite_by_hash(db, token_hash)
        if invite is None or invite.revoked_at is not None:
            raise InviteInvalid
        if invite.used_at is not None:
            raise InviteUsed
        raise InviteExpired
    invite = await db.get(Invite, invite_id)
    assert invite is not None
    if invite.email_key is not None and invite.email_key != email_key(email):
        raise InviteEmailMismatch
    return invite_id
