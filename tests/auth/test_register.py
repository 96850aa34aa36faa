"""POST /api/auth/register: the account it makes, the emails it refuses, the passwords it takes."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from confide.auth.models import User
from tests.conftest import client_for
from tests.factories import PASSWORD, assert_problem, login, register, unique_email

REGISTER = "/api/auth/register"
USER_FIELDS = {
    "id", "email", "display_name", "is_admin", "created_at", "status", "roles", "permissions",
    "email_verified",
}  # fmt: skip
LATIN_ALICE = "alice@example.org"
CYRILLIC_ALICE = "\u0430lice@example.org"  # U+0430 CYRILLIC SMALL LETTER A looks like 'a'


@asynccontextmanager
async def serving(
    app_factory: Callable[..., FastAPI], **overrides: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """A client for an app with other settings, on the same database as the test's `app`."""
    application = app_factory(**overrides)
    try:
        async with client_for(application) as c:
            yield c
    finally:
        await application.state.database.dispose()


async def user_count(app: FastAPI) -> int:
    async with app.state.database.sessionmaker() as db:
        return (await db.execute(select(func.count()).select_from(User))).scalar_one()


async def stored_user(app: FastAPI, user_id: str) -> User:
    async with app.state.database.sessionmaker() as db:
        user = await db.get(User, uuid.UUID(user_id))
    assert user is not None
    return user


# The account -------------------------------------------------------------------------------------


async def test_register_answers_201_with_the_user_and_no_secret(client: httpx.AsyncClient) -> None:
    email = unique_email()
    response = await client.post(
        REGISTER, json={"email": email, "password": PASSWORD, "display_name": "  Alice  "}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == USER_FIELDS
    assert body["email"] == email
    assert body["display_name"] == "Alice"
    assert body["is_admin"] is False
    uuid.UUID(body["id"])
    assert PASSWORD not in response.text
    assert "argon2" not in response.text
    assert "hash" not in response.text


async def test_display_name_is_optional(client: httpx.AsyncClient) -> None:
    user = await register(client)
    assert user["display_name"] is None


async def test_stored_hash_is_argon2id(client: httpx.AsyncClient, app: FastAPI) -> None:
    user = await register(client)
    stored = await stored_user(app, user["id"])
    assert stored.password_hash.startswith("$argon2id$")
    assert PASSWORD not in stored.password_hash


# Emails ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Alice@X.org ", "alice@x.org"),
        ("alice@x.org", "  ALICE@X.ORG"),
        ("\uff41\uff4c\uff49\uff43\uff45@example.org", "alice@example.org"),  # full-width
        ("alice@example.org", "\uff21\uff2c\uff29\uff23\uff25\uff20\uff45xample.org"),
    ],
    ids=["case-and-space", "upper", "full-width-first", "full-width-second"],
)
async def test_one_account_per_email_whatever_its_case_spaces_or_width(
    client: httpx.AsyncClient, app: FastAPI, first: str, second: str
) -> None:
    await register(client, email=first)
    response = await client.post(REGISTER, json={"email": second, "password": PASSWORD})
    assert_problem(response, 409, "email_unavailable")
    assert await user_count(app) == 1


async def test_email_is_stored_trimmed_and_nfkc_normalised(client: httpx.AsyncClient) -> None:
    user = await register(client, email="  \uff41\uff4c\uff49\uff43\uff45@Example.org ")
    assert user["email"] == "alice@Example.org"
    tokens = await login(client, email="ALICE@example.org")
    assert tokens["token_type"] == "bearer"


async def test_confusable_look_alikes_are_distinct_accounts(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    latin = await register(client, email=LATIN_ALICE)
    cyrillic = await register(client, email=CYRILLIC_ALICE, password="other-" + PASSWORD)
    assert latin["id"] != cyrillic["id"]
    assert cyrillic["email"] == CYRILLIC_ALICE
    assert await user_count(app) == 2


async def test_greek_email_is_one_account_whatever_its_case(client: httpx.AsyncClient) -> None:
    lower, upper = "\u03bf\u03b4\u03bf\u03c3@example.org", "\u039f\u0394\u039f\u03a3@example.org"
    assert lower.split("@")[0].upper() == upper.split("@")[0]
    await register(client, email=lower)
    await login(client, email=upper)
    response = await client.post(REGISTER, json={"email": upper, "password": PASSWORD})
    assert_problem(response, 409, "email_unavailable")


# Password rules (NIST SP 800-63B) ----------------------------------------------------------------


def weak(response: httpx.Response, reason: str, password: str) -> None:
    body = assert_problem(response, 422, "weak_password")
    assert body["reason"] == reason
    assert password not in response.text


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("tulip-marbl", "too_short"),  # 11 characters
        ("x", "too_short"),
        (("plum-orchard-velvet-42 " * 6)[:129], "too_long"),
        ("plum-orchard-velvet-42 " * 40, "too_long"),
        ("password1234", "too_common"),
        ("qwertyuiopasdfgh", "too_common"),
        ("PassWord1234", "too_common"),
        ("QWERTYUIOPasdfgh", "too_common"),
        ("\uff50\uff41\uff53\uff53\uff57\uff4f\uff52\uff44\uff11\uff12\uff13\uff14", "too_common"),
        ("zzzzzzzzzzzzzzzz", "too_predictable"),
        ("ghijklmnopqrstuv", "too_predictable"),
        ("My-Marigold-Garden-24", "contains_email"),
        ("xxMARIGOLDxxyyzz", "contains_email"),
    ],
)
async def test_weak_password_is_refused_with_its_reason_and_creates_nothing(
    client: httpx.AsyncClient, app: FastAPI, password: str, reason: str
) -> None:
    email = "marigold@example.org"
    response = await client.post(REGISTER, json={"email": email, "password": password})
    weak(response, reason, password)
    assert await user_count(app) == 0
    # Nothing was kept: the same email registers at once with a good password.
    await register(client, email=email)


async def test_password_length_bounds_are_inclusive(client: httpx.AsyncClient) -> None:
    shortest = "tulip-marble"
    longest = ("plum-orchard-velvet-42 " * 6)[:128]
    assert (len(shortest), len(longest)) == (12, 128)
    assert len(("plum-orchard-velvet-42 " * 6)[:129]) == 129  # the too_long case above
    await register(client, password=shortest)
    await register(client, password=longest)


async def test_long_all_lowercase_passphrase_needs_no_digits_or_symbols(
    client: httpx.AsyncClient,
) -> None:
    await register(client, password="lanterns drift over quiet harbours")
    await register(client, password="lanternsdriftoverquietharbours")


async def test_minimum_length_is_a_setting(
    client: httpx.AsyncClient, app_factory: Callable[..., FastAPI]
) -> None:
    fifteen = "tulip-marble-ga"
    sixteen = "tulip-marble-gaz"
    await register(client, password=fifteen)  # the default (12) takes 15 characters
    async with serving(app_factory, password_min_length=16) as strict:
        response = await strict.post(REGISTER, json={"email": unique_email(), "password": fifteen})
        weak(response, "too_short", fifteen)
        await register(strict, password=sixteen)


async def test_short_local_part_does_not_forbid_passwords(client: httpx.AsyncClient) -> None:
    # "or" is in PASSWORD; refusing every password holding a two-letter local part guards nothing.
    await register(client, email="or@example.org")


# Fields the client may not set ------------------------------------------------------------------


@pytest.mark.parametrize(
    "extra",
    [{"is_admin": True}, {"id": str(uuid.uuid4())}, {"role": "admin"}],
    ids=["is_admin", "id", "role"],
)
async def test_unknown_fields_are_refused_and_create_nothing(
    client: httpx.AsyncClient, app: FastAPI, extra: dict[str, Any]
) -> None:
    email = unique_email()
    response = await client.post(REGISTER, json={"email": email, "password": PASSWORD, **extra})
    body = assert_problem(response, 422, "validation_error")
    (field,) = extra
    assert ["body", field] in [error["loc"] for error in body["errors"]]
    assert PASSWORD not in response.text
    assert await user_count(app) == 0
    user = await register(client, email=email)
    assert user["is_admin"] is False
    assert user["roles"] == ["user"]
    assert (await stored_user(app, user["id"])).status == "active"
    if "id" in extra:
        assert user["id"] != extra["id"]


@pytest.mark.parametrize(
    "body",
    [
        {"email": 12345, "password": PASSWORD},
        {"email": unique_email(), "password": [PASSWORD]},
        {"email": unique_email(), "password": {"value": PASSWORD}},
        {"email": unique_email(), "password": 123456789012345},
        {"email": unique_email()},
        {"password": PASSWORD},
        {"email": "not-an-email", "password": PASSWORD},
        {"email": unique_email(), "password": PASSWORD, "display_name": "   "},
        {"email": unique_email(), "password": PASSWORD, "display_name": 7},
        [unique_email(), PASSWORD],
        PASSWORD,
    ],
    ids=[
        "email-number",
        "password-list",
        "password-object",
        "password-number",
        "no-password",
        "no-email",
        "bad-email",
        "blank-name",
        "name-number",
        "array-body",
        "string-body",
    ],
)
async def test_malformed_fields_are_422_and_never_echo_the_password(
    client: httpx.AsyncClient, app: FastAPI, body: Any
) -> None:
    response = await client.post(REGISTER, json=body)
    problem = assert_problem(response, 422, "validation_error")
    assert problem["errors"]
    assert PASSWORD not in response.text
    assert "123456789012345" not in response.text
    assert await user_count(app) == 0


async def test_missing_body_is_422(client: httpx.AsyncClient) -> None:
    assert_problem(await client.post(REGISTER), 422, "validation_error")


@pytest.mark.parametrize(
    "content",
    [
        '{"email": "a@example.org", "password": "' + PASSWORD + '"',
        "{'email': 'a@example.org', 'password': '" + PASSWORD + "'}",
        "not json " + PASSWORD,
    ],
    ids=["truncated", "single-quotes", "text"],
)
async def test_malformed_json_is_400_and_never_echoes_it(
    client: httpx.AsyncClient, app: FastAPI, content: str
) -> None:
    response = await client.post(
        REGISTER, content=content, headers={"content-type": "application/json"}
    )
    assert_problem(response, 400, "malformed_json")
    assert PASSWORD not in response.text
    assert await user_count(app) == 0


async def test_json_that_is_not_utf8_is_malformed_json(client: httpx.AsyncClient) -> None:
    content = b'{"email": "a@example.org", "password": "' + PASSWORD.encode() + b'\xff"}'
    response = await client.post(
        REGISTER, content=content, headers={"content-type": "application/json"}
    )
    assert_problem(response, 400, "malformed_json")


# Settings ----------------------------------------------------------------------------------------


async def test_registration_closed_is_403_and_creates_nothing(
    client: httpx.AsyncClient, app: FastAPI, app_factory: Callable[..., FastAPI]
) -> None:
    email = unique_email()
    async with serving(app_factory, registration_open=False) as closed:
        response = await closed.post(REGISTER, json={"email": email, "password": PASSWORD})
        assert_problem(response, 403, "registration_closed")
    assert await user_count(app) == 0
    await register(client, email=email)
