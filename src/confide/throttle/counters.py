"""The rules of the failure counters, as pure functions of a counter and the time.

Both stores (store.py: the database, or Redis) keep the same `Counter` and apply these
functions under their own atomic update, so the rules are written once."""

from __future__ import annotations

import hashlib
import ipaddress
import uuid
from dataclasses import dataclass, replace

from confide.auth.emails import email_key

# An account's failures are forgotten a day after the last one: a user who mistypes once a
# week never drifts into a lockout, an attacker gains nothing by waiting (the back-off is
# already longer than the gaps they could afford).
ACCOUNT_FORGET_SECONDS = 86400
# IPv6 clients are grouped by this prefix: one subscriber usually holds a whole /64.
IPV6_PREFIX = 64


@dataclass(frozen=True, slots=True)
class Counter:
    """Failures counted since `window_start`; times are POSIX seconds."""

    failures: int = 0
    window_start: float = 0.0
    last_failure_at: float = 0.0
    locked_until: float = 0.0
    notified: bool = False


@dataclass(frozen=True, slots=True)
class AccountPolicy:
    threshold: int = 5
    base_seconds: int = 30
    max_seconds: int = 900


@dataclass(frozen=True, slots=True)
class IpPolicy:
    threshold: int = 50
    window_seconds: int = 900
    block_seconds: int = 900


def account_key(email: str) -> str:
    """The counter of an email, known or not: every case, whitespace and NFKC variant of it
    gives the same key (auth/emails.py), and only a hash of it is stored."""
    return "acct:" + hashlib.sha256(email_key(email).encode()).hexdigest()


def code_key(user_id: uuid.UUID) -> str:
    """The counter of a user's wrong second-factor codes (MFA step and step-up)."""
    return "code:" + user_id.hex


def client_network(ip: str) -> str | None:
    """The address a client is counted as: an IPv4 address, or an IPv6 address's /64 (an
    IPv4-mapped IPv6 address counts as the IPv4 one). None for something that is no address
    (a test client's name, a Unix socket)."""
    try:
        address = ipaddress.ip_address(ip.strip().split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, IPV6_PREFIX), strict=False))
    return str(address)


def ip_key(network: str) -> str:
    return "ip:" + network


def lockout_seconds(failures: int, policy: AccountPolicy) -> int:
    """The wait after `failures` failures in a row: none below the threshold, then the base,
    doubling with each further failure, capped."""
    if failures < policy.threshold:
        return 0
    steps = failures - policy.threshold
    if steps >= 32:  # 2**32 * base is past any cap
        return policy.max_seconds
    return min(policy.base_seconds * (1 << steps), policy.max_seconds)


def account_failed(counter: Counter | None, now: float, policy: AccountPolicy) -> Counter:
    """One more failed sign-in for an account."""
    if counter is None or now - counter.last_failure_at > ACCOUNT_FORGET_SECONDS:
        counter = Counter(window_start=now)
    failures = counter.failures + 1
    seconds = lockout_seconds(failures, policy)
    locked_until = now + seconds if seconds else counter.locked_until
    return replace(counter, failures=failures, last_failure_at=now, locked_until=locked_until)


def ip_failed(counter: Counter | None, now: float, policy: IpPolicy) -> Counter:
    """One more failed sign-in from a client network: a fixed window of `window_seconds`;
    reaching the threshold blocks it, and counting starts again once the block ends."""
    if counter is None or now - counter.window_start >= policy.window_seconds:
        counter = replace(counter or Counter(), failures=0, window_start=now)
    failures = counter.failures + 1
    if failures >= policy.threshold and counter.locked_until <= now:
        until = now + policy.block_seconds
        return replace(
            counter, failures=0, window_start=until, last_failure_at=now, locked_until=until
        )
    return replace(counter, failures=failures, last_failure_at=now)


def newly_locked(before: Counter | None, after: Counter, now: float) -> bool:
    """The update put a lock in place that was not there (a lockout or a block to audit)."""
    return after.locked_until > now and (before is None or before.locked_until < after.locked_until)
