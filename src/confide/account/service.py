"""The rules of account links: who gets one, what following one does. Raises domain errors;
never commits (the request does, or the job's own transaction)."""

from __future__ import annotations

import hashlib
import logging
import secrets
import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from confide.account import repository
from confide.audit import actions
from confide.audit.service import Origin, record
from confide.auth import repository as auth_repository
from confide.auth.emails import email_key
from confide.auth.models import User
from confide.auth.service import AccountDisabled, AuthContext, AuthService
from confide.db.base import utcnow
from confide.db.engine import Database
from confide.errors import BadRequest, Conflict
from confide.notify.senders import EmailSender

log = logging.getLogger("confide.account")

VERIFY_EMAIL = "verify_email"
RESET_PASSWORD = "reset_password"  # noqa: S105  (a purpose, not a secret)
SET_PASSWORD = "set_password"  # noqa: S105
PASSWORD_PURPOSES = (RESET_PASSWORD, SET_PASSWORD)

# The job `POST /api/auth/password/forgot` queues: the request itself looks nothing up.
SEND_RESET_JOB = "send_password_reset"


class InvalidLinkToken(BadRequest):
    code = "invalid_token"
    title = "This link is not valid: it was used already, it expired, or it was never issued"


class AlreadyVerified(Conflict):
    code = "already_verified"
    title = "This email address is verified already"


def new_link_token() -> tuple[str, str]:
    """A link token (256 random bits, URL-safe) and the SHA-256 that is all the database keeps."""
    token = secrets.token_urlsafe(32)
    return token, hash_link_token(token)


def hash_link_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def reset_job_key(email: str) -> str:
    """One queued reset per address at a time: a burst of requests for one address sends one
    link. The key names the address only by a hash (job keys show up in logs and Redis)."""
    return "password-reset:" + hashlib.sha256(email_key(email).encode()).hexdigest()[:32]


def link(base_url: str, page: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/{page}?token={token}"


class AccountService:
    def __init__(self, db: AsyncSession, ctx: AuthContext, mailer: EmailSender) -> None:
        self.db = db
        self.ctx = ctx
        self.settings = ctx.settings
        self.mailer = mailer

    # Password recovery -------------------------------------------------------------------------

    async def send_reset(self, email: str, *, base_url: str) -> bool:
        """Mail a reset link to the account with this email, if there is one that may sign in
        (a disabled account gets none: a reset never re-enables it). Whether one was sent."""
        user = await auth_repository.get_user_by_email_key(self.db, email_key(email))
        if user is None or user.status == "disabled":
            return False
        await self._send_password_link(user, RESET_PASSWORD, base_url=base_url)
        await record(
            self.db,
            action=actions.PASSWORD_RESET_REQUESTED,
            actor_id=user.id,
            actor=user.email,
            target_type="user",
            target_id=user.id,
            origin=Origin.of(None),
        )
        return True

    async def send_set_password(self, user: User, *, base_url: str) -> uuid.UUID:
        """Mail a set-password link to an account made without a password the user knows
        (older password links stop working). The queued message's id."""
        return await self._send_password_link(user, SET_PASSWORD, base_url=base_url)

    async def reset_password(
        self, token: str, new_password: str, *, origin: Origin | None = None
    ) -> None:
        """Spend a reset (or set-password) token, set the password, end every session. Signs
        nobody in: the next sign-in asks for the second factor as any other does."""
        now = utcnow()
        spent = await repository.spend_token(
            self.db, token_hash=hash_link_token(token), purposes=PASSWORD_PURPOSES, now=now
        )
        if spent is None:
            raise InvalidLinkToken
        user = await auth_repository.get_user(self.db, spent.user_id)
        if user is None:
            raise InvalidLinkToken
        if user.status == "disabled":
            raise AccountDisabled
        ended = await AuthService(self.db, self.ctx).replace_password(
            user, new_password, reason="password_reset"
        )
        await repository.void_tokens(self.db, user_id=user.id, purposes=PASSWORD_PURPOSES, now=now)
        # The link reached the account's address: that proves it, as a verification link does.
        if user.email_verified_at is None and spent.email_key == user.email_key:
            user.email_verified_at = now
        await record(
            self.db,
            action=actions.PASSWORD_RESET,
            actor_id=user.id,
            actor=user.email,
            target_type="user",
            target_id=user.id,
            origin=origin,
            detail={"sessions_ended": len(ended), "link": spent.purpose},
        )
        log.info("password reset", extra={"user_id": str(user.id), "ended": len(ended)})

    # Email verification ------------------------------------------------------------------------

    async def send_verification(
        self, user: User, *, base_url: str, origin: Origin | None = None
    ) -> None:
        """Mail a verification link for the account's current address (older links void)."""
        if user.email_verified_at is not None:
            raise AlreadyVerified
        now = utcnow()
        await repository.void_tokens(self.db, user_id=user.id, purposes=(VERIFY_EMAIL,), now=now)
        token, token_hash = new_link_token()
        repository.add_token(
            self.db,
            user_id=user.id,
            purpose=VERIFY_EMAIL,
            token_hash=token_hash,
            email_key=user.email_key,
            now=now,
            expires_at=now + timedelta(seconds=self.settings.verify_email_ttl_seconds),
        )
        hours = self.settings.verify_email_ttl_seconds // 3600
        await self.mailer.email(
            self.db,
            to=user.email,
            subject="Confirm your email address for Confide",
            text=(
                f"Hello{greeting_name(user)},\n\n"
                "Please confirm that this address is yours by opening this link:\n\n"
                f"{link(base_url, 'verify-email', token)}\n\n"
                f"The link works once, for {hours} hours. If you did not create a Confide "
                "account, you can ignore this message.\n"
            ),
            purpose=VERIFY_EMAIL,
            user_id=user.id,
        )

    async def verify_email(self, token: str, *, origin: Origin | None = None) -> User:
        """Spend a verification token: the address it was sent to is verified, if it is still
        the account's address."""
        now = utcnow()
        spent = await repository.spend_token(
            self.db, token_hash=hash_link_token(token), purposes=(VERIFY_EMAIL,), now=now
        )
        if spent is None:
            raise InvalidLinkToken
        user = await auth_repository.get_user(self.db, spent.user_id)
        if user is None or spent.email_key != user.email_key:
            raise InvalidLinkToken
        if user.email_verified_at is None:
            user.email_verified_at = now
            # What the account may do changes at once, on every process.
            await self.ctx.cache.invalidate_user(user.id)
            await record(
                self.db,
                action=actions.EMAIL_VERIFIED,
                actor_id=user.id,
                actor=user.email,
                target_type="user",
                target_id=user.id,
                origin=origin,
            )
        return user

    # Helpers -----------------------------------------------------------------------------------

    async def _send_password_link(self, user: User, purpose: str, *, base_url: str) -> uuid.UUID:
        now = utcnow()
        await repository.void_tokens(self.db, user_id=user.id, purposes=PASSWORD_PURPOSES, now=now)
        ttl = (
            self.settings.password_reset_ttl_seconds
            if purpose == RESET_PASSWORD
            else self.settings.set_password_ttl_seconds
        )
        token, token_hash = new_link_token()
        repository.add_token(
            self.db,
            user_id=user.id,
            purpose=purpose,
            token_hash=token_hash,
            email_key=user.email_key,
            now=now,
            expires_at=now + timedelta(seconds=ttl),
        )
        url = link(base_url, "reset-password", token)
        if purpose == RESET_PASSWORD:
            subject = "Reset your Confide password"
            text = (
                f"Hello{greeting_name(user)},\n\n"
                "Someone (we hope you) asked to reset the password of your Confide account. "
                f"Choose a new one here:\n\n{url}\n\n"
                f"The link works once, for {ttl // 60} minutes, and signs you out everywhere. "
                "If you did not ask for it, ignore this message: your password stays as it is.\n"
            )
        else:
            subject = "Set your Confide password"
            text = (
                f"Hello{greeting_name(user)},\n\n"
                "An account on Confide was made for you. Choose its password here:\n\n"
                f"{url}\n\nThe link works once, for {ttl // 86400} days.\n"
            )
        return await self.mailer.email(
            self.db, to=user.email, subject=subject, text=text, purpose=purpose, user_id=user.id
        )


def greeting_name(user: User) -> str:
    """` Ada` for "Hello Ada,", nothing for an account without a display name."""
    return f" {user.display_name}" if user.display_name else ""


class AccountLinks:
    """The long-lived part: the job `forgot` queues, run in a transaction of its own."""

    def __init__(self, database: Database, ctx: AuthContext, mailer: EmailSender) -> None:
        self.database = database
        self.ctx = ctx
        self.mailer = mailer

    async def send_reset_job(self, email: str, base_url: str) -> None:
        async with self.database.session() as db:
            await AccountService(db, self.ctx, self.mailer).send_reset(email, base_url=base_url)
