"""Phone rules: one number per user, verified by a 6-digit code sent by SMS (5 minutes,
3 tries). Raises domain errors; never commits (the request does)."""

from __future__ import annotations

import hmac
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from confide.audit.service import SUCCESS, Origin, record
from confide.auth.cache import Principal
from confide.mfa import codes
from confide.mfa.codes import MfaContext
from confide.notify.senders import SmsSender
from confide.phones import repository
from confide.phones.errors import CodeExpired, InvalidCode, NoPendingCode, NoPhone
from confide.phones.models import Phone
from confide.phones.numbers import number_ending
from confide.phones.schemas import PhoneState
from confide.storage.codec import ContentCodec, Vault

log = logging.getLogger("confide.phones")

CODE_TTL = timedelta(minutes=5)
MAX_ATTEMPTS = 3  # wrong codes that end a pending code
SMS_PURPOSE = "phone_verify"

# Audited actions (the account's own: `GET /api/auth/events` shows them). The number is
# recorded by its last two digits only.
PHONE_CHANGED = "auth.phone_changed"
PHONE_VERIFIED = "auth.phone_verified"
PHONE_REMOVED = "auth.phone_removed"


class PhoneService:
    def __init__(self, db: AsyncSession, ctx: MfaContext) -> None:
        self.db = db
        self.ctx = ctx

    async def get(self, principal: Principal) -> PhoneState:
        """The caller's phone; 404 `no_phone` without one."""
        phone = await self._row(principal)
        return PhoneState(await self._number(phone), phone.verified_at)

    async def _row(self, principal: Principal) -> Phone:
        phone = await repository.get_for_user(self.db, principal.user_id)
        if phone is None:
            raise NoPhone
        return phone

    async def change(
        self,
        principal: Principal,
        number: str,
        *,
        notify: SmsSender,
        origin: Origin | None = None,
    ) -> PhoneState:
        """Store `number` (E.164, checked by the caller) unverified, replacing any number
        (a verified one stops being verified), and queue a new code to it by SMS."""
        now = self._now()
        sealed = seal_number(await self._codec(principal.user_id), number)
        phone = await repository.get_or_create(self.db, principal.user_id, number=sealed, now=now)
        code = codes.new_sent_code()
        phone.number = sealed
        phone.verified_at = None
        phone.code_hash = self._hash(principal.user_id, number, code)
        phone.code_expires_at = now + CODE_TTL
        phone.code_attempts = 0
        phone.updated_at = now
        await self.db.flush()
        minutes = int(CODE_TTL.total_seconds() // 60)
        # No fallback email: the code proves the phone is the user's, an email would not.
        await notify.sms(
            self.db,
            to=number,
            text=(
                f"Your Confide code to verify this phone number is {code}. "
                f"It works for {minutes} minutes."
            ),
            purpose=SMS_PURPOSE,
            user_id=principal.user_id,
        )
        await self._audit(principal, PHONE_CHANGED, number, origin)
        return PhoneState(number, None)

    async def verify(
        self, principal: Principal, code: str, *, origin: Origin | None = None
    ) -> PhoneState:
        """Verify the caller's number with the code sent to it. A wrong code counts a try
        (400 `invalid_code`); the third ends the pending code (409 `no_pending_code` then)."""
        now = self._now()
        phone = await self._row(principal)
        number = await self._number(phone)
        if phone.code_hash is None or phone.code_attempts >= MAX_ATTEMPTS:
            raise NoPendingCode
        if phone.code_expires_at is None or phone.code_expires_at <= now:
            raise CodeExpired
        attempts = await repository.take_attempt(
            self.db, principal.user_id, max_attempts=MAX_ATTEMPTS
        )
        if attempts is None:
            raise NoPendingCode  # a concurrent request used its last try
        phone.code_attempts = attempts
        expected = self._hash(principal.user_id, number, codes.normalise_code(code))
        if not hmac.compare_digest(expected, phone.code_hash):
            if attempts >= MAX_ATTEMPTS:
                self._end_pending(phone, now)
            await self.db.flush()
            log.info(
                "wrong phone code", extra={"user_id": str(principal.user_id), "attempts": attempts}
            )
            raise InvalidCode(attempts_left=max(0, MAX_ATTEMPTS - attempts))
        phone.verified_at = now
        self._end_pending(phone, now)
        await self.db.flush()
        await self._audit(principal, PHONE_VERIFIED, number, origin)
        return PhoneState(number, now)

    async def remove(self, principal: Principal, *, origin: Origin | None = None) -> None:
        """Delete the caller's phone: no more SMS sign-in codes to it."""
        phone = await self.get(principal)
        await self._audit(principal, PHONE_REMOVED, phone.number, origin)
        await repository.delete_for_user(self.db, principal.user_id)

    # Helpers -----------------------------------------------------------------------------------

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.ctx.clock(), UTC)

    async def _codec(self, user_id: uuid.UUID) -> ContentCodec:
        return await self.ctx.vault.codec(self.db, user_id)

    async def _number(self, phone: Phone) -> str:
        return open_number(await self._codec(phone.user_id), phone.number)

    def _hash(self, user_id: uuid.UUID, number: str, code: str) -> str:
        # Bound to the user and the number: a code sent to an old number never verifies a new one.
        return self.ctx.code_hash(code, purpose=f"phone:{user_id}:{number}")

    @staticmethod
    def _end_pending(phone: Phone, now: datetime) -> None:
        phone.code_hash = None
        phone.code_expires_at = None
        phone.updated_at = now

    async def _audit(
        self, principal: Principal, action: str, number: str, origin: Origin | None
    ) -> None:
        detail: dict[str, Any] = {"number_ending": number_ending(number)}
        await record(
            self.db,
            action=action,
            actor_id=principal.user_id,
            actor=principal.email,
            target_type="user",
            target_id=principal.user_id,
            origin=origin,
            detail=detail,
            outcome=SUCCESS,
        )


def seal_number(codec: ContentCodec, number: str) -> bytes:
    return codec.encode(number, table="phones", column="number", row_id=codec.user_id)


def open_number(codec: ContentCodec, stored: bytes) -> str:
    return codec.decode(stored, table="phones", column="number", row_id=codec.user_id)


async def verified_number(db: AsyncSession, vault: Vault, user_id: uuid.UUID) -> str | None:
    """The user's phone number if it is verified (for SMS sign-in codes), else None."""
    stored = await repository.verified_number(db, user_id)
    return None if stored is None else open_number(await vault.codec(db, user_id), stored)
