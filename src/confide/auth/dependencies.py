"""Who is calling: bearer header or browser cookies (with CSRF and same-origin checks)."""

from __future__ import annotations

import asyncio
import hmac
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from starlette.requests import HTTPConnection

from confide.auth.cache import Principal
from confide.auth.service import AuthContext, AuthService, SessionEnded
from confide.auth.tokens import InvalidToken
from confide.config import Settings
from confide.errors import Forbidden, NotAuthenticated
from confide.mfa.gate import check_enrolment_gate

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_HEADER = "x-csrf-token"
REFRESH_PATH = "/api/auth/refresh"

# Called with each request's caller once it is known (app.state.on_principal).
PrincipalHook = Callable[[Request, Principal], Awaitable[None]]


class CsrfFailed(Forbidden):
    code = "csrf_failed"
    title = "Missing or invalid CSRF token"


class CrossSiteRequest(Forbidden):
    code = "cross_site_request"
    title = "Cross-site requests are refused"


@dataclass(frozen=True, slots=True)
class CookieNames:
    access: str
    refresh: str
    csrf: str


def cookie_names(secure: bool) -> CookieNames:
    """`__Host-` needs Secure and Path=/; the refresh cookie's narrow path takes `__Secure-`."""
    if secure:
        return CookieNames("__Host-confide_at", "__Secure-confide_rt", "__Host-confide_csrf")
    return CookieNames("confide_at", "confide_rt", "confide_csrf")


def auth_context(connection: HTTPConnection) -> AuthContext:
    ctx: AuthContext = connection.app.state.auth
    return ctx


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def check_same_origin(request: HTTPConnection, settings: Settings) -> None:
    """Refuse a browser request another site made (Fetch Metadata, then Origin).

    An Origin naming this request's Host counts only with the request's own scheme
    (`scope["scheme"]`, which honours X-Forwarded-Proto from CONFIDE_FORWARDED_ALLOW_IPS):
    `http://host` is another origin than `https://host`. The Host itself was checked against
    CONFIDE_ALLOWED_HOSTS before the request got here (http.py), so a DNS-rebinding page,
    whose Host and Origin match each other, never reaches this check.
    """
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "same-site", "none"):
        raise CrossSiteRequest
    origin = request.headers.get("origin")
    if origin is None:
        return
    if origin in settings.cors_origins:
        return
    if origin != "null" and _same_origin(origin, request):
        return
    raise CrossSiteRequest


# The scheme a browser's Origin has for a WebSocket's scheme.
_ORIGIN_SCHEME = {"ws": "http", "wss": "https"}


def _same_origin(origin: str, request: HTTPConnection) -> bool:
    try:
        parts = urlsplit(origin)
    except ValueError:  # `http://[bad`
        return False
    scheme: str = request.scope.get("scheme", "http")
    if parts.scheme != _ORIGIN_SCHEME.get(scheme, scheme):
        return False
    return parts.netloc == request.headers.get("host")


def check_csrf(request: Request, ctx: AuthContext, session_id: uuid.UUID) -> None:
    """Double-submit: the header must equal the cookie, and be signed for this session."""
    names = cookie_names(ctx.settings.secure_cookies)
    header = request.headers.get(CSRF_HEADER)
    cookie = request.cookies.get(names.csrf)
    if not header or not cookie or not hmac.compare_digest(header, cookie):
        raise CsrfFailed
    if not ctx.csrf.verify(header, session_id):
        raise CsrfFailed


async def current_principal(request: Request) -> Principal:
    """The caller's live session. Bearer requests never read cookies; no token in URLs."""
    ctx = auth_context(request)
    authorization = request.headers.get("authorization")
    if authorization is not None:
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise InvalidToken
        from_cookie = False
    else:
        cookie_token = request.cookies.get(cookie_names(ctx.settings.secure_cookies).access)
        if not cookie_token:
            raise NotAuthenticated
        token, from_cookie = cookie_token, True
    claims = ctx.tokens.decode(token)
    principal = await live_principal(request, ctx, claims.session_id, claims.user_id)
    if from_cookie and request.method in UNSAFE_METHODS:
        check_same_origin(request, ctx.settings)
        check_csrf(request, ctx, principal.session_id)
    request.state.principal = principal
    # Set by create_app: the caller's API budget (ratelimit/), once the caller is known.
    on_principal: PrincipalHook | None = getattr(request.app.state, "on_principal", None)
    if on_principal is not None:
        await on_principal(request, principal)
    return principal


async def live_principal(
    connection: HTTPConnection, ctx: AuthContext, session_id: uuid.UUID, user_id: uuid.UUID
) -> Principal:
    """Who a live session acts for (from the cache, or checked in the database)."""
    principal = ctx.cache.get(session_id)
    if principal is None:
        principal = await _load_principal(connection, ctx, session_id, user_id)
    if principal.user_id != user_id:
        raise SessionEnded
    check_enrolment_gate(connection, principal)
    return principal


async def _load_principal(
    connection: HTTPConnection, ctx: AuthContext, session_id: uuid.UUID, user_id: uuid.UUID
) -> Principal:
    """Check a session in the database and cache it. Concurrent requests of one session share
    a single load, so a cache entry expiring under load costs one query, not one per request;
    a request never joins a load that began before an invalidation (cache.py)."""
    generation = ctx.cache.begin_load(session_id, user_id)
    if generation is None:  # fenced, or nothing to trust: this request's own check
        return await _check(connection, ctx, session_id, user_id)
    entry = ctx.loading.get(session_id)
    if entry is None or entry[0] != generation:
        began = generation

        async def load() -> Principal:
            principal = await _check(connection, ctx, session_id, user_id)
            ctx.cache.put(principal, generation=began)
            return principal

        pending = asyncio.ensure_future(load())
        entry = ctx.loading[session_id] = (generation, pending)

        def finished(future: asyncio.Future[Principal]) -> None:
            if ctx.loading.get(session_id, (0, None))[1] is future:
                del ctx.loading[session_id]
            if not future.cancelled():
                future.exception()  # retrieved, even if every waiter went away

        pending.add_done_callback(finished)
    # Shielded: one caller going away must not cancel the load the others wait for.
    return await asyncio.shield(entry[1])


async def _check(
    connection: HTTPConnection, ctx: AuthContext, session_id: uuid.UUID, user_id: uuid.UUID
) -> Principal:
    # Bookkeeping only (the throttled last-seen time), apart from the request's work.
    async with connection.app.state.database.session() as db:
        return await AuthService(db, ctx).load_principal(session_id, user_id)


class PrincipalDependency(OAuth2PasswordBearer):
    """`current_principal` as a security dependency: one dependency on the hot path, and the
    OpenAPI schema still offers the password flow to Swagger's Authorize button."""

    # The access marker (access/dependencies.py): any signed-in user, pending ones included.
    __confide_access__ = "authenticated"

    def __init__(self) -> None:
        super().__init__(tokenUrl="/api/auth/login", scheme_name="OAuth2Password", auto_error=False)

    async def __call__(self, request: Request) -> Principal:  # type: ignore[override]
        return await current_principal(request)


CurrentPrincipal = Annotated[Principal, Depends(PrincipalDependency())]


async def _auth_context(connection: HTTPConnection) -> AuthContext:
    # `async def` so FastAPI calls it on the loop instead of hopping to a worker thread.
    return auth_context(connection)


AuthContextDep = Annotated[AuthContext, Depends(_auth_context)]
