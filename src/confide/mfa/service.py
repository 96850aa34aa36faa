"""MFA rules: TOTP enrolment, backup codes, the sign-in challenge, and step-up.
Raises domain errors; never commits (the request does)."""

from __future__ import annotations

import hmac
import io
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import segno
from sqlalchemy.ext.asyncio import AsyncSession

from confide.audit.service import FAILURE, SUCCESS, Origin, record
from confide.auth import repository as auth_repository
from confide.auth.cache import Principal
from confide.auth.models import User
from confide.auth.passwords import PasswordHasher
from confide.auth.service import SessionEnded
from confide.db.base import utcnow
from confide.mfa import codes, repository
from confide.mfa.codes import MfaContext
from confide.mfa.errors import (
    EnrolmentNotStarted,
    InvalidMfaCode,
    MfaAlreadyEnabled,
    MfaNotEnabled,
    MfaTokenInvalid,
    NoVerifiedEmail,
    NoVerifiedPhone,
    ReauthFailed,
)
from confide.mfa.models import MfaChallenge, MfaTotp
from confide.mfa.requirement import check_second_factor_kept
from confide.notify.senders import Sender
from confide.passkeys.repository import has_passkey
from confide.phones.repository import verified_number as verified_number_stored
from confide.phones.service import verified_number
from confide.throttle.service import Throttle

log = logging.getLogger("confide.mfa")

CHALLENGE_TTL = timedelta(minutes=5)
SENT_CODE_TTL = timedelta(minutes=5)
MAX_ATTEMPTS = 3  # wrong codes that end a challenge (and a sent code)

# Audited actions (the account's own: `GET /api/auth/events` shows the `auth.` ones).
SIGNED_IN = "auth.signed_in"
MFA_ENABLED = "auth.mfa_enabled"
MFA_DISABLED = "auth.mfa_disabled"
BACKUP_CODES_REGENERATED = "auth.mfa_backup_codes_regenerated"
REAUTHENTICATED = "auth.reauthenticated"

Method = Literal["totp", "backup_code", "email", "sms", "passkey"]
Channel = Literal["email", "sms"]


@dataclass(frozen=True, slots=True)
class Enrolment:
    secret: str
    otpauth_uri: str
    qr_svg: str


@dataclass(frozen=True, slots=True)
class MfaStatus:
    enabled: bool
    pending: bool
    methods: list[Method]
    backup_codes_remaining: int


@dataclass(frozen=True, slots=True)
class Challenge:
    token: str
    methods: list[Method]
    expires_in: int


@dataclass(frozen=True, slots=True)
class Verified:
    user: User
    method: Method
    mode: str  # the sign-in's "bearer" or "cookie"


class MfaService:
    def __init__(self, db: AsyncSession, ctx: MfaContext) -> None:
        self.db = db
        self.ctx = ctx

    # Enrolment ---------------------------------------------------------------------------------

    async def status(self, principal: Principal) -> MfaStatus:
        """Whether MFA is on for the caller, by which methods, and the backup codes left."""
        totp = await repository.get_totp(self.db, principal.user_id)
        enabled = totp is not None and totp.confirmed_at is not None
        return MfaStatus(
            enabled=enabled,
            pending=totp is not None and totp.confirmed_at is None,
            methods=["totp", "backup_code"] if enabled else [],
            backup_codes_remaining=(
                await repository.backup_codes_left(self.db, principal.user_id) if enabled else 0
            ),
        )

    async def start_enrolment(self, principal: Principal) -> Enrolment:
        """A new pending TOTP secret (replacing a pending one); refused while MFA is on."""
        totp = await repository.get_totp(self.db, principal.user_id)
        if totp is not None and totp.confirmed_at is not None:
            raise MfaAlreadyEnabled
        secret = codes.new_secret()
        codec = await self.ctx.vault.codec(self.db, principal.user_id)
        sealed = codec.encode(secret, **_secret_field(principal.user_id))
        if totp is None:
            self.db.add(MfaTotp(user_id=principal.user_id, secret=sealed, created_at=self._now()))
        else:
            totp.secret, totp.created_at, totp.last_step = sealed, self._now(), 0
        await self.db.flush()
        uri = codes.provisioning_uri(secret, principal.email)
        return Enrolment(secret=secret, otpauth_uri=uri, qr_svg=qr_svg(uri))

    async def confirm(
        self, principal: Principal, code: str, *, origin: Origin | None = None
    ) -> list[str]:
        """Turn MFA on with a code of the pending secret; the new backup codes (shown once)."""
        totp = await repository.get_totp(self.db, principal.user_id)
        if totp is None:
            raise EnrolmentNotStarted
        if totp.confirmed_at is not None:
            raise MfaAlreadyEnabled
        if not await self._totp_accepted(totp, code):
            raise InvalidMfaCode
        totp.confirmed_at = self._now()
        backup_codes = await self._new_backup_codes(principal.user_id)
        # The session may have been limited to enrolment (a role requiring MFA): reload it.
        await self._invalidate_user(principal.user_id)
        await self._audit(principal, MFA_ENABLED, origin, detail={"method": "totp"})
        return backup_codes

    async def regenerate_backup_codes(
        self, principal: Principal, *, origin: Origin | None = None
    ) -> list[str]:
        """A new set of backup codes; the old set stops working."""
        if not await repository.totp_enabled(self.db, principal.user_id):
            raise MfaNotEnabled
        backup_codes = await self._new_backup_codes(principal.user_id)
        await self._audit(principal, BACKUP_CODES_REGENERATED, origin)
        return backup_codes

    async def disable(self, principal: Principal, *, origin: Origin | None = None) -> None:
        """Turn MFA off: the TOTP secret and backup codes are deleted. Refused (409
        `mfa_required_by_role`, nothing changed) when it is the last second factor of a user
        whose role requires one."""
        if not await repository.totp_enabled(self.db, principal.user_id):
            raise MfaNotEnabled
        await repository.delete_totp(self.db, principal.user_id)
        await repository.delete_backup_codes(self.db, principal.user_id)
        await check_second_factor_kept(self.db, principal.user_id)
        await self._invalidate_user(principal.user_id)
        await self._audit(principal, MFA_DISABLED, origin)

    # Sign-in -----------------------------------------------------------------------------------

    async def begin_sign_in(self, user: User, *, mode: str) -> Challenge | None:
        """The challenge of a sign-in whose password was right, or None without MFA. A
        registered passkey turns the second step on too (passkeys/ finishes it)."""
        totp_on = await repository.totp_enabled(self.db, user.id)
        passkey_on = await has_passkey(self.db, user.id)
        if not totp_on and not passkey_on:
            return None
        token, token_hash = codes.new_challenge_token()
        now = self._now()
        await repository.delete_expired_challenges(self.db, now - CHALLENGE_TTL)
        self.db.add(
            MfaChallenge(
                token_hash=token_hash,
                user_id=user.id,
                mode=mode,
                created_at=now,
                expires_at=now + CHALLENGE_TTL,
            )
        )
        await self.db.flush()
        methods: list[Method] = ["totp", "backup_code"] if totp_on else []
        if passkey_on:
            methods.append("passkey")
        if user.email_verified_at is not None:
            methods.append("email")
        # A verified phone (phones/) only ever adds a sent code: it never turns MFA on.
        if await verified_number_stored(self.db, user.id) is not None:
            methods.append("sms")
        return Challenge(token, methods, int(CHALLENGE_TTL.total_seconds()))

    async def live_challenge(self, token: str) -> MfaChallenge:
        """The unexpired, unused challenge of `token` (passkeys/ finishes one with a passkey,
        then spends it with `repository.spend_challenge`); else `mfa_token_invalid`."""
        return await self._live_challenge(token, self._now())

    async def send_code(self, token: str, *, channel: Channel, notify: Sender) -> None:
        """Send a one-time code for this challenge (a new one replaces the last)."""
        now = self._now()
        challenge = await self._live_challenge(token, now)
        user = await auth_repository.get_user(self.db, challenge.user_id)
        if user is None:
            raise MfaTokenInvalid
        phone = (
            await verified_number(self.db, self.ctx.vault, user.id) if channel == "sms" else None
        )
        if channel == "sms" and phone is None:
            raise NoVerifiedPhone
        if channel == "email" and user.email_verified_at is None:
            raise NoVerifiedEmail
        code = codes.new_sent_code()
        challenge.code_hash = self.ctx.code_hash(code, purpose=_sent_purpose(challenge))
        challenge.code_channel = channel
        challenge.code_expires_at = now + SENT_CODE_TTL
        challenge.code_attempts = 0
        minutes = int(SENT_CODE_TTL.total_seconds() // 60)
        if phone is not None:
            await notify.sms(
                self.db,
                to=phone,
                text=f"Your Confide sign-in code is {code}. It works once, for {minutes} minutes.",
                purpose="mfa_code",
                user_id=user.id,
                # An SMS that cannot be delivered goes to the verified address: a code sent
                # there is accepted anyway.
                fallback_email=user.email if user.email_verified_at is not None else None,
            )
            return
        await notify.email(
            self.db,
            to=user.email,
            subject=f"Your Confide sign-in code: {code}",
            text=(
                f"Your code to finish signing in to Confide is {code}.\n\n"
                f"It works once, for {minutes} minutes. If you did not just sign in, someone "
                "knows your password: change it."
            ),
            purpose="mfa_code",
            user_id=user.id,
        )

    async def verify(
        self, token: str, code: str, *, throttle: Throttle, origin: Origin | None = None
    ) -> Verified:
        """Finish a sign-in with a TOTP, backup or sent code. A wrong code counts against the
        challenge (audited as a refused sign-in; the third ends it) and against the user's
        code counter (throttle/: 5 in a row lock codes out, with back-off)."""
        now = self._now()
        challenge = await self._live_challenge(token, now)
        user = await auth_repository.get_user(self.db, challenge.user_id)
        if user is None or user.status == "disabled":
            await repository.spend_challenge(self.db, challenge.id, now)
            raise MfaTokenInvalid
        attempt = await throttle.check_factor(self.db, user, "code")
        method, tried_sent = await self._check(challenge, code, now)
        if method is None:
            await throttle.factor_failed(self.db, attempt, user=user, origin=origin)
            attempts = await repository.count_failure(
                self.db, challenge.id, sent_code=tried_sent, max_attempts=MAX_ATTEMPTS, now=now
            )
            await record(
                self.db,
                action=SIGNED_IN,
                outcome=FAILURE,
                actor_id=user.id,
                actor=user.email,
                target_type="user",
                target_id=user.id,
                origin=origin,
                detail={"reason": InvalidMfaCode.code, "attempts": attempts},
            )
            log.info("wrong MFA code", extra={"user_id": str(user.id), "attempts": attempts})
            raise InvalidMfaCode(attempts_left=max(0, MAX_ATTEMPTS - attempts))
        if not await repository.spend_challenge(self.db, challenge.id, now):
            raise MfaTokenInvalid  # a concurrent request finished it first
        await throttle.factor_succeeded(self.db, attempt)
        return Verified(user=user, method=method, mode=challenge.mode)

    # Step-up -----------------------------------------------------------------------------------

    async def reauthenticate(
        self,
        principal: Principal,
        *,
        password: str | None,
        code: str | None,
        hasher: PasswordHasher,
        throttle: Throttle,
        origin: Origin | None = None,
    ) -> str:
        """Prove it is still the user (password, or a TOTP or backup code); the session
        counts as freshly authenticated. The method used. Wrong ones count as the sign-in's
        do (throttle/): a stolen session cannot guess the password or codes faster."""
        user = await auth_repository.get_user(self.db, principal.user_id)
        if user is None:
            raise SessionEnded
        attempt = await throttle.check_factor(
            self.db, user, "password" if password is not None else "code"
        )
        method: str | None = None
        if password is not None:
            valid, _ = await hasher.verify_and_update(password, user.password_hash)
            method = "password" if valid else None
        elif code is not None:
            method = await self._second_factor(user.id, code)
        if method is None:
            await throttle.factor_failed(self.db, attempt, user=user, origin=origin)
            await self._audit(principal, REAUTHENTICATED, origin, outcome=FAILURE)
            raise ReauthFailed
        await throttle.factor_succeeded(self.db, attempt)
        await auth_repository.mark_authenticated(self.db, principal.session_id, utcnow())
        await self._audit(principal, REAUTHENTICATED, origin, detail={"method": method})
        return method

    # Helpers -----------------------------------------------------------------------------------

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.ctx.clock(), UTC)

    async def _live_challenge(self, token: str, now: datetime) -> MfaChallenge:
        challenge = await repository.get_challenge(self.db, codes.hash_token(token))
        if (
            challenge is None
            or challenge.used_at is not None
            or challenge.expires_at <= now
            or challenge.attempts >= MAX_ATTEMPTS
        ):
            raise MfaTokenInvalid
        return challenge

    async def _check(
        self, challenge: MfaChallenge, code: str, now: datetime
    ) -> tuple[Method | None, bool]:
        """The method `code` is good for on this challenge, and whether a sent code was
        tried (its own attempts count then)."""
        normal = codes.normalise_code(code)
        sent_live = (
            challenge.code_hash is not None
            and challenge.code_expires_at is not None
            and challenge.code_expires_at > now
            and challenge.code_attempts < MAX_ATTEMPTS
        )
        tried_sent = sent_live and normal.isdigit() and len(normal) == codes.SENT_CODE_DIGITS
        if tried_sent and challenge.code_hash is not None:
            expected = self.ctx.code_hash(normal, purpose=_sent_purpose(challenge))
            if hmac.compare_digest(expected, challenge.code_hash):
                channel: Method = "sms" if challenge.code_channel == "sms" else "email"
                return channel, True
        method = await self._second_factor(challenge.user_id, normal)
        return method, tried_sent

    async def _second_factor(self, user_id: uuid.UUID, code: str) -> Method | None:
        """`totp` or `backup_code` when `code` is a good one of the user's (spent now)."""
        normal = codes.normalise_code(code)
        totp = await repository.get_totp(self.db, user_id)
        if totp is None or totp.confirmed_at is None:
            return None
        if codes.looks_like_backup_code(normal):
            code_hash = self.ctx.code_hash(normal, purpose="backup")
            if await repository.use_backup_code(self.db, user_id, code_hash, self._now()):
                return "backup_code"
            return None
        return "totp" if await self._totp_accepted(totp, normal) else None

    async def _totp_accepted(self, totp: MfaTotp, code: str) -> bool:
        codec = await self.ctx.vault.codec(self.db, totp.user_id)
        secret = codec.decode(totp.secret, **_secret_field(totp.user_id))
        step = codes.matching_step(secret, codes.normalise_code(code), self.ctx.clock())
        if step is None:
            return False
        accepted = await repository.accept_step(self.db, totp.user_id, step)
        if accepted:
            totp.last_step = step
        return accepted

    async def _new_backup_codes(self, user_id: uuid.UUID) -> list[str]:
        fresh = [codes.new_backup_code() for _ in range(codes.BACKUP_CODE_COUNT)]
        hashes = [self.ctx.code_hash(c, purpose="backup") for c in fresh]
        await repository.replace_backup_codes(self.db, user_id, hashes, self._now())
        return fresh

    async def _invalidate_user(self, user_id: uuid.UUID) -> None:
        # Every session of the user, on every process: the next request reloads it.
        await self.ctx.cache.invalidate_user(user_id)

    async def _audit(
        self,
        principal: Principal,
        action: str,
        origin: Origin | None,
        *,
        outcome: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        await record(
            self.db,
            action=action,
            actor_id=principal.user_id,
            actor=principal.email,
            target_type="user",
            target_id=principal.user_id,
            origin=origin,
            detail=detail,
            outcome=outcome or SUCCESS,
        )


def qr_svg(uri: str) -> str:
    """The URI as a QR code, a standalone SVG document (no XML declaration)."""
    out = io.BytesIO()
    segno.make(uri, error="m").save(out, kind="svg", xmldecl=False, scale=4, border=2)
    return out.getvalue().decode()


def _sent_purpose(challenge: MfaChallenge) -> str:
    # Bound to its challenge: the same digits sent for another challenge never match here.
    return f"sent:{challenge.id}"


def _secret_field(user_id: uuid.UUID) -> dict[str, Any]:
    """Where a TOTP secret is sealed (the envelope's associated data)."""
    return {"table": "mfa_totp", "column": "secret", "row_id": user_id}
