"""Unit tests of the password rules, Argon2id hashing and email normalisation (no database)."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from confide.auth.emails import MAX_EMAIL_LENGTH, check_email, email_key, normalize_email
from confide.auth.passwords import (
    MAX_PASSWORD_LENGTH,
    PasswordHasher,
    WeakPassword,
    check_password,
    common_passwords,
)

EMAIL = "owner@example.org"
MIN = 12
WHITESPACE = " \t\n\r\u00a0\u3000"  # ASCII, no-break and ideographic spaces
CYRILLIC_LOOK_ALIKES = {"a": "\u0430", "c": "\u0441", "e": "\u0435", "o": "\u043e", "p": "\u0440"}
WORDS = ["lantern", "harbour", "quiet", "drift", "velvet", "orchard", "marble", "tulip", "fern"]
SEQUENCE_SOURCES = [
    "0123456789" * 4,
    "abcdefghijklmnopqrstuvwxyz" * 2,
    "qwertyuiopasdfghjklzxcvbnm" * 2,
]

ascii_printable = st.characters(min_codepoint=0x21, max_codepoint=0x7E)
local_parts = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789._-", min_size=1, max_size=30)
domains = st.lists(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=12),
    min_size=2,
    max_size=4,
).map(".".join)
ascii_emails = st.builds(lambda local, domain: f"{local}@{domain}", local_parts, domains)


def reason(password: str, *, email: str = EMAIL, min_length: int = MIN) -> str | None:
    """Why check_password refuses the password, or None when it accepts it."""
    try:
        check_password(password, email=email, min_length=min_length)
    except WeakPassword as exc:
        refusal = exc
    else:
        return None
    assert (refusal.status, refusal.code) == (422, "weak_password")
    return str(refusal.extra["reason"])


def full_width(text: str) -> str:
    """The full-width form of printable ASCII, as typed with an East Asian input method."""
    return "".join(
        "\u3000" if ch == " " else chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in text
    )


# The common-password list ------------------------------------------------------------------------


def test_common_list_is_large() -> None:
    assert len(common_passwords()) >= 10_000


def test_common_list_entries_can_all_match() -> None:
    # The check compares the NFKC, case-folded, stripped password; any other entry is dead.
    dead = [
        entry
        for entry in common_passwords()
        if entry != unicodedata.normalize("NFKC", entry).casefold().strip() or not entry
    ]
    assert dead == []


LONG_COMMON = sorted(w for w in common_passwords() if MIN <= len(w) <= MAX_PASSWORD_LENGTH)


def test_every_long_enough_common_password_is_refused_as_common() -> None:
    assert len(LONG_COMMON) > 100
    assert {w: reason(w) for w in LONG_COMMON} == dict.fromkeys(LONG_COMMON, "too_common")


@pytest.mark.parametrize(
    "password",
    ["password1234", "qwertyuiopasdfgh", "Password1234", "QWERTYUIOPASDFGH", "  password1234 "],
)
def test_named_common_passwords_are_refused(password: str) -> None:
    assert reason(password) == "too_common"


@settings(deadline=None)
@given(st.sampled_from(LONG_COMMON), st.lists(st.booleans(), min_size=128, max_size=128))
def test_common_check_ignores_case(password: str, upper: list[bool]) -> None:
    mixed = "".join(ch.upper() if up else ch for ch, up in zip(password, upper, strict=False))
    assert reason(mixed) == "too_common"


@settings(deadline=None)
@given(st.sampled_from([w for w in LONG_COMMON if w.isascii()]))
def test_common_check_sees_through_full_width(password: str) -> None:
    assert reason(full_width(password)) == "too_common"


# Length ------------------------------------------------------------------------------------------


@given(st.text(max_size=MAX_PASSWORD_LENGTH), st.integers(min_value=8, max_value=128))
def test_shorter_than_the_minimum_is_too_short(password: str, min_length: int) -> None:
    if len(unicodedata.normalize("NFKC", password)) < min_length:
        assert reason(password, min_length=min_length) == "too_short"
    else:
        assert reason(password, min_length=min_length) != "too_short"


@given(st.text(min_size=MAX_PASSWORD_LENGTH + 1, max_size=1024))
def test_longer_than_128_is_too_long(password: str) -> None:
    if len(unicodedata.normalize("NFKC", password)) > MAX_PASSWORD_LENGTH:
        assert reason(password) == "too_long"


def test_length_bounds_are_inclusive() -> None:
    text = "lantern harbour quiet drift velvet orchard marble tulip fern " * 3
    assert reason(text[:MIN]) is None
    assert reason(text[: MIN - 1]) == "too_short"
    assert reason(text[:MAX_PASSWORD_LENGTH]) is None
    assert reason(text[: MAX_PASSWORD_LENGTH + 1]) == "too_long"
    assert reason(text[:15], min_length=16) == "too_short"
    assert reason(text[:16], min_length=16) is None


# No composition rules ----------------------------------------------------------------------------


@given(st.lists(st.sampled_from(WORDS), min_size=3, max_size=12), st.sampled_from([" ", "", "-"]))
def test_passphrases_of_plain_lowercase_words_are_accepted(words: list[str], sep: str) -> None:
    passphrase = sep.join(words)
    if len(passphrase) >= MIN:
        assert reason(passphrase) is None


@settings(deadline=None)
@given(st.text(alphabet=ascii_printable | st.just(" "), min_size=1, max_size=140), ascii_emails)
def test_verdict_ignores_ascii_case_and_width(password: str, email: str) -> None:
    verdict = reason(password, email=email)
    assert reason(password.swapcase(), email=email) == verdict
    assert reason(full_width(password), email=email) == verdict
    assert reason(password, email=email.upper()) == verdict


# Predictable passwords ---------------------------------------------------------------------------


@given(ascii_printable, st.integers(min_value=MIN, max_value=MAX_PASSWORD_LENGTH))
def test_one_repeated_character_is_refused(ch: str, n: int) -> None:
    assert reason(ch * n) in ("too_common", "too_predictable")


@given(st.sampled_from(SEQUENCE_SOURCES), st.data())
def test_runs_of_keyboard_digit_or_alphabet_sequences_are_refused(
    source: str, data: st.DataObject
) -> None:
    start = data.draw(st.integers(min_value=0, max_value=len(source) - MIN))
    end = data.draw(st.integers(min_value=start + MIN, max_value=len(source)))
    run = source[start:end]
    assert reason(run) in ("too_common", "too_predictable")
    assert reason(run.upper()) in ("too_common", "too_predictable")


def test_named_predictable_passwords() -> None:
    assert reason("zzzzzzzzzzzzzzzz") == "too_predictable"
    assert reason("ghijklmnopqrstuv") == "too_predictable"
    assert reason("56789012345678") == "too_predictable"


# The email's local part --------------------------------------------------------------------------


@given(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=3, max_size=40),
    domains,
    st.sampled_from(["", "My-", "xx "]),
    st.booleans(),
)
def test_password_holding_the_local_part_is_refused(
    local: str, domain: str, prefix: str, upper: bool
) -> None:
    shown = local.upper() if upper else local
    password = f"{prefix}{shown}-orchard-velvet"
    assert reason(password, email=f"{local}@{domain}") == "contains_email"
    assert reason(password, email=f"{local.upper()}@{domain}") == "contains_email"


def test_local_part_is_normalised_before_the_comparison() -> None:
    assert reason(
        "my-marigold-garden", email="\uff4d\uff41\uff52\uff49\uff47\uff4f\uff4c\uff44@x.org"
    ) == ("contains_email")
    assert reason(
        "MY-\uff2d\uff21\uff32\uff29\uff27\uff2f\uff2c\uff24-GARDEN", email="marigold@x.org"
    ) == ("contains_email")


def test_one_or_two_letter_local_parts_are_not_checked() -> None:
    assert reason("lantern-harbour-quiet", email="la@example.org") is None
    assert reason("lantern-harbour-quiet", email="l@example.org") is None
    assert reason("lantern-harbour-quiet", email="lan@example.org") == "contains_email"


def test_the_domain_is_not_checked() -> None:
    assert reason("lantern-harbour-quiet", email="zq@lantern.org") is None


# Argon2id ----------------------------------------------------------------------------------------


def hasher(time_cost: int = 1) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_kib=256, parallelism=1, concurrency=2)


async def test_hash_is_salted_argon2id_with_the_configured_parameters() -> None:
    h = hasher()
    first, second = await h.hash("plum-orchard-velvet-42"), await h.hash("plum-orchard-velvet-42")
    assert first.startswith("$argon2id$")
    assert first.split("$")[3] == "m=256,t=1,p=1"
    assert first != second
    assert "plum-orchard-velvet-42" not in first


async def test_verify_accepts_only_the_same_password() -> None:
    h = hasher()
    stored = await h.hash("plum-orchard-velvet-42")
    assert await h.verify_and_update("plum-orchard-velvet-42", stored) == (True, None)
    assert await h.verify_and_update("plum-orchard-velvet-43", stored) == (False, None)
    assert await h.verify_and_update("PLUM-ORCHARD-VELVET-42", stored) == (False, None)
    assert await h.verify_and_update("", stored) == (False, None)


async def test_hashing_never_truncates() -> None:
    h = hasher()
    password = ("plum-orchard-velvet-42-" * 6)[:128]
    stored = await h.hash(password)
    for cut in (72, 73, 80, 127):
        assert await h.verify_and_update(password[:cut], stored) == (False, None)
        assert await h.verify_and_update(password[:cut] + "#" * 8, stored) == (False, None)
    assert (await h.verify_and_update(password, stored))[0] is True


async def test_hashing_is_nfkc_so_keyboards_agree() -> None:
    h = hasher()
    stored = await h.hash("plum-orchard-velvet-42")
    assert (await h.verify_and_update(full_width("plum-orchard-velvet-42"), stored))[0] is True
    composed, decomposed = "caf\u00e9-orchard-42", "cafe\u0301-orchard-42"
    assert (await h.verify_and_update(decomposed, await h.hash(composed)))[0] is True


async def test_changed_parameters_give_an_upgraded_hash_on_a_correct_password() -> None:
    old, new = hasher(time_cost=1), hasher(time_cost=2)
    stored = await old.hash("plum-orchard-velvet-42")
    valid, upgraded = await new.verify_and_update("plum-orchard-velvet-42", stored)
    assert valid is True
    assert upgraded is not None
    assert upgraded.startswith("$argon2id$")
    assert upgraded.split("$")[3] == "m=256,t=2,p=1"
    assert await new.verify_and_update("plum-orchard-velvet-42", upgraded) == (True, None)
    assert await new.verify_and_update("wrong-orchard-velvet-42", stored) == (False, None)


async def test_dummy_verify_runs_a_real_verification(monkeypatch: pytest.MonkeyPatch) -> None:
    h = hasher()
    real_verify = h.verify_and_update
    checked: list[str] = []

    async def counting(password: str, password_hash: str) -> tuple[bool, str | None]:
        checked.append(password_hash)
        return await real_verify(password, password_hash)

    monkeypatch.setattr(h, "verify_and_update", counting)
    assert await h.dummy_verify("plum-orchard-velvet-42") is None
    assert len(checked) == 1
    assert checked[0].startswith("$argon2id$")
    assert checked[0].split("$")[3] == "m=256,t=1,p=1"


# Emails ------------------------------------------------------------------------------------------


def test_normalize_email_trims_and_folds_width() -> None:
    assert normalize_email("  \uff41\uff4c\uff49\uff43\uff45\uff20Example.org\t") == (
        "alice@Example.org"
    )


visible = st.text(st.characters(exclude_categories=("C", "Z")), min_size=1, max_size=8)


@given(visible, visible, visible, st.text(alphabet=WHITESPACE, max_size=2))
def test_stored_email_gives_the_key_that_the_typed_email_gives(
    local: str, label: str, tld: str, space: str
) -> None:
    # Registration keys the checked (normalised) email; sign-in keys whatever is typed.
    raw = f"{space}{local}@{label}.{tld}{space}"
    try:
        stored = check_email(raw)
    except ValueError:
        return
    assert check_email(stored) == stored
    assert email_key(stored) == email_key(raw)
    assert email_key(email_key(raw)) == email_key(raw)


@given(
    ascii_emails, st.text(alphabet=WHITESPACE, max_size=3), st.text(alphabet=WHITESPACE, max_size=3)
)
def test_key_ignores_case_surrounding_space_and_width(email: str, before: str, after: str) -> None:
    key = email_key(email)
    assert key == email.lower()
    assert email_key(email.upper()) == key
    assert email_key(before + email.swapcase() + after) == key
    assert email_key(full_width(email)) == key
    assert email_key(full_width(email.upper())) == key


@given(ascii_emails, st.data())
def test_key_keeps_cyrillic_look_alikes_apart(email: str, data: st.DataObject) -> None:
    positions = [i for i, ch in enumerate(email) if ch in CYRILLIC_LOOK_ALIKES]
    if not positions:
        return
    i = data.draw(st.sampled_from(positions))
    spoof = email[:i] + CYRILLIC_LOOK_ALIKES[email[i]] + email[i + 1 :]
    assert email_key(spoof) != email_key(email)
    assert email_key(spoof.upper()) == email_key(spoof)


@pytest.mark.parametrize(
    "local",
    ["\u03bf\u03b4\u03bf\u03c3", "\u03b1\u03c3.\u03b2\u03b9\u03bf\u03c3"],
    ids=["sigma-before-at", "sigma-before-dot"],
)
def test_key_ignores_case_of_greek_sigma(local: str) -> None:
    email = f"{local}@example.org"
    assert email_key(email.upper()) == email_key(email)


def test_sharp_s_is_not_folded_to_ss() -> None:
    assert email_key("stra\u00dfe@example.org") != email_key("strasse@example.org")


@given(ascii_emails)
def test_check_email_accepts_and_normalises_plain_addresses(email: str) -> None:
    assert check_email(f"  {full_width(email)} ") == email


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "alice",
        "@example.org",
        "alice@",
        "alice@example",
        "alice@@example.org",
        "a@b@example.org",
        "al ice@example.org",
        "alice@exa\u0000mple.org",
        "alice\u200b@example.org",
        "alice@example..org",
        "alice@-example.org",
        "alice@example-.org",
        "a" * 65 + "@example.org",
        "alice@" + "a" * 64 + ".org",
    ],
)
def test_check_email_refuses_what_is_not_an_address(raw: str) -> None:
    with pytest.raises(ValueError, match=r"\S"):
        check_email(raw)


def test_check_email_length_limit() -> None:
    local = "a" * 64
    domain = ".".join(["b" * 61] * 3) + ".org"
    assert len(f"{local}@{domain}") == 64 + 1 + 185 + 4 == MAX_EMAIL_LENGTH
    assert check_email(f"{local}@{domain}") == f"{local}@{domain}"
    with pytest.raises(ValueError, match="254"):
        check_email(f"{local}@b{domain}")
