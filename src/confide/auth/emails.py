"""Email addresses: trimmed, NFKC-normalised, unique case-insensitively."""

from __future__ import annotations

import unicodedata

MAX_EMAIL_LENGTH = 254


def normalize_email(raw: str) -> str:
    """The stored form: trimmed and NFKC-normalised (full-width letters become ASCII)."""
    return unicodedata.normalize("NFKC", raw.strip())


def email_key(email: str) -> str:
    """The uniqueness key. `lower()`, not `casefold()`: `ß` must not become `ss`, and
    look-alikes from other scripts stay distinct because nothing maps them together. `lower()`
    turns a capital sigma into the word-final `ς` before `@` or `.`, so that is folded too."""
    return normalize_email(email).lower().replace("\u03c2", "\u03c3")


def check_email(email: str) -> str:
    """Return the normalised email, or raise ValueError saying what is wrong with it."""
    email = normalize_email(email)
    if not email:
        raise ValueError("an email address is required")
    if len(email) > MAX_EMAIL_LENGTH:
        raise ValueError(f"an email address has at most {MAX_EMAIL_LENGTH} characters")
    if any(ch.isspace() or unicodedata.category(ch).startswith("C") for ch in email):
        raise ValueError("an email address cannot contain spaces or control characters")
    local, at, domain = email.rpartition("@")
    if not at or not local or "@" in local or len(local) > 64:
        raise ValueError("not an email address like name@example.org")
    labels = domain.split(".")
    if len(labels) < 2 or any(not label or len(label) > 63 for label in labels):
        raise ValueError("not an email address like name@example.org")
    if any(label.startswith("-") or label.endswith("-") for label in labels):
        raise ValueError("not an email address like name@example.org")
    return email
