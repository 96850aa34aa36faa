"""Deleting an account: the user's own (`DELETE /api/me`) or an administrator's
(`DELETE /api/admin/users/{id}`). docs/security.md, "Deleting an account".

Two transactions, in this order:

1. Under the lock that orders changes of access (admin/repository.py `lock_access`): the
   checks (an administrator may not delete their own account this way, nor one that outranks
   them; no deletion may leave no active administrator), then the account is disabled, its
   sessions ended (dropped from every process's session cache before the commit), and its
   data key destroyed. Committed: from here on, whatever else fails, everything sealed under
   the key is unreadable, in the database and in any backup of it made after this commit.
2. The account's row, and with it every row of its (ON DELETE CASCADE), and an
   `account.deleted` event in the audit trail naming the account only by a pseudonym.

Should the second fail, the account is left disabled, keyless and signed out; deleting it
again (an administrator) finishes the job. The trail's earlier events are left as they were:
each event's hash covers its actor's id and email, so rewriting them would break the chain
(they hold no foreign key to null: the trail outlives the accounts it names).
"""

from __future__ import annotations

import hashlib
import hmac
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from confide.access import repository as access_repository
from confide.access.permissions import ADMIN_ROLE_ID
from confide.admin import repository as admin_repository
from confide.admin.errors import UserNotFound
from confide.admin.service import AdminService
from confide.audit.service import Origin, record
from confide.auth import repository as auth_repository
from confide.auth.cache import Principal
from confide.auth.emails import email_key
from confide.auth.service import AuthContext
from confide.db.base import utcnow
from confide.db.engine import Database, on_commit
from confide.errors import ConfideError
from confide.files.storage import Blobs
from confide.privacy import repository
from confide.privacy.errors import ConfirmationMismatch, OwnAccount
from confide.storage.codec import Vault

ACCOUNT_DELETED = "account.deleted"
PSEUDONYM_PREFIX = "deleted-user:"


def pseudonym(secret: str, user_id: uuid.UUID) -> str:
    """The name the audit trail gives a deleted account: keyed by the server's secret, so
    only someone who holds the secret and already knows the id can tell it is theirs."""
    digest = hmac.new(
        secret.encode(), b"confide/deleted-user/" + user_id.bytes, hashlib.sha256
    ).hexdigest()
    return PSEUDONYM_PREFIX + digest[:32]


class AccountDeletion:
    """Deletes accounts; owns its two transactions (see the module's docstring)."""

    def __init__(
        self,
        *,
        database: Database,
        vault: Vault,
        ctx: AuthContext,
        origin: Origin,
        blobs: Blobs | None = None,
    ) -> None:
        self.database = database
        self.vault = vault
        self.ctx = ctx
        self.origin = origin
        self.blobs = blobs  # uploaded files' contents, removed once the rows are

    async def delete_own(self, principal: Principal, *, confirm_email: str) -> None:
        """Delete the caller's account (the route checked a recent sign-in); `confirm_email`
        must be its email, typed again."""
        if email_key(confirm_email.strip()) != email_key(principal.email):
            raise ConfirmationMismatch
        await self._shred(principal.user_id, admin=None)
        await self._remove(principal.user_id, admin=None)

    async def delete_by_admin(self, principal: Principal, user_id: uuid.UUID) -> None:
        """Delete another account, as an administrator holding everything it holds."""
        if user_id == principal.user_id:
            raise OwnAccount
        await self._shred(user_id, admin=principal)
        await self._remove(user_id, admin=principal)

    async def _shred(self, user_id: uuid.UUID, *, admin: Principal | None) -> None:
        refused: ConfideError | None = None
        async with self.database.session() as db:
            try:
                await self._check_and_shred(db, user_id, admin=admin)
            except ConfideError as exc:
                if not exc.keep_changes:
                    raise
                refused = exc  # its audit row is committed, as a request would
        if refused is not None:
            raise refused

    async def _check_and_shred(
        self, db: AsyncSession, user_id: uuid.UUID, *, admin: Principal | None
    ) -> None:
        await admin_repository.lock_access(db)
        user = await auth_repository.get_user(db, user_id)
        if user is None:
            raise UserNotFound
        role_ids = set(await access_repository.user_role_ids(db, user_id))
        admins = AdminService(db, self.ctx, origin=self.origin)
        if admin is not None:
            graph = await admins._graph()
            await admins._check_not_outranked(
                admin, graph.effective(role_ids), ACCOUNT_DELETED, user_id
            )
        if user.status == "active" and ADMIN_ROLE_ID in role_ids:
            await admins._keep_an_admin(user_id)
        user.status = "disabled"
        await auth_repository.end_sessions(
            db, user_id=user_id, now=utcnow(), reason="account_deleted"
        )
        await db.flush()
        await self.ctx.cache.invalidate_user(user_id)
        await self.vault.destroy(db, user_id)

    async def _remove(self, user_id: uuid.UUID, *, admin: Principal | None) -> None:
        name = pseudonym(self.ctx.settings.resolved_secret_key(), user_id)
        async with self.database.session() as db:
            # Again: a run still going may have made the account a new key since, and this
            # process may have cached one read before the first commit.
            await self.vault.destroy(db, user_id)
            await repository.delete_account_rows(db, user_id)
            if self.blobs is not None:  # unreadable already (the key is gone): now gone too
                blobs = self.blobs
                on_commit(db, lambda: blobs.delete_owner(user_id))
            await record(
                db,
                action=ACCOUNT_DELETED,
                actor_id=admin.user_id if admin else None,
                actor=admin.email if admin else name,
                target_type="user",
                target_id=name,
                # Where the request came from stays out of a deleted user's own record.
                origin=self.origin if admin else Origin(request_id=self.origin.request_id),
                detail={"by": "admin" if admin else "self"},
            )
