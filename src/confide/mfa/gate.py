"""What a session may do while a role it holds requires MFA that the user has not set up:
enrol (an authenticator app or a passkey), see who it is, sign out. Checked in one place,
where every request's principal is resolved (auth/dependencies.py `live_principal`), so no
route can forget it."""

from __future__ import annotations

from starlette.requests import HTTPConnection

from confide.auth.cache import Principal
from confide.mfa.errors import MfaEnrolmentRequired

ENROLMENT_PATHS = frozenset(
    {
        "/api/auth/me",
        "/api/auth/logout",
        "/api/auth/logout-all",
        "/api/auth/mfa",
        "/api/auth/mfa/totp",
        "/api/auth/mfa/totp/confirm",
        # A passkey counts too (mfa/requirement.py): listing and registering one. Registering
        # needs a recent sign-in, which a session older than the window gets back by /reauth.
        "/api/auth/passkeys",
        "/api/auth/passkeys/register/options",
        "/api/auth/passkeys/register/verify",
        "/api/auth/reauth",
    }
)


def check_enrolment_gate(connection: HTTPConnection, principal: Principal) -> None:
    """Refuse anything but enrolment to a session whose user must enrol first."""
    if principal.mfa_enrolment_required and connection.scope["path"] not in ENROLMENT_PATHS:
        raise MfaEnrolmentRequired
