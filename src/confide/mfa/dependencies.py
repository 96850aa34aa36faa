"""What MFA routes receive: the feature's context, and `RecentAuth` (step-up)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from confide.auth import repository as auth_repository
from confide.auth.cache import Principal
from confide.auth.dependencies import PrincipalDependency, auth_context, current_principal
from confide.db.base import utcnow
from confide.db.engine import SessionDep
from confide.mfa.codes import MfaContext
from confide.mfa.errors import ReauthRequired


def mfa_context(connection: HTTPConnection) -> MfaContext:
    ctx: MfaContext = connection.app.state.mfa
    return ctx


async def _mfa_context(connection: HTTPConnection) -> MfaContext:
    return mfa_context(connection)


MfaContextDep = Annotated[MfaContext, Depends(_mfa_context)]


class RecentAuthDependency(PrincipalDependency):
    """The caller, whose session proved who it is (sign-in, MFA or `POST /api/auth/reauth`)
    within CONFIDE_REAUTH_WINDOW_SECONDS; otherwise 401 `reauth_required`. The time is read
    from the database, not the cached principal, so a re-authentication counts at once."""

    async def __call__(self, request: Request, db: SessionDep) -> Principal:  # type: ignore[override]
        principal = await current_principal(request)
        window = timedelta(seconds=auth_context(request).settings.reauth_window_seconds)
        at = await auth_repository.session_authenticated_at(db, principal.session_id)
        if at is None or utcnow() - at > window:
            raise ReauthRequired
        return principal


RecentAuth = Annotated[Principal, Depends(RecentAuthDependency())]


_recent_auth = RecentAuthDependency()


async def require_recent_auth(request: Request, db: AsyncSession) -> None:
    """The step-up check inside a route whose need for it depends on its input."""
    await _recent_auth(request, db)


async def step_up_for_changes(request: Request, db: SessionDep) -> None:
    """A router's dependency (the admin routers'): every change needs a recent sign-in, MFA or
    `POST /api/auth/reauth` (401 `reauth_required` otherwise); reading does not."""
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        await _recent_auth(request, db)
