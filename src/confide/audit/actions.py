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

ACCESS_DENIED = "access.denied"
