"""Phone numbers in E.164 form: `+`, then 8 to 15 digits, the first not 0."""

from __future__ import annotations

from confide.phones.errors import InvalidPhoneNumber

MIN_DIGITS = 8
MAX_DIGITS = 15
# What people type between the digits; anything else (letters, dots, an extension) is refused.
_SEPARATORS = frozenset(" -()")


def normalise_number(text: str) -> str:
    """The number as E.164 (`+4915112345678`), separators removed; else 422
    `invalid_phone_number`."""
    value = text.strip()
    if not value.startswith("+"):
        raise InvalidPhoneNumber("Start the number with + and the country code.")
    digits = "".join(ch for ch in value[1:] if ch not in _SEPARATORS)
    # isdecimal() alone would take other scripts' digits ("٤"): ASCII only.
    if not (digits.isascii() and digits.isdecimal()):
        raise InvalidPhoneNumber("A number has only digits after the +.")
    if not MIN_DIGITS <= len(digits) <= MAX_DIGITS or digits[0] == "0":
        raise InvalidPhoneNumber(
            f"After the + come {MIN_DIGITS} to {MAX_DIGITS} digits, the first not 0."
        )
    return f"+{digits}"


def number_ending(number: str) -> str:
    """The last two digits: all of a number the audit trail keeps."""
    return number[-2:]
