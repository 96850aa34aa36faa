"""The throttle's domain errors (problem+json codes `account_locked`, `ip_blocked`, ...)."""

from __future__ import annotations

from confide.errors import ConfideError, Conflict, Forbidden, NotFound, ValidationFailed


class TooManyAttempts(ConfideError):
    """A refusal that says how long to wait: `Retry-After` and `retry_after` (seconds)."""

    status = 429

    def __init__(self, retry_after: int) -> None:
        retry_after = max(1, retry_after)
        super().__init__(
            f"Too many failed sign-ins; try again in {retry_after} s.",
            headers={"Retry-After": str(retry_after)},
            extra={"retry_after": retry_after},
        )
        self.retry_after = retry_after


class AccountLocked(TooManyAttempts):
    code = "account_locked"
    title = "Too many failed sign-ins for this account"


class SignInBlocked(TooManyAttempts):
    code = "ip_blocked"
    title = "Too many failed sign-ins from this address"


class IpBlocked(Forbidden):
    code = "ip_blocked"
    title = "Requests from this address are blocked"


class BlocksSelf(Conflict):
    code = "blocks_self"
    title = "This rule would block your own address"


class InvalidCidr(ValidationFailed):
    code = "invalid_cidr"
    title = "Not an IP address or CIDR range"


class IpRuleNotFound(NotFound):
    code = "ip_rule_not_found"
    title = "No such IP rule"
