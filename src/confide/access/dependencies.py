"""The one way a route says who may call it, read by a test that walks every route:

- `Depends(require("threads:read"))` (or an alias below): an active user holding the
  permission; a pending user gets 403 `pending_approval`, anyone else without it 403
  `forbidden` (and the refusal is audited);
- `CurrentPrincipal` (auth/dependencies.py), the `authenticated` marker: any signed-in user,
  pending ones included (their own account: sign out, change password, their sessions);
- `@public_route` under the route decorator: anyone, signed in or not;
- `@authenticated_route`: a route that authenticates its caller itself (`/api/auth/me`, on
  the hot path, calls `current_principal` directly; the WebSocket reads its ticket).

The two decorators only mark the endpoint function: they cost a request nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request

from confide.access.permissions import (
    AUDIT_READ,
    INVITES_MANAGE,
    ROLES_MANAGE,
    THREADS_READ,
    THREADS_SHARE,
    THREADS_WRITE,
    USERS_MANAGE,
    USERS_READ,
)
from confide.auth.cache import Principal
from confide.auth.dependencies import PrincipalDependency, current_principal
from confide.errors import Forbidden

ACCESS_ATTRIBUTE = "__confide_access__"  # on each marker: "public", or the permission


class PermissionDenied(Forbidden):
    code = "forbidden"
    title = "You do not have permission to do this"


class PendingApproval(Forbidden):
    code = "pending_approval"
    title = "Your account is waiting for an administrator's approval"


# Called on each refusal (the audit trail records it); set by create_app.
DenyHook = Callable[[Request, Principal, str], Awaitable[None]]


class Requirement(PrincipalDependency):
    """`require(permission)`: the caller, who must be active and hold the permission.

    One security dependency that authenticates and checks at once, rather than a check
    depending on `CurrentPrincipal`: a level of FastAPI's dependency solving fewer on every
    guarded request (part of keeping `GET /api/threads` within 5 % of its cost before
    permissions, README "Figures")."""

    def __init__(self, permission: str) -> None:
        super().__init__()
        self.permission = permission
        setattr(self, ACCESS_ATTRIBUTE, permission)

    async def __call__(self, request: Request) -> Principal:  # type: ignore[override]
        principal = await current_principal(request)
        if self.permission in principal.permissions:
            return principal
        if principal.status == "pending":
            raise PendingApproval
        hook: DenyHook | None = getattr(request.app.state, "on_access_denied", None)
        if hook is not None:
            await hook(request, principal, self.permission)
        raise PermissionDenied(f"This needs the permission {self.permission!r}.")


def require(permission: str) -> Requirement:
    """A dependency: the caller, who must be active and hold `permission`."""
    return Requirement(permission)


F = TypeVar("F", bound=Callable[..., Any])


def _declare(access: str) -> Callable[[F], F]:
    def mark(endpoint: F) -> F:
        setattr(endpoint, ACCESS_ATTRIBUTE, access)
        return endpoint

    return mark


public_route = _declare("public")
authenticated_route = _declare("authenticated")

# One dependency per permission, made once: FastAPI resolves a dependency once per request
# by identity, and the access test reads the permission off it.
ThreadReader = Annotated[Principal, Depends(require(THREADS_READ))]
ThreadWriter = Annotated[Principal, Depends(require(THREADS_WRITE))]
ThreadSharer = Annotated[Principal, Depends(require(THREADS_SHARE))]
UserReader = Annotated[Principal, Depends(require(USERS_READ))]
UserManager = Annotated[Principal, Depends(require(USERS_MANAGE))]
RoleManager = Annotated[Principal, Depends(require(ROLES_MANAGE))]
InviteManager = Annotated[Principal, Depends(require(INVITES_MANAGE))]
AuditReader = Annotated[Principal, Depends(require(AUDIT_READ))]
