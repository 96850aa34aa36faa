"""HTTP routes of a user's own data (/api/me/export, DELETE /api/me) and of deleting an
account as an administrator (DELETE /api/admin/users/{user_id})."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import StreamingResponse

from confide.access.dependencies import UserManager
from confide.audit.service import Origin
from confide.auth.dependencies import AuthContextDep, CurrentPrincipal
from confide.auth.endpoints import _cleared as cleared_cookies
from confide.db.base import utcnow
from confide.db.engine import SessionDep
from confide.mfa.dependencies import RecentAuth, step_up_for_changes
from confide.privacy.deletion import AccountDeletion
from confide.privacy.export import AccountExporter, record_export
from confide.privacy.schemas import AccountExport, DeleteAccount
from confide.storage.codec import Vault

router = APIRouter(prefix="/api/me", tags=["privacy"])
# Its own router, under the admin routers' rule: every change needs a recent sign-in.
admin_router = APIRouter(
    prefix="/api/admin", tags=["admin"], dependencies=[Depends(step_up_for_changes)]
)


def _vault(request: Request) -> Vault:
    vault: Vault = request.app.state.vault
    return vault


VaultDep = Annotated[Vault, Depends(_vault)]


def deletion(request: Request, ctx: AuthContextDep, vault: VaultDep) -> AccountDeletion:
    return AccountDeletion(
        database=request.app.state.database,
        vault=vault,
        ctx=ctx,
        origin=Origin.of(request),
        blobs=request.app.state.blobs,
    )


Deletion = Annotated[AccountDeletion, Depends(deletion)]


@router.get(
    "/export",
    response_model=AccountExport,
    responses={200: {"description": "A JSON file download (`Content-Disposition: attachment`)."}},
)
async def export_my_data(
    request: Request, principal: CurrentPrincipal, db: SessionDep, vault: VaultDep
) -> StreamingResponse:
    """Everything Confide holds about the caller (profile, settings, threads with their
    messages, memories, sessions, their own audit events, shares) as one JSON document,
    streamed as it is read. No secret is in it (password hash, MFA secrets, tokens)."""
    await record_export(db, principal, origin=Origin.of(request))
    exporter = AccountExporter(database=request.app.state.database, vault=vault)
    name = f"confide-export-{utcnow():%Y-%m-%d}.json"
    # The request's transaction (and its audit row) commits before the body is streamed;
    # the export reads in sessions of its own, page by page.
    return StreamingResponse(
        exporter.stream(principal.user_id),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.delete(
    "",
    status_code=204,
    response_class=Response,
    responses={
        401: {"description": "`reauth_required`: sign in again first"},
        409: {"description": "`last_admin`"},
        422: {"description": "`confirmation_mismatch`: the email typed is not the account's"},
    },
)
async def delete_my_account(
    body: DeleteAccount, principal: RecentAuth, ctx: AuthContextDep, deleter: Deletion
) -> Response:
    """Delete the caller's account for good: its data key is destroyed first, so nothing
    sealed under it can be opened again (docs/security.md, "Deleting an account", says what
    older backups hold), then all its data; the audit trail keeps a pseudonymous record.
    Needs a recent sign-in, and the account's email typed again as `email`."""
    await deleter.delete_own(principal, confirm_email=body.email)
    return cleared_cookies(ctx)


@admin_router.delete(
    "/users/{user_id}",
    status_code=204,
    response_class=Response,
    responses={
        403: {"description": "`own_account`, `user_outranks_caller`"},
        404: {"description": "`user_not_found`"},
        409: {"description": "`last_admin`"},
    },
)
async def delete_user(user_id: uuid.UUID, principal: UserManager, deleter: Deletion) -> Response:
    """Delete an account for good, as `DELETE /api/me` does (not the caller's own, nor one
    holding a permission the caller lacks, nor the last active administrator)."""
    await deleter.delete_by_admin(principal, user_id)
    return Response(status_code=204)
