"""The crypto package's errors: one for stored data that cannot be decrypted, one for a key
ring that cannot be used. Neither ever carries plaintext or key material."""

from __future__ import annotations

from typing import Literal

from confide.errors import ConfideError

# Why a blob did not open; stable strings, for logs and tests.
DecryptionReason = Literal[
    "malformed",  # empty, truncated, or a header that does not parse
    "unsupported_version",  # a format version this code does not know
    "unknown_key",  # sealed under a key id that is not at hand (a retired master key)
    "authentication_failed",  # the wrong key, an altered byte, or another row's ciphertext
    "not_text",  # opened, but not UTF-8 text where text was expected
]


class DecryptionFailed(ConfideError):
    """Stored data did not decrypt. The request fails (500) rather than show anything else."""

    status, code, title = 500, "decryption_failed", "Stored data could not be decrypted"

    def __init__(self, reason: DecryptionReason, detail: str, *, key_id: str | None = None) -> None:
        super().__init__(f"Stored data could not be decrypted: {detail}")
        self.reason: DecryptionReason = reason
        self.key_id = key_id


class KeyRingError(ValueError):
    """A key ring (CONFIDE_MASTER_KEYS, the key file, a rotate or retire) that cannot be used.

    A ValueError, so a settings validator reports it as the variable's one line. The message
    names the entry and the problem, never the key.
    """
