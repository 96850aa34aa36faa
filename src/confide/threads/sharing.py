"""Sharing a thread, read-only, with named users. Never commits.

Only the thread's owner shares, lists and revokes. A share request answers the same whether
the email names an account, the owner, someone the thread is already shared with, or nobody:
no account can be discovered through it. Each request is audited (`thread.shared`,
`thread.unshared`) in its own transaction.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from confide.audit.service import FAILURE, SUCCESS, Origin
from confide.auth.cache import Principal
from confide.auth.emails import email_key
from confide.db.base import utcnow
from confide.errors import NotFound
from confide.threads import repository
from confide.threads.schemas import ShareOut
from confide.threads.visibility import audit_change, refuse_write

SHARED_ACTION = "thread.shared"
UNSHARED_ACTION = "thread.unshared"


class ShareNotFound(NotFound):
    code = "share_not_found"
    title = "No such share"


class ShareService:
    def __init__(self, db: AsyncSession, *, origin: Origin | None = None) -> None:
        self.db = db
        self.origin = origin

    async def _own(self, principal: Principal, thread_id: uuid.UUID) -> None:
        """The thread must be the caller's: 403 `read_only` if they may only read it, the
        missing thread's 404 if they may not even do that."""
        agent_id = await repository.owned_agent_id(
            self.db, owner_id=principal.user_id, thread_id=thread_id
        )
        if agent_id is None:
            raise await refuse_write(self.db, principal, thread_id)

    async def share(
        self,
        principal: Principal,
        thread_id: uuid.UUID,
        email: str,
        *,
        verified_only: bool = False,
    ) -> None:
        """Share the caller's thread with the user of `email`, if there is one (and, with
        `verified_only`, if that account's email is verified). Sharing with oneself, or again
        with the same user, changes nothing; none of it is told apart."""
        await self._own(principal, thread_id)
        key = email_key(email)
        made = await repository.add_share(
            self.db,
            thread_id=thread_id,
            owner_id=principal.user_id,
            email_key=key,
            now=utcnow(),
            verified_only=verified_only,
        )
        if made is not None:
            share_id, recipient_id = made
            outcome = SUCCESS
            detail: dict[str, str] = {"recipient_id": str(recipient_id), "share_id": str(share_id)}
        else:
            # Why nothing changed, for the trail only (read by admins, never by the caller).
            outcome = FAILURE
            recipient = await repository.user_by_email_key(self.db, key)
            if recipient is None:
                detail = {"recipient": "unknown"}
            elif recipient == principal.user_id:
                detail = {"recipient": "self"}
            elif verified_only and not await repository.is_verified(self.db, recipient):
                detail = {"recipient_id": str(recipient), "reason": "not_verified"}
            else:
                detail = {"recipient_id": str(recipient), "reason": "already_shared"}
        await self._audit(principal, SHARED_ACTION, thread_id, outcome=outcome, detail=detail)

    async def shares(
        self,
        principal: Principal,
        thread_id: uuid.UUID,
        *,
        after: tuple[datetime, uuid.UUID] | None,
        limit: int,
    ) -> list[ShareOut]:
        """The users the caller's thread is shared with, newest share first (owner only:
        a recipient never learns who else can read it)."""
        await self._own(principal, thread_id)
        rows = await repository.list_shares(self.db, thread_id=thread_id, after=after, limit=limit)
        return [
            ShareOut.model_construct(
                id=share.id, email=email, display_name=display_name, created_at=share.created_at
            )
            for share, email, display_name in rows
        ]

    async def revoke(self, principal: Principal, thread_id: uuid.UUID, share_id: uuid.UUID) -> None:
        """End one share of the caller's thread: the recipient's next request cannot read it."""
        await self._own(principal, thread_id)
        recipient = await repository.remove_share(self.db, thread_id=thread_id, share_id=share_id)
        if recipient is None:
            raise ShareNotFound
        await self._audit(
            principal,
            UNSHARED_ACTION,
            thread_id,
            outcome=SUCCESS,
            detail={"recipient_id": str(recipient), "share_id": str(share_id)},
        )

    async def _audit(
        self,
        principal: Principal,
        action: str,
        thread_id: uuid.UUID,
        *,
        outcome: str,
        detail: dict[str, str],
    ) -> None:
        await audit_change(
            self.db,
            principal,
            action,
            thread_id=thread_id,
            origin=self.origin,
            outcome=outcome,
            detail=detail,
        )
