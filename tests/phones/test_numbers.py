"""E.164 numbers: what is accepted (and how it is written back), what is refused."""

from __future__ import annotations

import pytest

from confide.phones.errors import InvalidPhoneNumber
from confide.phones.numbers import normalise_number, number_ending


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("+4915112345678", "+4915112345678"),
        ("+49 151 1234 5678", "+4915112345678"),
        ("+1 (415) 555-0132", "+14155550132"),
        ("  +44-20-7946-0958 ", "+442079460958"),
        ("+12345678", "+12345678"),  # 8 digits: the shortest
        ("+123456789012345", "+123456789012345"),  # 15 digits: the longest
    ],
)
def test_accepted_numbers_are_stored_in_e164(typed: str, stored: str) -> None:
    assert normalise_number(typed) == stored


@pytest.mark.parametrize(
    "typed",
    [
        "4915112345678",  # no +
        "004915112345678",  # an international prefix instead of +
        "+0151123456",  # first digit 0
        "+1234567",  # 7 digits
        "+1234567890123456",  # 16 digits
        "+49 151 1234 5678 ext 9",
        "+49.151.12345678",  # dots are not among the separators
        "++4915112345678",
        "+49151123456+78",
        "+49151\n12345678",
        "+49\t15112345678",
        "+٤٩١٥١١٢٣٤٥٦٧٨",  # other scripts' digits
        "+",
        "",
    ],
)
def test_anything_else_is_refused(typed: str) -> None:
    with pytest.raises(InvalidPhoneNumber) as refused:
        normalise_number(typed)
    assert refused.value.code == "invalid_phone_number"
    assert refused.value.status == 422


def test_the_audit_trail_keeps_the_last_two_digits() -> None:
    assert number_ending("+4915112345678") == "78"
