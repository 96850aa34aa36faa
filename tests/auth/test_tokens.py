"""Access tokens: what a valid one holds, and every way a forged or altered one is refused.

Each refusal test starts from the claims of a real token (real `sub` and `sid` from a login),
re-signs them with the server's own key, and changes exactly one thing, so the check under test
is the only reason the token can be refused. `test_forged_copy_is_accepted` is the control that
shows an unchanged forgery passes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI

from confide.auth.tokens import derive_key
from tests.conftest import TEST_SECRET, client_for
from tests.factories import assert_problem, bearer, login, register, signed_up

HS_KEY = derive_key(TEST_SECRET, "jwt")
WRONG_KEY = derive_key("another-secret-key-that-is-long-enough-for-hs256-98765", "jwt")
REQUIRED = ["iss", "aud", "sub", "iat", "exp", "jti", "sid"]
ME = "/api/auth/me"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def raw_header(token: str) -> dict[str, Any]:
    """The JOSE header as sent, without PyJWT's own checks getting in the way."""
    header: dict[str, Any] = json.loads(unb64url(token.split(".")[0]))
    return header


def raw_claims(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = json.loads(unb64url(token.split(".")[1]))
    return claims


def forge(
    claims: dict[str, Any],
    *,
    key: Any = HS_KEY,
    algorithm: str = "HS256",
    headers: dict[str, Any] | None = None,
) -> str:
    return jwt.encode(
        claims, key, algorithm=algorithm, headers={"typ": "at+jwt", **(headers or {})}
    )


def hand_signed_hs256(claims: dict[str, Any], secret: bytes) -> str:
    """HS256 by hand, for keys PyJWT rightly refuses to use as an HMAC secret (a PEM key)."""
    header = b64url(json.dumps({"alg": "HS256", "typ": "at+jwt"}).encode())
    payload = b64url(json.dumps(claims).encode())
    signature = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64url(signature)}"


async def real_claims(client: httpx.AsyncClient) -> dict[str, Any]:
    """The claims of a freshly issued access token (its session is live)."""
    _, headers = await signed_up(client)
    return raw_claims(headers["Authorization"].removeprefix("Bearer "))


# What a valid token holds ---------------------------------------------------------------------


async def test_access_token_is_an_hs256_jwt_with_every_claim(client: httpx.AsyncClient) -> None:
    user = await register(client)
    tokens = await login(client, email=user["email"])
    token = tokens["access_token"]

    header = raw_header(token)
    assert header["alg"] == "HS256"
    assert header["typ"] == "at+jwt"
    claims = jwt.decode(
        token, HS_KEY, algorithms=["HS256"], audience="confide-api", issuer="confide"
    )
    assert set(REQUIRED) <= claims.keys()
    assert claims["exp"] - claims["iat"] == 900
    assert tokens["expires_in"] == 900
    assert claims["sub"] == user["id"]
    assert claims["sid"] == tokens["session_id"]
    assert abs(claims["iat"] - time.time()) < 300  # issued now, not at some fixed time


async def test_each_token_has_its_own_jti(client: httpx.AsyncClient) -> None:
    user = await register(client)
    first = await login(client, email=user["email"])
    second = await login(client, email=user["email"])
    assert raw_claims(first["access_token"])["jti"] != raw_claims(second["access_token"])["jti"]


async def test_forged_copy_is_accepted(client: httpx.AsyncClient) -> None:
    """Control: re-signing real claims with the real key passes, so the forgeries below are
    refused for the one thing each of them changes."""
    claims = await real_claims(client)
    response = await client.get(ME, headers=bearer(forge(claims)))
    assert response.status_code == 200, response.text
    assert response.json()["id"] == claims["sub"]


# Refusals -------------------------------------------------------------------------------------


async def test_alg_none_is_refused(client: httpx.AsyncClient) -> None:
    claims = await real_claims(client)
    token = jwt.encode(claims, None, algorithm="none", headers={"typ": "at+jwt"})
    assert raw_header(token)["alg"] == "none"
    assert_problem(await client.get(ME, headers=bearer(token)), 401, "invalid_token")


async def test_alg_none_with_a_stolen_signature_is_refused(client: httpx.AsyncClient) -> None:
    """Keeping a real signature but announcing `none` must not skip the check either."""
    _, headers = await signed_up(client)
    real = headers["Authorization"].removeprefix("Bearer ")
    _, payload, signature = real.split(".")
    header = b64url(json.dumps({"alg": "none", "typ": "at+jwt"}).encode())
    token = f"{header}.{payload}.{signature}"
    assert_problem(await client.get(ME, headers=bearer(token)), 401, "invalid_token")


async def test_wrong_key_is_refused(client: httpx.AsyncClient) -> None:
    claims = await real_claims(client)
    token = forge(claims, key=WRONG_KEY)
    assert_problem(await client.get(ME, headers=bearer(token)), 401, "invalid_token")


async def test_the_raw_secret_is_not_the_signing_key(client: httpx.AsyncClient) -> None:
    """Tokens are signed with a derived key, so the secret itself signs nothing."""
    claims = await real_claims(client)
    token = forge(claims, key=TEST_SECRET.encode())
    assert_problem(await client.get(ME, headers=bearer(token)), 401, "invalid_token")


async def test_expired_token_is_refused(client: httpx.AsyncClient) -> None:
    claims = await real_claims(client)
    now = int(time.time())
    token = forge({**claims, "iat": now - 1000, "exp": now - 100})
    assert_problem(await client.get(ME, headers=bearer(token)), 401, "token_expired")


async def test_wrong_audience_is_refused(client: httpx.AsyncClient) -> None:
    claims = await real_claims(client)
    token = forge({**claims, "aud": "some-other-api"})
    assert_problem(await client.get(ME, headers=bearer(token)), 401, "invalid_token")


async def test_wrong_issuer_is_refused(client: httpx.AsyncClient) -> None:
    claims = await real_claims(client)
    token = forge({**claims, "iss": "someone-else"})
    assert_problem(await client.get(ME, headers=bearer(token)), 401, "invalid_token")


@pytest.mark.parametrize("missing", REQUIRED)
async def test_token_missing_a_required_claim_is_refused(
    client: httpx.AsyncClient, missing: str
) -> None:
    claims = await real_claims(client)
    del claims[missing]
    token = forge(claims)
    assert_problem(await client.get(ME, headers=bearer(token)), 401, "invalid_token")


async def test_unknown_crit_header_is_refused(client: httpx.AsyncClient) -> None:
    claims = await real_claims(client)
    token = forge(claims, headers={"crit": ["x-confide-ext"], "x-confide-ext": True})
    assert raw_header(token)["crit"] == ["x-confide-ext"]
    assert_problem(await client.get(ME, headers=bearer(token)), 401, "invalid_token")


@pytest.mark.parametrize("typ", ["JWT", None], ids=["typ-JWT", "typ-absent"])
async def test_token_type_other_than_at_jwt_is_refused(
    client: httpx.AsyncClient, typ: str | None
) -> None:
    claims = await real_claims(client)
    token = forge(claims, headers={"typ": typ})
    assert raw_header(token).get("typ") == typ
    assert_problem(await client.get(ME, headers=bearer(token)), 401, "invalid_token")


@pytest.mark.parametrize("garbage", ["not-a-token", "a.b.c", "..", "eyJhbGciOiJIUzI1NiJ9.e30."])
async def test_garbage_token_is_refused(client: httpx.AsyncClient, garbage: str) -> None:
    assert_problem(await client.get(ME, headers=bearer(garbage)), 401, "invalid_token")


async def test_token_naming_another_users_session_is_refused(client: httpx.AsyncClient) -> None:
    """A validly signed token whose `sid` belongs to someone else does not act for `sub`."""
    mine = await real_claims(client)
    theirs = await real_claims(client)
    assert (await client.get(ME, headers=bearer(forge(theirs)))).status_code == 200  # cached
    token = forge({**mine, "sid": theirs["sid"]})
    response = await client.get(ME, headers=bearer(token))
    assert response.status_code == 401, response.text


async def test_basic_authorization_is_refused(client: httpx.AsyncClient) -> None:
    user = await register(client)
    credentials = base64.b64encode(f"{user['email']}:plum-orchard-velvet-42".encode()).decode()
    response = await client.get(ME, headers={"Authorization": f"Basic {credentials}"})
    assert_problem(response, 401, "invalid_token")


async def test_valid_token_under_another_scheme_is_refused(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    token = headers["Authorization"].removeprefix("Bearer ")
    response = await client.get(ME, headers={"Authorization": f"Token {token}"})
    assert_problem(response, 401, "invalid_token")


@pytest.mark.parametrize("name", ["access_token", "token"])
async def test_token_in_query_string_is_not_accepted(client: httpx.AsyncClient, name: str) -> None:
    _, headers = await signed_up(client)
    token = headers["Authorization"].removeprefix("Bearer ")
    response = await client.get(ME, params={name: token})
    assert_problem(response, 401, "not_authenticated")


# EdDSA ----------------------------------------------------------------------------------------


def write_ed25519_key(path: Path) -> Ed25519PrivateKey:
    key = Ed25519PrivateKey.generate()
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return key


@pytest.fixture
async def eddsa(app_factory: Callable[..., FastAPI], tmp_path: Path) -> Any:
    """An app signing with EdDSA, its client, and its key."""
    key_file = tmp_path / "jwt-ed25519.pem"
    key = write_ed25519_key(key_file)
    application = app_factory(jwt_algorithm="EdDSA", jwt_private_key_file=key_file)
    async with client_for(application) as c:
        yield c, key
    await application.state.database.dispose()


async def test_eddsa_tokens_are_signed_with_the_key_file(
    eddsa: tuple[httpx.AsyncClient, Ed25519PrivateKey],
) -> None:
    client, key = eddsa
    user = await register(client)
    tokens = await login(client, email=user["email"])
    token = tokens["access_token"]
    header = raw_header(token)
    assert header["alg"] == "EdDSA"
    assert header["typ"] == "at+jwt"
    claims = jwt.decode(
        token, key.public_key(), algorithms=["EdDSA"], audience="confide-api", issuer="confide"
    )
    assert claims["exp"] - claims["iat"] == 900
    assert claims["sub"] == user["id"]
    me = await client.get(ME, headers=bearer(token))
    assert me.status_code == 200, me.text


async def test_eddsa_server_refuses_hs256_tokens(
    eddsa: tuple[httpx.AsyncClient, Ed25519PrivateKey],
) -> None:
    """One algorithm family at a time: the derived HS256 key signs nothing on an EdDSA server."""
    client, key = eddsa
    claims = await real_claims(client)
    assert (
        await client.get(ME, headers=bearer(forge(claims, key=key, algorithm="EdDSA")))
    ).is_success
    token = forge(claims, key=HS_KEY, algorithm="HS256")
    assert_problem(await client.get(ME, headers=bearer(token)), 401, "invalid_token")


async def test_eddsa_server_refuses_public_key_used_as_hmac_secret(
    eddsa: tuple[httpx.AsyncClient, Ed25519PrivateKey],
) -> None:
    """The classic key-confusion forgery: HS256 keyed with the (public) verification key."""
    client, key = eddsa
    claims = await real_claims(client)
    public = key.public_key()
    for secret in (
        public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw),
    ):
        token = hand_signed_hs256(claims, secret)
        assert_problem(await client.get(ME, headers=bearer(token)), 401, "invalid_token")


async def test_eddsa_server_refuses_another_ed25519_key(
    eddsa: tuple[httpx.AsyncClient, Ed25519PrivateKey],
) -> None:
    client, _ = eddsa
    claims = await real_claims(client)
    token = forge(claims, key=Ed25519PrivateKey.generate(), algorithm="EdDSA")
    assert_problem(await client.get(ME, headers=bearer(token)), 401, "invalid_token")


async def test_unused_uuid_session_is_refused(client: httpx.AsyncClient) -> None:
    """A well-signed token for a session that never existed is refused."""
    claims = await real_claims(client)
    token = forge({**claims, "sid": str(uuid.uuid4())})
    response = await client.get(ME, headers=bearer(token))
    assert response.status_code == 401, response.text
