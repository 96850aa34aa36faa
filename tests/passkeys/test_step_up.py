"""Step-up with a passkey: POST /api/auth/passkeys/reauth/options and /verify re-authenticate
the session as POST /api/auth/reauth does, with one of the caller's own passkeys."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from tests.factories import assert_problem, bearer, signed_up
from tests.passkeys.authenticator import Authenticator, unb64url
from tests.passkeys.helpers import age_sessions, register_passkey, sign_in_options, verify

OPTIONS = "/api/auth/passkeys/reauth/options"
VERIFY = "/api/auth/passkeys/reauth/verify"
GUARDED = "/api/auth/passkeys/register/options"  # needs a recent sign-in


async def _options(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    response = await client.post(OPTIONS, headers=headers)
    assert response.status_code == 200, response.text
    options: dict[str, Any] = response.json()
    return options


async def _verify(
    client: httpx.AsyncClient, headers: dict[str, str], credential: dict[str, Any]
) -> httpx.Response:
    return await client.post(VERIFY, json={"credential": credential}, headers=headers)


async def _answer(
    client: httpx.AsyncClient, headers: dict[str, str], authenticator: Authenticator
) -> httpx.Response:
    """Ask for a challenge and answer it with `authenticator`."""
    return await _verify(client, headers, authenticator.get(await _options(client, headers)))


async def _stale_with_passkey(
    app: FastAPI, client: httpx.AsyncClient, *, minutes: int = 11
) -> tuple[dict[str, str], Authenticator]:
    """A new account with a passkey, its session signed in `minutes` ago (past the step-up
    window by default): (headers, the passkey's authenticator)."""
    _, headers = await signed_up(client)
    authenticator, _ = await register_passkey(client, headers)
    await age_sessions(app, minutes=minutes)
    return headers, authenticator


async def test_a_passkey_re_authenticates_the_session(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, headers = await signed_up(client)
    authenticator, created = await register_passkey(client, headers)
    await age_sessions(app)
    assert_problem(await client.post(GUARDED, headers=headers), 401, "reauth_required")

    options = await _options(client, headers)
    assert [unb64url(c["id"]) for c in options["allowCredentials"]] == [authenticator.credential_id]
    assert options["userVerification"] == "required"
    ok = await _verify(client, headers, authenticator.get(options))
    assert ok.status_code == 200, ok.text
    assert ok.json() == {"method": "passkey", "valid_for": 600}
    assert (await client.post(GUARDED, headers=headers)).status_code == 200

    events = (await client.get("/api/auth/events", headers=headers)).json()["items"]
    reauth = next(e for e in events if e["action"] == "auth.reauthenticated")
    assert reauth["outcome"] == "success"
    assert reauth["detail"] == {"method": "passkey", "passkey_id": created["id"]}
    listed = (await client.get("/api/auth/passkeys", headers=headers)).json()["items"]
    assert listed[0]["last_used_at"] is not None


async def test_the_challenge_is_single_use(app: FastAPI, client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    authenticator, _ = await register_passkey(client, headers)
    options = await _options(client, headers)
    assert (await _verify(client, headers, authenticator.get(options))).status_code == 200
    await age_sessions(app)
    replayed = await _verify(client, headers, authenticator.get(options))
    assert_problem(replayed, 400, "passkey_challenge_invalid")
    assert_problem(await client.post(GUARDED, headers=headers), 401, "reauth_required")


async def test_the_challenge_is_bound_to_its_session(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, first = await signed_up(client)
    authenticator, _ = await register_passkey(client, first)
    signed_in = await verify(client, authenticator.get(await sign_in_options(client)))
    second = bearer(signed_in.json()["access_token"])
    await age_sessions(app)
    options = await _options(client, first)
    elsewhere = await _verify(client, second, authenticator.get(options))
    assert_problem(elsewhere, 400, "passkey_challenge_invalid")
    for headers in (first, second):
        assert_problem(await client.post(GUARDED, headers=headers), 401, "reauth_required")


async def test_another_users_passkey_is_refused_like_a_bad_answer(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, theirs = await signed_up(client)
    their_authenticator, _ = await register_passkey(client, theirs)
    mine, authenticator = await _stale_with_passkey(app, client)

    other = await _answer(client, mine, their_authenticator)
    other_body = assert_problem(other, 401, "passkey_refused")
    # A forged answer: the right credential id, signed by another key.
    forged = Authenticator(credential_id=authenticator.credential_id)
    forged.user_handle = authenticator.user_handle
    bad = await _answer(client, mine, forged)
    bad_body = assert_problem(bad, 401, "passkey_refused")
    assert {k: other_body[k] for k in ("title", "detail")} == {
        k: bad_body[k] for k in ("title", "detail")
    }
    assert_problem(await client.post(GUARDED, headers=mine), 401, "reauth_required")
    events = (await client.get("/api/auth/events", headers=mine)).json()["items"]
    refusals = [e["detail"] for e in events if e["action"] == "auth.reauthenticated"]
    assert refusals == [
        {"method": "passkey", "reason": "passkey_refused"},
        {"method": "passkey", "reason": "unknown_passkey"},
    ]


async def test_the_user_must_be_verified(app: FastAPI, client: httpx.AsyncClient) -> None:
    headers, authenticator = await _stale_with_passkey(app, client)
    authenticator.user_verified = False
    refused = await _answer(client, headers, authenticator)
    assert_problem(refused, 401, "passkey_refused")
    assert_problem(await client.post(GUARDED, headers=headers), 401, "reauth_required")


async def test_without_a_passkey_there_is_nothing_to_use(client: httpx.AsyncClient) -> None:
    _, headers = await signed_up(client)
    assert_problem(await client.post(OPTIONS, headers=headers), 409, "no_passkey")


async def test_a_stale_session_may_step_up(app: FastAPI, client: httpx.AsyncClient) -> None:
    """The step-up routes themselves need no recent sign-in (they are how one gets it)."""
    headers, authenticator = await _stale_with_passkey(app, client, minutes=60)
    ok = await _answer(client, headers, authenticator)
    assert ok.status_code == 200, ok.text


async def test_signed_out_is_refused(client: httpx.AsyncClient) -> None:
    assert_problem(await client.post(OPTIONS), 401, "not_authenticated")


async def test_a_wrong_user_handle_a_backward_counter_and_junk_are_refused(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    headers, authenticator = await _stale_with_passkey(app, client)
    own_handle = authenticator.user_handle
    authenticator.user_handle = b"someone else"
    mismatch = await _answer(client, headers, authenticator)
    assert_problem(mismatch, 401, "passkey_refused")
    authenticator.user_handle = own_handle
    copied = authenticator.get(await _options(client, headers), sign_count=1)  # registered at 1
    assert_problem(await _verify(client, headers, copied), 401, "passkey_cloned")
    junk = await _verify(client, headers, {"id": "x"})
    assert_problem(junk, 401, "passkey_refused")
    assert_problem(await client.post(GUARDED, headers=headers), 401, "reauth_required")
    events = (await client.get("/api/auth/events", headers=headers)).json()["items"]
    reasons = [e["detail"]["reason"] for e in events if e["action"] == "auth.reauthenticated"]
    assert reasons == ["passkey_cloned", "user_handle_mismatch"]
