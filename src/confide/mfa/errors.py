"""The MFA feature's domain errors, each with its stable code."""

from __future__ import annotations

from confide.errors import Conflict, Forbidden, NotAuthenticated


class MfaTokenInvalid(NotAuthenticated):
    code = "mfa_token_invalid"
    title = "This sign-in step has expired or was already used; sign in again"


class InvalidMfaCode(NotAuthenticated):
    code = "invalid_mfa_code"
    title = "The code is not correct"
    keep_changes = True  # the failed attempt (and its audit row) must be stored

    def __init__(self, detail: str | None = None, *, attempts_left: int | None = None) -> None:
        super().__init__(detail)
        if attempts_left is not None:
            self.extra = {"attempts_left": attempts_left}


class MfaAlreadyEnabled(Conflict):
    code = "mfa_already_enabled"
    title = "Two-factor authentication is already on; turn it off first"


class MfaNotEnabled(Conflict):
    code = "mfa_not_enabled"
    title = "Two-factor authentication is not on"


class EnrolmentNotStarted(Conflict):
    code = "mfa_enrolment_not_started"
    title = "Start the enrolment first (POST /api/auth/mfa/totp)"


class NoVerifiedEmail(Conflict):
    code = "no_verified_email"
    title = "This account has no verified email address to send a code to"


class NoVerifiedPhone(Conflict):
    code = "no_verified_phone"
    title = "This account has no verified phone number to send a code to"


class ReauthRequired(NotAuthenticated):
    code = "reauth_required"
    title = "Confirm it is you: sign in again, or POST /api/auth/reauth"


class ReauthFailed(NotAuthenticated):
    code = "reauth_failed"
    title = "The password or code is not correct"
    keep_changes = True  # the audit row of the refusal


class MfaEnrolmentRequired(Forbidden):
    code = "mfa_enrolment_required"
    title = "A role you hold requires two-factor authentication: set it up first"


class MfaRequiredByRole(Conflict):
    code = "mfa_required_by_role"
    title = (
        "A role you hold requires two-factor authentication: keep an authenticator app or a "
        "passkey (add another before removing this one)"
    )
