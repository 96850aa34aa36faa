"""Password rules after NIST SP 800-63B, and Argon2id hashing off the event loop."""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from importlib import resources

import anyio
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from confide.errors import ValidationFailed

MAX_PASSWORD_LENGTH = 128
_SEQUENCES = (
    "0123456789012345678901234567890123456789",
    "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz",
    "qwertyuiopasdfghjklzxcvbnmqwertyuiopasdfghjklzxcvbnm",
)


class WeakPassword(ValidationFailed):
    code = "weak_password"
    title = "Password not accepted"


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The bundled list of common and breached passwords (lower-case)."""
    text = resources.files("confide.auth").joinpath("data/common_passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def normalize_password(password: str) -> str:
    """NFKC, so the same password typed on two keyboards hashes the same (SP 800-63B 5.1.1.2)."""
    return unicodedata.normalize("NFKC", password)


def check_password(password: str, *, email: str, min_length: int) -> None:
    """Raise WeakPassword (with a `reason`) when the password breaks a rule."""
    password = normalize_password(password)
    lowered = password.casefold()
    if len(password) < min_length:
        _refuse("too_short", f"Use at least {min_length} characters.")
    if len(password) > MAX_PASSWORD_LENGTH:
        _refuse("too_long", f"Use at most {MAX_PASSWORD_LENGTH} characters.")
    if lowered in common_passwords() or lowered.strip() in common_passwords():
        _refuse("too_common", "This password is too common; choose one that is harder to guess.")
    if len(set(lowered)) == 1 or any(lowered in sequence for sequence in _SEQUENCES):
        _refuse("too_predictable", "This password is a repeated or sequential run of characters.")
    local_part = unicodedata.normalize("NFKC", email).rsplit("@", 1)[0].casefold()
    # A one- or two-letter local part would forbid nearly every password; it guards nothing.
    if len(local_part) >= 3 and local_part in lowered:
        _refuse("contains_email", "The password must not contain your email address.")


def _refuse(reason: str, detail: str) -> None:
    raise WeakPassword(detail, extra={"reason": reason})


class PasswordHasher:
    """Argon2id via pwdlib, run in worker threads with bounded concurrency."""

    def __init__(
        self, *, time_cost: int, memory_kib: int, parallelism: int, concurrency: int
    ) -> None:
        hasher = Argon2Hasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)
        self._hash = PasswordHash((hasher,))
        self._limiter = anyio.CapacityLimiter(concurrency)
        self._dummy_hash = self._hash.hash("confide dummy password for timing")

    async def hash(self, password: str) -> str:
        return await anyio.to_thread.run_sync(
            self._hash.hash, normalize_password(password), limiter=self._limiter
        )

    async def verify_and_update(self, password: str, password_hash: str) -> tuple[bool, str | None]:
        """Check a password; when the hash's parameters are outdated, also return a new hash."""
        return await anyio.to_thread.run_sync(
            self._hash.verify_and_update,
            normalize_password(password),
            password_hash,
            limiter=self._limiter,
        )

    async def dummy_verify(self, password: str) -> None:
        """Spend the time of a real verification, so unknown emails cannot be told apart."""
        await self.verify_and_update(password, self._dummy_hash)
