"""TOTP steps, backup codes and one-time codes, and how each is stored.

Hashing: backup codes and sent codes are stored as HMAC-SHA256 under a key derived from the
server secret (`derive_key(secret, "mfa-codes")`), not Argon2 and not a bare SHA-256. Argon2 at
sign-in cost would make checking a backup code cost up to ten password hashes (a code is looked
up by its hash instead, so one HMAC per attempt is the whole cost), and a bare SHA-256 of a
50-bit backup code (or a 6-digit sent code) can be reversed by brute force from a database dump
alone; under the HMAC the dump is useless without the secret key, which does not live in the
database. Challenge tokens are 256-bit random values, so their SHA-256 is enough.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pyotp

from confide.auth.cache import SessionCache
from confide.auth.tokens import derive_key
from confide.storage.codec import Vault

TOTP_DIGITS = 6
TOTP_PERIOD = 30
TOTP_WINDOW = 1  # steps either side of now, for a clock that drifts a little
BACKUP_CODE_COUNT = 10
BACKUP_CODE_GROUPS = 2
BACKUP_CODE_GROUP_LENGTH = 5  # two groups of 5 base32 letters: 50 bits each
SENT_CODE_DIGITS = 6
ISSUER = "Confide"
_BASE32 = "abcdefghijklmnopqrstuvwxyz234567"


def new_secret() -> str:
    """A random base32 TOTP secret (160 bits, as RFC 4226 recommends)."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, account: str) -> str:
    return pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_PERIOD).provisioning_uri(
        name=account, issuer_name=ISSUER
    )


def matching_step(secret: str, code: str, now: float) -> int | None:
    """The time step (within +-TOTP_WINDOW of `now`) whose code this is, or None."""
    if len(code) != TOTP_DIGITS or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_PERIOD)
    current = int(now) // TOTP_PERIOD
    found = None
    for step in range(current - TOTP_WINDOW, current + TOTP_WINDOW + 1):
        # Every step compared, in constant time, so the timing tells nothing.
        if hmac.compare_digest(totp.generate_otp(step), code):
            found = step
    return found


def new_backup_code() -> str:
    """`abcde-fghij`: easy to type, 50 bits of entropy."""
    groups = (
        "".join(secrets.choice(_BASE32) for _ in range(BACKUP_CODE_GROUP_LENGTH))
        for _ in range(BACKUP_CODE_GROUPS)
    )
    return "-".join(groups)


def normalise_code(code: str) -> str:
    """What the user typed, without spaces, dashes or case."""
    return "".join(ch for ch in code.lower() if ch not in " -\t")


def looks_like_backup_code(code: str) -> bool:
    normal = normalise_code(code)
    return len(normal) == BACKUP_CODE_GROUPS * BACKUP_CODE_GROUP_LENGTH and all(
        ch in _BASE32 for ch in normal
    )


def new_sent_code() -> str:
    return f"{secrets.randbelow(10**SENT_CODE_DIGITS):0{SENT_CODE_DIGITS}d}"


def new_challenge_token() -> tuple[str, str]:
    """A challenge token and its SHA-256 hex."""
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(slots=True)
class MfaContext:
    """The MFA feature's long-lived parts: the code key, and the clock (tests set it)."""

    code_key: bytes
    cache: SessionCache
    vault: Vault  # TOTP secrets are sealed under their user's data key
    clock: Callable[[], float] = field(default=time.time)

    @classmethod
    def build(cls, secret: str, cache: SessionCache, vault: Vault) -> MfaContext:
        return cls(code_key=derive_key(secret, "mfa-codes"), cache=cache, vault=vault)

    def code_hash(self, code: str, *, purpose: str) -> str:
        """The stored form of a backup or sent code (its purpose in the MAC, so one kind is
        never accepted as the other)."""
        message = f"{purpose}:{normalise_code(code)}".encode()
        return hmac.new(self.code_key, message, hashlib.sha256).hexdigest()
