"""POST /api/auth/login: both body forms, the answers it gives, and what it never tells apart."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from confide.auth.models import User
from tests.auth.test_register import CYRILLIC_ALICE, LATIN_ALICE, serving, stored_user
from tests.factories import PASSWORD, assert_problem, bearer, login, register, unique_email

LOGIN = "/api/auth/login"
TOKEN_FIELDS = {"access_token", "refresh_token", "token_type", "expires_in", "session_id"}


def assert_tokens(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == TOKEN_FIELDS
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 900
    assert body["access_token"]
    assert body["refresh_token"]
    assert body["access_token"] != body["refresh_token"]
    uuid.UUID(body["session_id"])
    return body


async def whoami(client: httpx.AsyncClient, tokens: dict[str, Any]) -> str:
    response = await client.get("/api/auth/me", headers=bearer(tokens["access_token"]))
    assert response.status_code == 200, response.text
    user_id: str = response.json()["id"]
    return user_id


def argon2_parameters(password_hash: str) -> str:
    """'m=256,t=1,p=1' from '$argon2id$v=19$m=256,t=1,p=1$salt$digest'."""
    return password_hash.split("$")[3]


# Body forms --------------------------------------------------------------------------------------


async def test_json_login_answers_tokens(client: httpx.AsyncClient) -> None:
    user = await register(client)
    response = await client.post(LOGIN, json={"email": user["email"], "password": PASSWORD})
    tokens = assert_tokens(response)
    assert await whoami(client, tokens) == user["id"]


@pytest.mark.parametrize("grant_type", [None, "password"])
async def test_oauth2_password_form_answers_tokens(
    client: httpx.AsyncClient, grant_type: str | None
) -> None:
    user = await register(client)
    form = {"username": user["email"], "password": PASSWORD}
    if grant_type is not None:
        form["grant_type"] = grant_type
    tokens = assert_tokens(await client.post(LOGIN, data=form))
    assert await whoami(client, tokens) == user["id"]


async def test_other_grant_types_are_refused(client: httpx.AsyncClient) -> None:
    user = await register(client)
    response = await client.post(
        LOGIN,
        data={"grant_type": "client_credentials", "username": user["email"], "password": PASSWORD},
    )
    assert_problem(response, 422, "validation_error")
    assert PASSWORD not in response.text


async def test_each_login_is_a_new_session(client: httpx.AsyncClient) -> None:
    user = await register(client)
    first = await login(client, email=user["email"])
    second = await login(client, email=user["email"])
    assert first["session_id"] != second["session_id"]
    assert first["refresh_token"] != second["refresh_token"]


@pytest.mark.parametrize(
    "typed",
    [
        "marigold@example.org",
        "  Marigold@EXAMPLE.org\t",
        "MARIGOLD@EXAMPLE.ORG",
        "\uff4d\uff41\uff52\uff49\uff47\uff4f\uff4c\uff44@example.org",  # full-width
        "\uff2d\uff21\uff32\uff29\uff27\uff2f\uff2c\uff24\uff20\uff25\uff38\uff21\uff2d\uff30"
        "\uff2c\uff25\uff0e\uff2f\uff32\uff27",  # full-width upper case, '@' and '.' too
    ],
    ids=["same", "spaces-and-case", "upper", "full-width", "full-width-upper"],
)
async def test_email_matches_whatever_its_case_spaces_or_width(
    client: httpx.AsyncClient, typed: str
) -> None:
    user = await register(client, email="Marigold@example.org")
    tokens = assert_tokens(await client.post(LOGIN, json={"email": typed, "password": PASSWORD}))
    assert await whoami(client, tokens) == user["id"]
    form = {"username": typed, "password": PASSWORD}
    assert await whoami(client, assert_tokens(await client.post(LOGIN, data=form))) == user["id"]


# Wrong credentials -------------------------------------------------------------------------------


def comparable(response: httpx.Response) -> dict[str, Any]:
    body = assert_problem(response, 401, "invalid_credentials")
    return {key: value for key, value in body.items() if key not in ("request_id", "instance")}


@pytest.mark.parametrize("form", [False, True], ids=["json", "form"])
async def test_unknown_email_and_wrong_password_look_the_same(
    client: httpx.AsyncClient, form: bool
) -> None:
    user = await register(client)

    async def attempt(email: str, password: str) -> httpx.Response:
        if form:
            return await client.post(LOGIN, data={"username": email, "password": password})
        return await client.post(LOGIN, json={"email": email, "password": password})

    wrong_password = await attempt(user["email"], "not-the-" + PASSWORD)
    unknown_email = await attempt(unique_email("nobody"), PASSWORD)
    assert comparable(wrong_password) == comparable(unknown_email)
    assert wrong_password.headers.get("www-authenticate") == unknown_email.headers.get(
        "www-authenticate"
    )
    assert PASSWORD not in wrong_password.text + unknown_email.text


async def test_unknown_email_runs_a_real_argon2_verification(
    client: httpx.AsyncClient, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = await register(client)
    hasher = app.state.auth.hasher
    real_verify = hasher.verify_and_update
    checked: list[str] = []

    async def counting(password: str, password_hash: str) -> tuple[bool, str | None]:
        checked.append(password_hash)
        return await real_verify(password, password_hash)  # type: ignore[no-any-return]

    monkeypatch.setattr(hasher, "verify_and_update", counting)

    response = await client.post(
        LOGIN, json={"email": user["email"], "password": "wrong-" + PASSWORD}
    )
    assert_problem(response, 401, "invalid_credentials")
    assert len(checked) == 1
    (user_hash,) = checked

    checked.clear()
    response = await client.post(
        LOGIN, json={"email": unique_email("nobody"), "password": PASSWORD}
    )
    assert_problem(response, 401, "invalid_credentials")
    assert len(checked) == 1
    (dummy_hash,) = checked
    # The stand-in costs what a real account's check costs.
    assert dummy_hash.startswith("$argon2id$")
    assert argon2_parameters(dummy_hash) == argon2_parameters(user_hash)


async def test_password_is_never_truncated(client: httpx.AsyncClient) -> None:
    password = ("plum-orchard-velvet-42-" * 4)[:80]
    assert len(password.encode()) == 80
    user = await register(client, password=password)
    for other in (password[:72], password[:72] + "x" * 8, password[:79] + "!", password + "?"):
        assert len(other.encode()) >= 72
        response = await client.post(LOGIN, json={"email": user["email"], "password": other})
        assert_problem(response, 401, "invalid_credentials")
    await login(client, email=user["email"], password=password)


async def test_confusable_email_never_reaches_the_look_alike_account(
    client: httpx.AsyncClient,
) -> None:
    latin_password, cyrillic_password = PASSWORD, "other-" + PASSWORD
    latin = await register(client, email=LATIN_ALICE, password=latin_password)
    # Before the look-alike account exists, its email with the real account's password fails.
    response = await client.post(LOGIN, json={"email": CYRILLIC_ALICE, "password": latin_password})
    assert_problem(response, 401, "invalid_credentials")

    cyrillic = await register(client, email=CYRILLIC_ALICE, password=cyrillic_password)
    for email, password in ((LATIN_ALICE, cyrillic_password), (CYRILLIC_ALICE, latin_password)):
        response = await client.post(LOGIN, json={"email": email, "password": password})
        assert_problem(response, 401, "invalid_credentials")
    latin_tokens = await login(client, email=LATIN_ALICE, password=latin_password)
    cyrillic_tokens = await login(client, email=CYRILLIC_ALICE, password=cyrillic_password)
    assert await whoami(client, latin_tokens) == latin["id"]
    assert await whoami(client, cyrillic_tokens) == cyrillic["id"]


async def test_disabled_account_is_403_with_the_right_password_only(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    user = await register(client)
    async with app.state.database.sessionmaker() as db, db.begin():
        await db.execute(
            update(User).where(User.id == uuid.UUID(user["id"])).values(status="disabled")
        )
    response = await client.post(LOGIN, json={"email": user["email"], "password": PASSWORD})
    assert_problem(response, 403, "account_disabled")
    response = await client.post(LOGIN, data={"username": user["email"], "password": PASSWORD})
    assert_problem(response, 403, "account_disabled")
    # Without the password, a disabled account looks like any other failed sign-in.
    response = await client.post(LOGIN, json={"email": user["email"], "password": "x" + PASSWORD})
    assert_problem(response, 401, "invalid_credentials")


# Malformed requests ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"email": "a@example.org", "password": PASSWORD, "is_admin": True},
        {"email": "a@example.org", "password": [PASSWORD]},
        {"email": 12345, "password": PASSWORD},
        {"email": "a@example.org"},
        {"password": PASSWORD},
        [PASSWORD],
    ],
    ids=["extra-field", "password-list", "email-number", "no-password", "no-email", "array"],
)
async def test_malformed_json_fields_are_422_and_never_echo_the_password(
    client: httpx.AsyncClient, body: Any
) -> None:
    response = await client.post(LOGIN, json=body)
    assert_problem(response, 422, "validation_error")
    assert PASSWORD not in response.text


async def test_form_without_username_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post(LOGIN, data={"password": PASSWORD})
    assert_problem(response, 422, "validation_error")
    assert PASSWORD not in response.text


@pytest.mark.parametrize(
    "content",
    [
        b'{"email": "a@example.org", "password": "' + PASSWORD.encode(),
        b'{"email": "a@example.org", "password": "' + PASSWORD.encode() + b'\xff"}',
        b"not json " + PASSWORD.encode(),
    ],
    ids=["truncated", "not-utf8", "text"],
)
async def test_malformed_json_is_400(client: httpx.AsyncClient, content: bytes) -> None:
    response = await client.post(
        LOGIN, content=content, headers={"content-type": "application/json"}
    )
    assert_problem(response, 400, "malformed_json")
    assert PASSWORD not in response.text


# Hash upgrades -----------------------------------------------------------------------------------


async def test_login_upgrades_the_hash_when_argon2_parameters_change(
    client: httpx.AsyncClient, app: FastAPI, app_factory: Callable[..., FastAPI]
) -> None:
    user = await register(client)
    original = (await stored_user(app, user["id"])).password_hash
    assert original.startswith("$argon2id$")
    assert "t=1" in argon2_parameters(original).split(",")

    # Same parameters: a login leaves the stored hash alone.
    await login(client, email=user["email"])
    assert (await stored_user(app, user["id"])).password_hash == original

    async with serving(app_factory, argon2_time_cost=2) as upgraded:
        await login(upgraded, email=user["email"])
        rehashed = (await stored_user(app, user["id"])).password_hash
        assert rehashed.startswith("$argon2id$")
        assert "t=2" in argon2_parameters(rehashed).split(",")
        # The new hash still holds the same password, for both apps.
        await login(upgraded, email=user["email"])
    await login(client, email=user["email"])


async def test_failed_login_does_not_upgrade_the_hash(
    client: httpx.AsyncClient, app: FastAPI, app_factory: Callable[..., FastAPI]
) -> None:
    user = await register(client)
    original = (await stored_user(app, user["id"])).password_hash
    async with serving(app_factory, argon2_time_cost=2) as upgraded:
        response = await upgraded.post(
            LOGIN, json={"email": user["email"], "password": "wrong-" + PASSWORD}
        )
        assert_problem(response, 401, "invalid_credentials")
    assert (await stored_user(app, user["id"])).password_hash == original
