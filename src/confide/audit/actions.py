"""The names of audited actions that this package and auth write (one place, so the API's
filters and the account activity page agree with what is recorded)."""

from __future__ import annotations

# A user's own account: what `GET /api/auth/events` shows (its actor is the account).
ACCOUNT_PREFIX = "auth."
REGISTERED = "auth.registered"
SIGNED_IN = "auth.signed_in"  # outcome "failure" for a refused sign-in
SIGNED_OUT = "auth.signed_out"
REFRESH_TOKEN_REUSED = "auth.refresh_token_reused"  # noqa: S105  (a name, not a secret)
PASSWORD_CHANGED = "auth.password_changed"  # noqa: S105
SESSION_ENDED = "auth.session_ended"
PASSWORD_RESET_REQUESTED = "auth.password_reset_requested"  # noqa: S105
PASSWORD_RESET = "auth.password_reset"  # noqa: S105
EMAIL_VERIFIED = "auth.email_verified"
EMAIL_CHANGE_REQUESTED = "auth.email_change_requested"
EMAIL_CHANGED = "auth.email_changed"
# Sign-in paused after repeated failures (throttle/service.py); its actor is the email typed.
LOCKED_OUT = "auth.locked_out"

# Brute force and IP rules (throttle/).
IP_BLOCKED = "throttle.ip_blocked"  # a client network blocked from sign-in for a while
IP_RULE_CREATED = "ip_rule.created"
IP_RULE_DELETED = "ip_rule.deleted"

ACCESS_DENIED = "access.denied"
