"""Passkey rules: registration, naming and removal, the WebAuthn sign-in ceremonies (a
passkey alone, or as a sign-in's second step), and step-up with a passkey. Raises domain
errors; never commits."""

from __future__ import annotations

import hashlib
import logging
import secrets
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    parse_authentication_credential_json,
    parse_client_data_json,
    parse_registration_credential_json,
)
from webauthn.helpers.exceptions import (
    InvalidAuthenticationResponse,
    InvalidRegistrationResponse,
    WebAuthnException,
)
from webauthn.helpers.structs import (
    AuthenticationCredential,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    RegistrationCredential,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from confide.audit.service import FAILURE, SUCCESS, Origin, record
from confide.auth import repository as auth_repository
from confide.auth.cache import Principal
from confide.auth.models import User
from confide.auth.service import AccountDisabled
from confide.db.base import utcnow
from confide.mfa import repository as mfa_repository
from confide.mfa.codes import MfaContext
from confide.mfa.errors import MfaTokenInvalid
from confide.mfa.requirement import check_second_factor_kept
from confide.mfa.service import MfaService
from confide.passkeys import repository
from confide.passkeys.errors import (
    NoPasskey,
    PasskeyAlreadyRegistered,
    PasskeyChallengeInvalid,
    PasskeyCloned,
    PasskeyNotFound,
    PasskeyRefused,
    PasskeyRegistrationFailed,
)
from confide.passkeys.models import Passkey, PasskeyChallenge
from confide.passkeys.relying_party import RP_NAME, RelyingParty

log = logging.getLogger("confide.passkeys")

CHALLENGE_TTL = timedelta(minutes=5)
CHALLENGE_BYTES = 32

# Audited actions (the account's own: `GET /api/auth/events` shows them).
SIGNED_IN = "auth.signed_in"
PASSKEY_ADDED = "auth.passkey_added"
PASSKEY_RENAMED = "auth.passkey_renamed"
PASSKEY_REMOVED = "auth.passkey_removed"
REAUTHENTICATED = "auth.reauthenticated"  # as mfa/service.py's step-up

Purpose = Literal["register", "sign_in", "mfa", "reauth"]
_PARSE_ERRORS = (WebAuthnException, ValidationError, ValueError, KeyError, TypeError)


class DisabledAccount(AccountDisabled):
    keep_changes = True  # the spent challenge and the audit row of the refusal


@dataclass(frozen=True, slots=True)
class SignedIn:
    user: User
    mode: str  # "bearer" or "cookie"
    mfa_step: bool  # True when the passkey finished a password sign-in's MFA challenge


class PasskeyService:
    def __init__(self, db: AsyncSession, mfa: MfaContext) -> None:
        self.db = db
        self.mfa = mfa

    # Managing ----------------------------------------------------------------------------------

    async def list(
        self, principal: Principal, *, after: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> Sequence[Passkey]:
        """The caller's passkeys, oldest first, after a keyset cursor."""
        return await repository.page_for_user(self.db, principal.user_id, after=after, limit=limit)

    async def rename(self, principal: Principal, passkey_id: uuid.UUID, name: str) -> Passkey:
        """Give one of the caller's passkeys a new name (another user's is 'not found')."""
        passkey = await repository.get_owned(self.db, principal.user_id, passkey_id)
        if passkey is None:
            raise PasskeyNotFound
        passkey.name = name.strip() or passkey.name
        await self.db.flush()
        await self._audit(principal, PASSKEY_RENAMED, passkey, None)
        return passkey

    async def delete(
        self, principal: Principal, passkey_id: uuid.UUID, *, origin: Origin | None = None
    ) -> None:
        """Remove one of the caller's passkeys: it signs nobody in any more. Refused (409
        `mfa_required_by_role`, nothing changed) when it is the last second factor of a user
        whose role requires one."""
        passkey = await repository.get_owned(self.db, principal.user_id, passkey_id)
        if passkey is None:
            raise PasskeyNotFound
        await self._audit(principal, PASSKEY_REMOVED, passkey, origin)
        await repository.delete_owned(self.db, principal.user_id, passkey_id)
        await check_second_factor_kept(self.db, principal.user_id)
        await self._invalidate_user(principal.user_id)

    # Registration ------------------------------------------------------------------------------

    async def registration_options(self, principal: Principal, rp: RelyingParty) -> str:
        """Creation options (JSON) for navigator.credentials.create(): a discoverable
        credential, excluding the authenticators the user already registered."""
        existing = await repository.list_for_user(self.db, principal.user_id)
        challenge = await self._new_challenge(
            "register", user_id=principal.user_id, session_id=principal.session_id
        )
        options = generate_registration_options(
            rp_id=rp.id,
            rp_name=RP_NAME,
            user_id=principal.user_id.bytes,
            user_name=principal.email,
            user_display_name=principal.display_name or principal.email,
            challenge=challenge,
            timeout=int(CHALLENGE_TTL.total_seconds() * 1000),
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.REQUIRED,
                user_verification=UserVerificationRequirement.PREFERRED,
            ),
            exclude_credentials=[_descriptor(p) for p in existing],
        )
        return options_to_json(options)

    async def register(
        self,
        principal: Principal,
        rp: RelyingParty,
        credential: dict[str, Any],
        *,
        name: str | None,
        origin: Origin | None = None,
    ) -> Passkey:
        """Verify the authenticator's answer to this session's registration challenge and
        store the new passkey."""
        try:
            parsed = parse_registration_credential_json(credential)
        except _PARSE_ERRORS as exc:
            raise PasskeyRegistrationFailed(str(exc)) from None
        challenge = await self._spend(parsed, "register")
        if challenge.user_id != principal.user_id or challenge.session_id != principal.session_id:
            raise PasskeyChallengeInvalid
        try:
            verified = verify_registration_response(
                credential=parsed,
                expected_challenge=_challenge_of(parsed),
                expected_rp_id=rp.id,
                expected_origin=rp.origin,
            )
        except (InvalidRegistrationResponse, *_PARSE_ERRORS) as exc:
            raise PasskeyRegistrationFailed(str(exc)) from None
        if await repository.credential_exists(self.db, verified.credential_id):
            raise PasskeyAlreadyRegistered
        count = len(await repository.list_for_user(self.db, principal.user_id))
        passkey = Passkey(
            user_id=principal.user_id,
            credential_id=verified.credential_id,
            public_key=verified.credential_public_key,
            sign_count=verified.sign_count,
            transports=[t.value for t in parsed.response.transports or []],
            name=(name or "").strip() or f"Passkey {count + 1}",
            created_at=utcnow(),
        )
        self.db.add(passkey)
        await self.db.flush()
        await self._audit(principal, PASSKEY_ADDED, passkey, origin)
        # A passkey satisfies a role's MFA requirement: a session limited to enrolment is
        # reloaded (and so let through) on its next request.
        await self._invalidate_user(principal.user_id)
        return passkey

    # Sign-in -----------------------------------------------------------------------------------

    async def authentication_options(self, rp: RelyingParty, *, mfa_token: str | None) -> str:
        """Request options (JSON) for navigator.credentials.get(): any discoverable passkey
        of this site, or, for a sign-in's MFA step, only that user's passkeys."""
        if mfa_token is None:
            challenge = await self._new_challenge("sign_in")
            # Alone, a passkey is both factors: only with user verification (PIN, face).
            return _request_options(rp, challenge, [], UserVerificationRequirement.REQUIRED)
        mfa_challenge = await MfaService(self.db, self.mfa).live_challenge(mfa_token)
        passkeys = await repository.list_for_user(self.db, mfa_challenge.user_id)
        if not passkeys:
            raise PasskeyNotFound("This account has no passkey.")
        challenge = await self._new_challenge(
            "mfa", user_id=mfa_challenge.user_id, mfa_challenge_id=mfa_challenge.id
        )
        return _request_options(rp, challenge, passkeys, UserVerificationRequirement.PREFERRED)

    async def authenticate(
        self,
        rp: RelyingParty,
        credential: dict[str, Any],
        *,
        mfa_token: str | None,
        mode: str,
        origin: Origin | None = None,
    ) -> SignedIn:
        """Verify a passkey's assertion: a whole sign-in (user verified), or the MFA step of
        the sign-in `mfa_token` names. Every refusal is audited; a counter that does not go
        forward (a copied authenticator) is refused."""
        try:
            parsed = parse_authentication_credential_json(credential)
        except _PARSE_ERRORS as exc:
            raise PasskeyRefused(str(exc)) from None
        challenge = await self._spend(parsed, "mfa" if mfa_token else "sign_in")
        mfa_user: uuid.UUID | None = None
        if mfa_token is not None:
            mfa_challenge = await MfaService(self.db, self.mfa).live_challenge(mfa_token)
            if challenge.mfa_challenge_id != mfa_challenge.id:
                raise PasskeyChallengeInvalid
            mfa_user, mode = mfa_challenge.user_id, mfa_challenge.mode
        passkey = await repository.get_by_credential_id(self.db, parsed.raw_id)
        if passkey is None or (mfa_user is not None and passkey.user_id != mfa_user):
            await self._refused(None, "unknown_passkey", origin)
            raise PasskeyRefused
        user = await auth_repository.get_user(self.db, passkey.user_id)
        if user is None:
            raise PasskeyRefused
        signed_in_user = user

        async def refuse(reason: str, why: str | None) -> None:
            cloned = reason == PasskeyCloned.code
            await self._refused(
                signed_in_user, reason, origin, why=why, passkey=passkey if cloned else None
            )

        await self._check_assertion(
            rp, parsed, passkey, user.id, require_user_verification=mfa_token is None,
            refuse=refuse,
        )  # fmt: skip
        if user.status == "disabled":
            await self._refused(user, AccountDisabled.code, origin)
            raise DisabledAccount
        if challenge.mfa_challenge_id is not None and not await mfa_repository.spend_challenge(
            self.db, challenge.mfa_challenge_id, utcnow()
        ):
            raise MfaTokenInvalid  # a concurrent request finished this sign-in first
        return SignedIn(user=user, mode=mode, mfa_step=mfa_token is not None)

    # Step-up -----------------------------------------------------------------------------------

    async def reauth_options(self, principal: Principal, rp: RelyingParty) -> str:
        """Request options (JSON) for navigator.credentials.get() limited to the caller's
        passkeys, with user verification: the challenge is bound to this session."""
        passkeys = await repository.list_for_user(self.db, principal.user_id)
        if not passkeys:
            raise NoPasskey
        challenge = await self._new_challenge(
            "reauth", user_id=principal.user_id, session_id=principal.session_id
        )
        # It stands in for the password: only with user verification (PIN, face).
        return _request_options(rp, challenge, passkeys, UserVerificationRequirement.REQUIRED)

    async def reauthenticate(
        self,
        principal: Principal,
        rp: RelyingParty,
        credential: dict[str, Any],
        *,
        origin: Origin | None = None,
    ) -> None:
        """Step-up with a passkey: the assertion answers this session's challenge, comes from
        one of the caller's passkeys and verified the user; the session counts as freshly
        authenticated, as after `POST /api/auth/reauth`. Every refusal is audited as one."""
        try:
            parsed = parse_authentication_credential_json(credential)
        except _PARSE_ERRORS as exc:
            raise PasskeyRefused(str(exc)) from None
        challenge = await self._spend(parsed, "reauth")
        if challenge.user_id != principal.user_id or challenge.session_id != principal.session_id:
            raise PasskeyChallengeInvalid
        passkey = await repository.get_by_credential_id(self.db, parsed.raw_id)
        # Another user's passkey is refused as an unknown one is: the answer tells nothing.
        if passkey is None or passkey.user_id != principal.user_id:
            await self._reauth_refused(principal, "unknown_passkey", origin)
            raise PasskeyRefused

        async def refuse(reason: str, why: str | None) -> None:
            await self._reauth_refused(principal, reason, origin, why=why)

        await self._check_assertion(
            rp, parsed, passkey, principal.user_id, require_user_verification=True,
            refuse=refuse,
        )  # fmt: skip
        await auth_repository.mark_authenticated(self.db, principal.session_id, utcnow())
        await record(
            self.db,
            action=REAUTHENTICATED,
            actor_id=principal.user_id,
            actor=principal.email,
            target_type="user",
            target_id=principal.user_id,
            origin=origin,
            detail={"method": "passkey", "passkey_id": str(passkey.id)},
            outcome=SUCCESS,
        )

    # Helpers -----------------------------------------------------------------------------------

    async def _check_assertion(
        self,
        rp: RelyingParty,
        parsed: AuthenticationCredential,
        passkey: Passkey,
        user_id: uuid.UUID,
        *,
        require_user_verification: bool,
        refuse: Callable[[str, str | None], Awaitable[None]],
    ) -> None:
        """The steps every use of a passkey takes (sign-in, its MFA step, step-up): the user
        handle names its owner, the signature answers the challenge, the counter goes forward
        (then stored). `refuse(reason, why)` audits a refusal before it is raised."""
        handle = parsed.response.user_handle
        if handle is not None and handle != user_id.bytes:
            await refuse("user_handle_mismatch", None)
            raise PasskeyRefused
        try:
            verified = verify_authentication_response(
                credential=parsed,
                expected_challenge=_challenge_of(parsed),
                expected_rp_id=rp.id,
                expected_origin=rp.origin,
                credential_public_key=passkey.public_key,
                # The counter is checked below, where a clone can be told from a bad answer.
                credential_current_sign_count=0,
                require_user_verification=require_user_verification,
            )
        except (InvalidAuthenticationResponse, *_PARSE_ERRORS) as exc:
            await refuse(PasskeyRefused.code, str(exc))
            raise PasskeyRefused from None
        seen, new = passkey.sign_count, verified.new_sign_count
        # Authenticators that keep no counter always send 0; one that does must go forward.
        if (new > 0 or seen > 0) and new <= seen:
            await refuse(PasskeyCloned.code, None)
            log.warning("passkey counter went backwards", extra={"user_id": str(user_id)})
            raise PasskeyCloned
        if not await repository.advance_sign_count(
            self.db, passkey.id, seen=seen, new=new, now=utcnow()
        ):
            raise PasskeyCloned  # a concurrent use took this counter value first

    async def _invalidate_user(self, user_id: uuid.UUID) -> None:
        # Every session of the user, on every process: the next request reloads it.
        await self.mfa.cache.invalidate_user(user_id)

    async def _reauth_refused(
        self, principal: Principal, reason: str, origin: Origin | None, *, why: str | None = None
    ) -> None:
        # Audited as a refused `POST /api/auth/reauth` is (its reason added).
        await record(
            self.db,
            action=REAUTHENTICATED,
            actor_id=principal.user_id,
            actor=principal.email,
            target_type="user",
            target_id=principal.user_id,
            origin=origin,
            detail={"method": "passkey", "reason": reason},
            outcome=FAILURE,
        )
        log.info(
            "passkey step-up refused",
            extra={"reason": reason, "why": why, "user_id": str(principal.user_id)},
        )

    async def _new_challenge(
        self,
        purpose: Purpose,
        *,
        user_id: uuid.UUID | None = None,
        session_id: uuid.UUID | None = None,
        mfa_challenge_id: uuid.UUID | None = None,
    ) -> bytes:
        challenge = secrets.token_bytes(CHALLENGE_BYTES)
        now = utcnow()
        await repository.add_challenge(
            self.db,
            PasskeyChallenge(
                challenge_hash=_hash(challenge),
                purpose=purpose,
                user_id=user_id,
                session_id=session_id,
                mfa_challenge_id=mfa_challenge_id,
                created_at=now,
                expires_at=now + CHALLENGE_TTL,
            ),
        )
        return challenge

    async def _spend(
        self, parsed: RegistrationCredential | AuthenticationCredential, purpose: Purpose
    ) -> PasskeyChallenge:
        """The live challenge the credential answers, spent now (whatever happens next)."""
        try:
            challenge_bytes = _challenge_of(parsed)
        except _PARSE_ERRORS:
            raise PasskeyChallengeInvalid from None
        now = utcnow()
        challenge = await repository.get_challenge(self.db, _hash(challenge_bytes))
        if (
            challenge is None
            or challenge.purpose != purpose
            or challenge.expires_at <= now
            or not await repository.spend_challenge(self.db, challenge.id, now)
        ):
            raise PasskeyChallengeInvalid
        return challenge

    async def _audit(
        self, principal: Principal, action: str, passkey: Passkey, origin: Origin | None
    ) -> None:
        await record(
            self.db,
            action=action,
            actor_id=principal.user_id,
            actor=principal.email,
            target_type="user",
            target_id=principal.user_id,
            origin=origin,
            detail={"passkey_id": str(passkey.id), "name": passkey.name},
            outcome=SUCCESS,
        )

    async def _refused(
        self,
        user: User | None,
        reason: str,
        origin: Origin | None,
        *,
        why: str | None = None,
        passkey: Passkey | None = None,
    ) -> None:
        detail: dict[str, Any] = {"reason": reason, "method": "passkey"}
        if passkey is not None:
            detail["passkey_id"] = str(passkey.id)
        await record(
            self.db,
            action=SIGNED_IN,
            outcome=FAILURE,
            actor_id=user.id if user else None,
            actor=user.email if user else None,
            target_type="user" if user else None,
            target_id=user.id if user else None,
            origin=origin,
            detail=detail,
        )
        log.info(
            "passkey sign-in refused",
            extra={"reason": reason, "why": why, "user_id": str(user.id) if user else None},
        )


def _hash(challenge: bytes) -> str:
    return hashlib.sha256(challenge).hexdigest()


def _challenge_of(parsed: RegistrationCredential | AuthenticationCredential) -> bytes:
    """The challenge the authenticator signed, as the browser wrote it in clientDataJSON."""
    return parse_client_data_json(parsed.response.client_data_json).challenge


def _request_options(
    rp: RelyingParty,
    challenge: bytes,
    passkeys: Sequence[Passkey],
    verification: UserVerificationRequirement,
) -> str:
    """Request options (JSON) for navigator.credentials.get() answering `challenge`: with
    one of `passkeys`, or any discoverable passkey of this site when there are none."""
    options = generate_authentication_options(
        rp_id=rp.id,
        challenge=challenge,
        timeout=int(CHALLENGE_TTL.total_seconds() * 1000),
        allow_credentials=[_descriptor(p) for p in passkeys],
        user_verification=verification,
    )
    return options_to_json(options)


def _descriptor(passkey: Passkey) -> PublicKeyCredentialDescriptor:
    transports = []
    for value in passkey.transports:
        try:
            transports.append(AuthenticatorTransport(value))
        except ValueError:
            continue  # a transport newer than this library: leave it out
    return PublicKeyCredentialDescriptor(id=passkey.credential_id, transports=transports)
