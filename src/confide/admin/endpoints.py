"""HTTP routes of /api/admin: parse, call the service, shape the response. Each route is
guarded by its permission (reading roles and permissions is part of reading accounts)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from confide.access.dependencies import InviteManager, RoleManager, UserManager, UserReader
from confide.account.endpoints import MailerDep, base_url
from confide.account.schemas import VerificationSent
from confide.account.service import AccountService
from confide.admin.invites import InviteService
from confide.admin.schemas import (
    AdminUserOut,
    InviteCreate,
    InviteCreated,
    InviteOut,
    InviteStatus,
    PermissionOut,
    RoleCreate,
    RoleOut,
    RolePatch,
    UserPatch,
    UserRolesPut,
    UserSort,
    UserStatus,
)
from confide.admin.service import AdminService
from confide.audit.service import Origin
from confide.auth.dependencies import AuthContextDep
from confide.db.engine import SessionDep
from confide.mfa.dependencies import step_up_for_changes
from confide.pagination import (
    DEFAULT_LIMIT,
    CursorParam,
    InvalidCursor,
    LimitParam,
    Page,
    after_time_and_id,
    cursor_datetime,
    cursor_uuid,
    decode_cursor,
    encode_cursor,
    next_time_and_id,
)

# One dependency for the whole router, so no admin change can be added without it.
router = APIRouter(prefix="/api/admin", tags=["admin"], dependencies=[Depends(step_up_for_changes)])


async def admin_service(request: Request, db: SessionDep, ctx: AuthContextDep) -> AdminService:
    return AdminService(db, ctx, origin=Origin.of(request))


async def invite_service(request: Request, db: SessionDep, ctx: AuthContextDep) -> InviteService:
    return InviteService(db, ctx, origin=Origin.of(request))


Admin = Annotated[AdminService, Depends(admin_service)]
Invites = Annotated[InviteService, Depends(invite_service)]


# Users -----------------------------------------------------------------------------------------


@router.get("/users", response_model=Page[AdminUserOut])
async def list_users(
    _: UserReader,
    admin: Admin,
    q: Annotated[
        str | None,
        Query(min_length=1, max_length=200, description="Part of the email or display name."),
    ] = None,
    role: Annotated[
        str | None, Query(max_length=64, description="Accounts holding this role.")
    ] = None,
    status: UserStatus | None = None,
    sort: Annotated[
        UserSort,
        Query(description="`-created_at` (newest first), `created_at`, `email`, `-email`."),
    ] = "-created_at",
    cursor: CursorParam = None,
    limit: LimitParam = DEFAULT_LIMIT,
) -> Page[AdminUserOut]:
    """Accounts, filtered and sorted, one page at a time."""
    after: tuple[Any, uuid.UUID] | None = None
    if cursor:
        cursor_sort, value, id_raw = decode_cursor(cursor, length=3)
        if cursor_sort != sort:  # a cursor of another order would skip or repeat rows
            raise InvalidCursor
        key = cursor_datetime(value) if sort.endswith("created_at") else str(value)
        after = (key, cursor_uuid(id_raw))
    rows = await admin.list_users(
        q=q, role=role, status=status, sort=sort, after=after, limit=limit + 1
    )
    next_cursor = None
    if len(rows) > limit:
        last, _out = rows[limit - 1]
        value = last.created_at.isoformat() if sort.endswith("created_at") else last.email_key
        next_cursor = encode_cursor([sort, value, str(last.id)])
    return Page[AdminUserOut](items=[out for _, out in rows[:limit]], next_cursor=next_cursor)


@router.get("/users/{user_id}", response_model=AdminUserOut)
async def get_user(user_id: uuid.UUID, _: UserReader, admin: Admin) -> AdminUserOut:
    """One account."""
    return await admin.get_user(user_id)


@router.patch("/users/{user_id}", response_model=AdminUserOut)
async def update_user(
    user_id: uuid.UUID, body: UserPatch, principal: UserManager, admin: Admin
) -> AdminUserOut:
    """Approve, disable or re-enable an account; disabling ends all its sessions at once."""
    return await admin.set_status(principal, user_id, body.status)


@router.put("/users/{user_id}/roles", response_model=AdminUserOut)
async def set_user_roles(
    user_id: uuid.UUID, body: UserRolesPut, principal: UserManager, admin: Admin
) -> AdminUserOut:
    """Give an account exactly these roles; effective on its next request."""
    return await admin.set_roles(principal, user_id, body.roles)


@router.delete("/users/{user_id}/sessions", status_code=204, response_class=Response)
async def end_user_sessions(user_id: uuid.UUID, principal: UserManager, admin: Admin) -> Response:
    """Sign an account out everywhere."""
    await admin.end_sessions(principal, user_id)
    return Response(status_code=204)


@router.post("/users/{user_id}/password-link", status_code=202, response_model=VerificationSent)
async def send_password_link(
    request: Request,
    user_id: uuid.UUID,
    principal: UserManager,
    admin: Admin,
    db: SessionDep,
    ctx: AuthContextDep,
    notify: MailerDep,
) -> VerificationSent:
    """Mail an account a link to choose a new password (valid 7 days), for an account made
    without one or whose owner is locked out; the link is never shown to the admin."""
    email = await admin.send_password_link(
        principal, user_id, AccountService(db, ctx, notify), base_url=base_url(request)
    )
    return VerificationSent(email=email)


# Roles and permissions -------------------------------------------------------------------------


@router.get("/roles", response_model=Page[RoleOut])
async def list_roles(
    _: UserReader, admin: Admin, cursor: CursorParam = None, limit: LimitParam = DEFAULT_LIMIT
) -> Page[RoleOut]:
    """Every role, by name, with its own and its effective permissions."""
    roles = await admin.list_roles()
    if cursor:
        (after,) = decode_cursor(cursor, length=1)
        if not isinstance(after, str):
            raise InvalidCursor
        roles = [role for role in roles if role.name > after]
    next_cursor = encode_cursor([roles[limit - 1].name]) if len(roles) > limit else None
    return Page[RoleOut](items=roles[:limit], next_cursor=next_cursor)


@router.post("/roles", status_code=201, response_model=RoleOut)
async def create_role(body: RoleCreate, principal: RoleManager, admin: Admin) -> RoleOut:
    """A custom role, granting at most what the caller holds."""
    return await admin.create_role(principal, body)


@router.get("/roles/{name}", response_model=RoleOut)
async def get_role(name: str, _: UserReader, admin: Admin) -> RoleOut:
    """One role."""
    return await admin.get_role(name)


@router.patch("/roles/{name}", response_model=RoleOut)
async def update_role(name: str, body: RolePatch, principal: RoleManager, admin: Admin) -> RoleOut:
    """Rename a role, or set its parent, grants or description; its holders (and those of
    the roles inheriting from it) get the change on their next request."""
    return await admin.update_role(principal, name, body)


@router.delete("/roles/{name}", status_code=204, response_class=Response)
async def delete_role(name: str, principal: RoleManager, admin: Admin) -> Response:
    """Delete a custom role that no role inherits from."""
    await admin.delete_role(principal, name)
    return Response(status_code=204)


@router.get("/permissions", response_model=Page[PermissionOut])
async def list_permissions(
    _: UserReader,
    ctx: AuthContextDep,
    cursor: CursorParam = None,
    limit: LimitParam = DEFAULT_LIMIT,
) -> Page[PermissionOut]:
    """Every permission a role may grant, with a line of text (one `agents:use:<id>` per
    configured agent)."""
    # The set is fixed for the life of the process, so a position is a stable key.
    start = 0
    if cursor:
        (start,) = decode_cursor(cursor, length=1)
        if type(start) is not int or start < 0:
            raise InvalidCursor
    listing = ctx.permissions.listing()
    end = start + limit
    items = [PermissionOut(name=p.name, description=p.description) for p in listing[start:end]]
    next_cursor = encode_cursor([end]) if end < len(listing) else None
    return Page[PermissionOut](items=items, next_cursor=next_cursor)


# Invites ---------------------------------------------------------------------------------------


@router.get("/invites", response_model=Page[InviteOut])
async def list_invites(
    _: InviteManager,
    invites: Invites,
    status: InviteStatus | None = None,
    cursor: CursorParam = None,
    limit: LimitParam = DEFAULT_LIMIT,
) -> Page[InviteOut]:
    """Invitations, newest first, without their tokens (only hashes are kept)."""
    rows = await invites.list_invites(
        status=status, after=after_time_and_id(cursor), limit=limit + 1
    )
    next_cursor = next_time_and_id([invite for invite, _ in rows], limit)
    return Page[InviteOut](items=[out for _, out in rows[:limit]], next_cursor=next_cursor)


@router.post("/invites", status_code=201, response_model=InviteCreated)
async def create_invite(
    request: Request,
    body: InviteCreate,
    principal: InviteManager,
    invites: Invites,
    notify: MailerDep,
) -> InviteCreated:
    """A single-use link to register; the token is shown in this answer only (and, with
    `send`, mailed to `email`)."""
    return await invites.create(principal, body, base_url=base_url(request), mailer=notify)


@router.delete("/invites/{invite_id}", status_code=204, response_class=Response)
async def revoke_invite(
    invite_id: uuid.UUID, principal: InviteManager, invites: Invites
) -> Response:
    """Revoke an unused invitation."""
    await invites.revoke(principal, invite_id)
    return Response(status_code=204)
