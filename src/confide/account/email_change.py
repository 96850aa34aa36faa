"""Changing an account's email address: a link to the new address makes it the account's.

Its own module beside service.py (the other links), which it reuses: the rules are different
enough (who is told what, what a taken address answers) to read apart. Raises domain errors;
never commits."""

from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from confide.account import repository
from confide.account.service import (
    PASSWORD_PURPOSES,
    VERIFY_EMAIL,
    InvalidLinkToken,
    greeting_name,
    hash_link_token,
    link,
    new_link_token,
)
from confide.audit import actions
from confide.audit.service import Origin, record
from confide.auth import repository as auth_repository
from confide.auth.emails import email_key
from confide.auth.models import User
from confide.auth.service import AccountDisabled, AuthContext
from confide.db.base import utcnow
from confide.errors import Conflict
from confide.notify.senders import EmailSender

log = logging.getLogger("confide.account")

EMAIL_CHANGE = "email_change"
CONFIRM_PAGE = "confirm-email"


class SameEmail(Conflict):
    code = "same_email"
    title = "This is the account's email address already"


class EmailTaken(Conflict):
    code = "email_taken"
    title = "Another account uses this email address now; the change was not made"


@dataclass(frozen=True, slots=True)
class PendingChange:
    email: str
    expires_at: datetime


def email_hash(email: str) -> str:
    """How the audit trail names an address in its detail: SHA-256 of its uniqueness key (the
    notification tables' recipient hash), so it can be matched without being shown."""
    return hashlib.sha256(email_key(email).encode()).hexdigest()


class EmailChangeService:
    def __init__(self, db: AsyncSession, ctx: AuthContext, mailer: EmailSender) -> None:
        self.db = db
        self.ctx = ctx
        self.settings = ctx.settings
        self.mailer = mailer

    async def request(
        self, user: User, new_email: str, *, base_url: str, origin: Origin | None = None
    ) -> None:
        """Mail a confirmation link to `new_email` and a notice, without it, to the current
        address; an older pending change is void. When another account has the address, its
        owner gets a short notice instead of a link, and everything else happens alike (the
        pending change included), so neither the answer nor the caller's own mailbox tells."""
        key = email_key(new_email)
        if key == user.email_key:
            raise SameEmail
        now = utcnow()
        await repository.void_tokens(self.db, user_id=user.id, purposes=(EMAIL_CHANGE,), now=now)
        ttl = self.settings.verify_email_ttl_seconds
        token, token_hash = new_link_token()
        # Stored exactly as given (normalised, as registration stores an address): `email_key`
        # holds "the address a link was sent to", here the one it will make the account's.
        repository.add_token(
            self.db,
            user_id=user.id,
            purpose=EMAIL_CHANGE,
            token_hash=token_hash,
            email_key=new_email,
            now=now,
            expires_at=now + timedelta(seconds=ttl),
        )
        taken = await auth_repository.get_user_by_email_key(self.db, key) is not None
        if taken:
            # The token above is never sent: nobody can use it, but the change shows as
            # pending as for any other address.
            await self._address_in_use_notice(new_email)
        else:
            await self.mailer.email(
                self.db,
                to=new_email,
                subject="Confirm your new email address for Confide",
                text=(
                    f"Hello{greeting_name(user)},\n\n"
                    "Someone (we hope you) asked to use this address for a Confide account. "
                    "To make it the account's address, open this link:\n\n"
                    f"{link(base_url, CONFIRM_PAGE, token)}\n\n"
                    f"The link works once, for {ttl // 3600} hours, and signs the account out "
                    "on its other devices. If you did not ask for it, ignore this message: "
                    "nothing changes.\n"
                ),
                purpose=EMAIL_CHANGE,
                user_id=user.id,
            )
        await self.mailer.email(
            self.db,
            to=user.email,
            subject="A change of your Confide email address was requested",
            text=(
                f"Hello{greeting_name(user)},\n\n"
                f"Someone signed in to your Confide account asked to change its email address "
                f"to {new_email}. The change is made only when the link sent there is opened.\n\n"
                "If this was not you, sign in, change your password and sign out everywhere "
                "(Account page): whoever did it knows your password or uses one of your "
                "devices. Until the link is opened, your address stays as it is.\n"
            ),
            purpose="email_change_notice",
            user_id=user.id,
        )
        await record(
            self.db,
            action=actions.EMAIL_CHANGE_REQUESTED,
            actor_id=user.id,
            actor=user.email,
            target_type="user",
            target_id=user.id,
            origin=origin,
            detail={"new_email_hash": email_hash(new_email)},
        )

    async def confirm(
        self, token: str, *, keep: uuid.UUID | None = None, origin: Origin | None = None
    ) -> User:
        """Spend a change link: the address it was sent to becomes the account's, verified;
        every session ends but `keep` (the caller's own, when it is that account's); the old
        address is told. A refusal changes nothing (the request rolls back, the token too)."""
        now = utcnow()
        spent = await repository.spend_token(
            self.db, token_hash=hash_link_token(token), purposes=(EMAIL_CHANGE,), now=now
        )
        if spent is None or spent.email_key is None:
            raise InvalidLinkToken
        user = await auth_repository.get_user(self.db, spent.user_id)
        if user is None:
            raise InvalidLinkToken
        if user.status == "disabled":
            raise AccountDisabled
        new_email, key = spent.email_key, email_key(spent.email_key)
        holder = await auth_repository.get_user_by_email_key(self.db, key)
        if holder is not None and holder.id != user.id:
            raise EmailTaken
        old_email = user.email
        user.email, user.email_key, user.email_verified_at = new_email, key, now
        try:
            async with self.db.begin_nested():
                await self.db.flush()
        except IntegrityError:  # taken by a registration committing at this moment
            raise EmailTaken from None
        ended = await auth_repository.end_sessions(
            self.db, user_id=user.id, now=now, reason="email_changed", keep=keep
        )
        # What was mailed to the old address stops working: its links, a reset included.
        await repository.void_tokens(
            self.db,
            user_id=user.id,
            purposes=(*PASSWORD_PURPOSES, VERIFY_EMAIL, EMAIL_CHANGE),
            now=now,
        )
        # The ended sessions, and the kept one's cached email, on every process.
        await self.ctx.cache.invalidate_user(user.id)
        await record(
            self.db,
            action=actions.EMAIL_CHANGED,
            actor_id=user.id,
            actor=old_email,
            target_type="user",
            target_id=user.id,
            origin=origin,
            detail={
                "old_email_hash": email_hash(old_email),
                "new_email_hash": email_hash(new_email),
                "sessions_ended": len(ended),
            },
        )
        await self.mailer.email(
            self.db,
            to=old_email,
            subject="Your Confide email address was changed",
            text=(
                f"Hello{greeting_name(user)},\n\n"
                f"The email address of your Confide account is now {new_email}; this address "
                "no longer signs in to it, and the account's other sessions were ended.\n\n"
                "If this was not you, ask the server's administrator for help at once.\n"
            ),
            purpose="email_change_notice",
            user_id=user.id,
        )
        log.info("email changed", extra={"user_id": str(user.id), "ended": len(ended)})
        return user

    async def pending(self, user: User) -> PendingChange | None:
        """The address a live change link would make the account's, if there is one."""
        token = await repository.live_token(
            self.db, user_id=user.id, purpose=EMAIL_CHANGE, now=utcnow()
        )
        if token is None or token.email_key is None:
            return None
        return PendingChange(email=token.email_key, expires_at=token.expires_at)

    async def _address_in_use_notice(self, address: str) -> None:
        """What the owner of an address another account asked for hears: that, and no more
        (not who asked, nor a link)."""
        await self.mailer.email(
            self.db,
            to=address,
            subject="Your email address was entered on Confide",
            text=(
                "Hello,\n\n"
                "Someone asked to use this address for another Confide account. It is "
                "already yours, so nothing was changed and there is nothing to do.\n"
            ),
            purpose="email_change_notice",
        )
