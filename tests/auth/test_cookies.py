"""Browser mode: HttpOnly cookies, double-submit CSRF bound to the session, same-origin checks.

Requests here carry an explicit `Cookie` header built from the login's Set-Cookie headers (the
client's jar is emptied after each login), so every test says exactly which cookies it sends.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import client_for
from tests.factories import PASSWORD, assert_problem, bearer, login, register

ME = "/api/auth/me"
NEW_PASSWORD = "lantern-quarry-mosaic-97"
DEV_NAMES = ("confide_at", "confide_rt", "confide_csrf")
SECURE_NAMES = ("__Host-confide_at", "__Secure-confide_rt", "__Host-confide_csrf")


@dataclass
class SetCookie:
    name: str
    value: str
    attrs: dict[str, str] = field(default_factory=dict)  # lower-cased attribute names

    @property
    def flags(self) -> set[str]:
        return set(self.attrs)


def parse_set_cookie(header: str) -> SetCookie:
    first, *rest = [part.strip() for part in header.split(";")]
    name, _, value = first.partition("=")
    cookie = SetCookie(name, value)
    for attribute in rest:
        key, _, attr_value = attribute.partition("=")
        cookie.attrs[key.lower()] = attr_value
    return cookie


def set_cookies(response: httpx.Response) -> dict[str, SetCookie]:
    parsed = [parse_set_cookie(h) for h in response.headers.get_list("set-cookie")]
    by_name = {c.name: c for c in parsed}
    assert len(by_name) == len(parsed), "a cookie was set twice"
    return by_name


@dataclass
class CookieSession:
    session_id: str
    csrf: str
    cookies: dict[str, str]  # what a browser would now hold: name -> value
    response: httpx.Response

    def cookie_header(self, **replace: str) -> dict[str, str]:
        jar = {**self.cookies, **replace}
        return {"Cookie": "; ".join(f"{name}={value}" for name, value in jar.items())}

    def headers(self, *, csrf: str | None = None) -> dict[str, str]:
        """Cookies plus the CSRF header (this session's token unless told otherwise)."""
        return {**self.cookie_header(), "X-CSRF-Token": csrf or self.csrf}


async def cookie_login(
    client: httpx.AsyncClient,
    *,
    email: str,
    password: str = PASSWORD,
    via: str = "query",
    headers: dict[str, str] | None = None,
) -> CookieSession:
    if via == "query":
        response = await client.post(
            "/api/auth/login",
            params={"mode": "cookie"},
            json={"email": email, "password": password},
            headers=headers,
        )
    else:
        response = await client.post(
            "/api/auth/login",
            json={"email": email, "password": password, "mode": "cookie"},
            headers=headers,
        )
    assert response.status_code == 200, response.text
    client.cookies.clear()
    body = response.json()
    cookies = {c.name: c.value for c in set_cookies(response).values()}
    return CookieSession(body["session_id"], body["csrf_token"], cookies, response)


async def browser_user(client: httpx.AsyncClient) -> tuple[str, CookieSession]:
    user = await register(client)
    return user["email"], await cookie_login(client, email=user["email"])


# Cookie attributes ----------------------------------------------------------------------------


@pytest.mark.parametrize("via", ["query", "json"])
async def test_cookie_login_sets_three_cookies_and_no_tokens_in_body(
    client: httpx.AsyncClient, via: str
) -> None:
    user = await register(client)
    session = await cookie_login(client, email=user["email"], via=via)
    cookies = set_cookies(session.response)
    assert set(cookies) == set(DEV_NAMES)
    access, refresh, csrf = (cookies[name] for name in DEV_NAMES)

    for cookie in (access, refresh, csrf):
        assert cookie.attrs.get("samesite", "").lower() == "lax", cookie
        assert "secure" not in cookie.flags, cookie  # dev settings: plain http works
        assert "domain" not in cookie.flags, cookie
    assert "httponly" in access.flags
    assert access.attrs["path"] == "/"
    assert access.attrs["max-age"] == "900"
    assert "httponly" in refresh.flags
    assert refresh.attrs["path"] == "/api/auth/refresh"
    assert "httponly" not in csrf.flags  # the page's script must read it
    assert csrf.attrs["path"] == "/"

    body = session.response.json()
    assert "access_token" not in body
    assert "refresh_token" not in body
    assert body["token_type"] == "cookie"
    assert body["csrf_token"] == csrf.value
    assert access.value not in session.response.text
    assert refresh.value not in session.response.text


async def test_secure_cookies_use_host_and_secure_prefixes(
    app_factory: Callable[..., FastAPI],
) -> None:
    application = app_factory(cookie_secure=True)
    try:
        async with client_for(application) as client:
            user = await register(client)
            session = await cookie_login(client, email=user["email"])
            cookies = set_cookies(session.response)
            assert set(cookies) == set(SECURE_NAMES)
            access, refresh, csrf = (cookies[name] for name in SECURE_NAMES)
            for cookie in (access, refresh, csrf):
                assert "secure" in cookie.flags, cookie
                assert "domain" not in cookie.flags, cookie
                assert cookie.attrs.get("samesite", "").lower() == "lax", cookie
            # __Host- requires Secure, Path=/ and no Domain.
            assert access.attrs["path"] == "/"
            assert "httponly" in access.flags
            assert csrf.attrs["path"] == "/"
            assert "httponly" not in csrf.flags
            assert refresh.attrs["path"] == "/api/auth/refresh"
            assert "httponly" in refresh.flags

            # The server reads the prefixed names, and only those.
            me = await client.get(ME, headers=session.cookie_header())
            assert me.status_code == 200, me.text
            plain = {"Cookie": f"confide_at={access.value}"}
            assert_problem(await client.get(ME, headers=plain), 401, "not_authenticated")
            logout = await client.post("/api/auth/logout", headers=session.headers())
            assert logout.status_code == 204, logout.text
    finally:
        await application.state.database.dispose()


async def test_me_works_with_the_cookie_alone(client: httpx.AsyncClient) -> None:
    user = await register(client)
    response = await client.post(
        "/api/auth/login",
        params={"mode": "cookie"},
        json={"email": user["email"], "password": PASSWORD},
    )
    assert response.status_code == 200, response.text
    me = await client.get(ME)  # the client's own cookie jar, as a browser would
    assert me.status_code == 200, me.text
    assert me.json()["id"] == user["id"]
    assert "authorization" not in me.request.headers


async def test_cookie_logout_ends_the_session_and_clears_cookies(
    client: httpx.AsyncClient,
) -> None:
    _, session = await browser_user(client)
    assert (await client.get(ME, headers=session.cookie_header())).status_code == 200
    response = await client.post("/api/auth/logout", headers=session.headers())
    assert response.status_code == 204, response.text
    cleared = set_cookies(response)
    assert set(cleared) == set(DEV_NAMES)
    assert all(c.value in ("", '""') and c.attrs.get("max-age") == "0" for c in cleared.values())
    assert_problem(await client.get(ME, headers=session.cookie_header()), 401, "session_expired")


# CSRF on every state-changing cookie request --------------------------------------------------

Action = Callable[[httpx.AsyncClient, CookieSession, dict[str, str]], Awaitable[httpx.Response]]


async def _logout(client: httpx.AsyncClient, s: CookieSession, h: dict[str, str]) -> httpx.Response:
    return await client.post("/api/auth/logout", headers=h)


async def _password(
    client: httpx.AsyncClient, s: CookieSession, h: dict[str, str]
) -> httpx.Response:
    body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    return await client.post("/api/auth/password", json=body, headers=h)


async def _end_session(
    client: httpx.AsyncClient, s: CookieSession, h: dict[str, str]
) -> httpx.Response:
    return await client.delete(f"/api/auth/sessions/{s.session_id}", headers=h)


async def _refresh(
    client: httpx.AsyncClient, s: CookieSession, h: dict[str, str]
) -> httpx.Response:
    return await client.post("/api/auth/refresh", headers=h)


async def _logout_all(
    client: httpx.AsyncClient, s: CookieSession, h: dict[str, str]
) -> httpx.Response:
    return await client.post("/api/auth/logout-all", headers=h)


ACTIONS: dict[str, tuple[Action, int]] = {
    "logout": (_logout, 204),
    "logout-all": (_logout_all, 204),
    "password": (_password, 204),
    "end-session": (_end_session, 204),
    "refresh": (_refresh, 200),
}


@pytest.mark.parametrize("action", ACTIONS)
async def test_csrf_header_missing_is_refused(client: httpx.AsyncClient, action: str) -> None:
    run, ok = ACTIONS[action]
    _, session = await browser_user(client)
    assert_problem(await run(client, session, session.cookie_header()), 403, "csrf_failed")
    # Nothing happened: the same request with the token still succeeds.
    response = await run(client, session, session.headers())
    assert response.status_code == ok, response.text


@pytest.mark.parametrize("action", ACTIONS)
async def test_csrf_header_not_matching_cookie_is_refused(
    client: httpx.AsyncClient, action: str
) -> None:
    run, ok = ACTIONS[action]
    _, session = await browser_user(client)
    forged = "forged." + session.csrf.partition(".")[2]
    assert_problem(await run(client, session, session.headers(csrf=forged)), 403, "csrf_failed")
    # A cookie that does not match a correct header is refused too.
    headers = {**session.cookie_header(confide_csrf=forged), "X-CSRF-Token": session.csrf}
    assert_problem(await run(client, session, headers), 403, "csrf_failed")
    response = await run(client, session, session.headers())
    assert response.status_code == ok, response.text


@pytest.mark.parametrize("action", ACTIONS)
async def test_csrf_token_of_another_session_is_refused(
    client: httpx.AsyncClient, action: str
) -> None:
    """Header and cookie agree, but they were issued to another session of the same user."""
    run, ok = ACTIONS[action]
    email, session = await browser_user(client)
    other = await cookie_login(client, email=email)
    headers = {
        **session.cookie_header(confide_csrf=other.csrf),
        "X-CSRF-Token": other.csrf,
    }
    assert_problem(await run(client, session, headers), 403, "csrf_failed")
    response = await run(client, session, session.headers())
    assert response.status_code == ok, response.text


@pytest.mark.parametrize("action", ACTIONS)
async def test_csrf_token_of_another_user_is_refused(
    client: httpx.AsyncClient, action: str
) -> None:
    run, _ = ACTIONS[action]
    _, session = await browser_user(client)
    _, stranger = await browser_user(client)
    headers = {
        **session.cookie_header(confide_csrf=stranger.csrf),
        "X-CSRF-Token": stranger.csrf,
    }
    assert_problem(await run(client, session, headers), 403, "csrf_failed")


# Cross-site requests ---------------------------------------------------------------------------

CROSS_SITE = {
    "fetch-cross-site": {"Sec-Fetch-Site": "cross-site"},
    "origin-evil": {"Origin": "https://evil.example"},
    "origin-null": {"Origin": "null"},
    "origin-other-port": {"Origin": "http://testserver:8080"},
}


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("extra", CROSS_SITE.values(), ids=CROSS_SITE.keys())
async def test_cross_site_cookie_request_is_refused(
    client: httpx.AsyncClient, action: str, extra: dict[str, str]
) -> None:
    run, ok = ACTIONS[action]
    _, session = await browser_user(client)
    response = await run(client, session, {**session.headers(), **extra})
    assert_problem(response, 403, "cross_site_request")
    response = await run(client, session, session.headers())
    assert response.status_code == ok, response.text


SAME_SITE = {
    "fetch-same-origin": {"Sec-Fetch-Site": "same-origin"},
    "origin-host": {"Origin": "http://testserver"},
    "both": {"Sec-Fetch-Site": "same-origin", "Origin": "http://testserver"},
}


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("extra", SAME_SITE.values(), ids=SAME_SITE.keys())
async def test_same_origin_cookie_request_passes(
    client: httpx.AsyncClient, action: str, extra: dict[str, str]
) -> None:
    run, ok = ACTIONS[action]
    _, session = await browser_user(client)
    response = await run(client, session, {**session.headers(), **extra})
    assert response.status_code == ok, response.text


@pytest.mark.parametrize("extra", CROSS_SITE.values(), ids=CROSS_SITE.keys())
async def test_cross_site_cookie_login_is_refused(
    client: httpx.AsyncClient, extra: dict[str, str]
) -> None:
    user = await register(client)
    response = await client.post(
        "/api/auth/login",
        params={"mode": "cookie"},
        json={"email": user["email"], "password": PASSWORD},
        headers=extra,
    )
    assert_problem(response, 403, "cross_site_request")
    assert response.headers.get_list("set-cookie") == []


async def test_configured_cors_origin_passes(app_factory: Callable[..., FastAPI]) -> None:
    application = app_factory(cors_origins=["https://app.example.org"])
    try:
        async with client_for(application) as client:
            allowed = {"Origin": "https://app.example.org"}
            user = await register(client)
            session = await cookie_login(client, email=user["email"], headers=allowed)
            evil = await client.post(
                "/api/auth/logout", headers={**session.headers(), "Origin": "https://evil.example"}
            )
            assert_problem(evil, 403, "cross_site_request")
            response = await client.post(
                "/api/auth/logout", headers={**session.headers(), **allowed}
            )
            assert response.status_code == 204, response.text
    finally:
        await application.state.database.dispose()


# Bearer requests never read cookies ------------------------------------------------------------


async def test_invalid_bearer_is_refused_despite_valid_cookies(client: httpx.AsyncClient) -> None:
    _, session = await browser_user(client)
    assert (await client.get(ME, headers=session.cookie_header())).status_code == 200
    headers = {**session.cookie_header(), **bearer("not-a-valid-token")}
    assert_problem(await client.get(ME, headers=headers), 401, "invalid_token")


async def test_bearer_post_needs_no_csrf_even_with_cookies(client: httpx.AsyncClient) -> None:
    email, session = await browser_user(client)
    tokens = await login(client, email=email)
    headers = {**session.cookie_header(), **bearer(tokens["access_token"])}
    response = await client.post("/api/auth/logout", headers=headers)
    assert response.status_code == 204, response.text
    # The bearer session ended, not the one in the cookies.
    assert_problem(
        await client.get(ME, headers=bearer(tokens["access_token"])), 401, "session_expired"
    )
    assert (await client.get(ME, headers=session.cookie_header())).status_code == 200


# Cookie refresh --------------------------------------------------------------------------------


async def test_cookie_refresh_rotates_and_sets_new_cookies(client: httpx.AsyncClient) -> None:
    _, session = await browser_user(client)
    response = await client.post("/api/auth/refresh", headers=session.headers())
    assert response.status_code == 200, response.text
    body = response.json()
    assert "access_token" not in body
    assert "refresh_token" not in body
    assert body["session_id"] == session.session_id
    cookies = set_cookies(response)
    assert set(cookies) == set(DEV_NAMES)
    assert cookies["confide_rt"].value != session.cookies["confide_rt"]
    assert cookies["confide_at"].value != session.cookies["confide_at"]
    assert cookies["confide_rt"].attrs["path"] == "/api/auth/refresh"
    assert "httponly" in cookies["confide_rt"].flags
    assert "httponly" in cookies["confide_at"].flags
    assert body["csrf_token"] == cookies["confide_csrf"].value

    renewed = CookieSession(
        session.session_id,
        body["csrf_token"],
        {c.name: c.value for c in cookies.values()},
        response,
    )
    me = await client.get(ME, headers=renewed.cookie_header())
    assert me.status_code == 200, me.text
    # The old refresh cookie is spent.
    old = await client.post(
        "/api/auth/refresh", json={"refresh_token": session.cookies["confide_rt"]}
    )
    assert old.status_code == 401, old.text


async def test_cookie_refresh_without_refresh_cookie_is_refused(client: httpx.AsyncClient) -> None:
    _, session = await browser_user(client)
    headers = {
        "Cookie": f"confide_csrf={session.csrf}; confide_at={session.cookies['confide_at']}",
        "X-CSRF-Token": session.csrf,
    }
    assert_problem(
        await client.post("/api/auth/refresh", headers=headers), 401, "invalid_refresh_token"
    )
    unknown = {**session.cookie_header(confide_rt="A" * 43), "X-CSRF-Token": session.csrf}
    assert_problem(
        await client.post("/api/auth/refresh", headers=unknown), 401, "invalid_refresh_token"
    )
