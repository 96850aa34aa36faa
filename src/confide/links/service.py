"""Share-link rules: made and revoked by the thread's owner, read by anyone with the token.
Never commits.

A link is a snapshot: it keeps the thread's active leaf of the moment it was made, and shows
the path from a first message to that leaf, which never changes (rows are append-only).
Messages added later, or a branch switched to later, are on no path it shows. The token
(256 random bits) is shown once; only its SHA-256 is stored, and a link is found by looking
that hash up. Nothing is cached: a revoked link, a deleted thread or account, or
CONFIDE_SHARE_LINKS turned off answers 404 on the very next request, on every process.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from confide.audit.service import SUCCESS, Origin
from confide.auth.cache import Principal
from confide.db.base import utcnow
from confide.errors import ConfideError, Forbidden, NotFound
from confide.links import repository
from confide.links.models import ShareLink
from confide.links.schemas import (
    ExportShareLink,
    LinkCreate,
    LinkCreated,
    LinkOut,
    SharedMessage,
    SharedThread,
)
from confide.pagination import encode_cursor
from confide.storage.codec import ContentCodec, Vault
from confide.threads import paths
from confide.threads import repository as threads_repository
from confide.threads.service import message_out, open_title
from confide.threads.visibility import audit_change, refuse_write

LINK_CREATED = "thread.link_created"
LINK_REVOKED = "thread.link_revoked"
PAGE_PATH = "/s/"  # the web app's page of a link: /s/<token>


class LinkNotFound(NotFound):
    """Missing, revoked, expired, its thread or owner deleted, or links turned off: all the
    same answer, so a token tells nothing about what became of it."""

    code = "link_not_found"
    title = "No such link"

    def __init__(self) -> None:
        super().__init__("This link does not exist, was revoked or has expired.")


class ShareLinksDisabled(Forbidden):
    code = "share_links_disabled"
    title = "Share links are turned off"

    def __init__(self) -> None:
        super().__init__("An administrator turned share links off (CONFIDE_SHARE_LINKS).")


class NothingToShare(ConfideError):
    status, code, title = 422, "thread_empty", "The thread has no messages to share"


def new_token() -> tuple[str, bytes]:
    """A link's token (256 random bits, URL-safe) and the hash that is all we store of it."""
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


def hash_token(token: str) -> bytes:
    # A plain digest is enough: the token has 256 bits of entropy, nothing to brute-force.
    return hashlib.sha256(token.encode()).digest()


def link_out(link: ShareLink) -> LinkOut:
    return LinkOut(
        id=link.id,
        created_at=link.created_at,
        expires_at=link.expires_at,
        include_tool_calls=link.include_tool_calls,
        message_count=link.message_count,
        leaf_id=link.leaf_id,
    )


def export_link_out(link: ShareLink) -> ExportShareLink:
    return ExportShareLink(**link_out(link).model_dump(), thread_id=link.thread_id)


class LinkService:
    def __init__(
        self,
        db: AsyncSession,
        *,
        vault: Vault,
        enabled: bool,
        agent_name: Callable[[str], str | None] = lambda _agent_id: None,
        origin: Origin | None = None,
    ) -> None:
        self.db = db
        self.vault = vault
        self.enabled = enabled
        self.agent_name = agent_name
        self.origin = origin

    async def _own(self, principal: Principal, thread_id: uuid.UUID) -> uuid.UUID | None:
        """The caller's thread's active leaf: 403 `read_only` for a thread they may only
        read, the missing thread's 404 for one they may not even read."""
        thread = await threads_repository.get_owned(
            self.db, owner_id=principal.user_id, thread_id=thread_id
        )
        if thread is None:
            raise await refuse_write(self.db, principal, thread_id)
        return thread.active_leaf_id

    async def create(
        self, principal: Principal, thread_id: uuid.UUID, body: LinkCreate
    ) -> LinkCreated:
        """A link to the path the caller's thread shows now (403 `share_links_disabled` when
        links are off, 422 `thread_empty` for a thread without messages)."""
        if not self.enabled:
            raise ShareLinksDisabled
        leaf_id = await self._own(principal, thread_id)
        if leaf_id is None:
            raise NothingToShare("A link shows a conversation: send a message first.")
        path = await paths.whole_path(self.db, thread_id=thread_id, leaf_id=leaf_id)
        now = utcnow()
        token, token_hash = new_token()
        link = ShareLink(
            id=uuid.uuid4(),
            thread_id=thread_id,
            owner_id=principal.user_id,
            token_hash=token_hash,
            leaf_id=leaf_id,
            message_count=len(path),
            include_tool_calls=body.include_tool_calls,
            created_at=now,
            expires_at=None
            if body.expires_in_seconds is None
            else now + timedelta(seconds=body.expires_in_seconds),
        )
        await repository.add(self.db, link)
        detail = {"link_id": str(link.id), "include_tool_calls": str(link.include_tool_calls)}
        if link.expires_at is not None:
            detail["expires_at"] = link.expires_at.isoformat()
        await self._audit(principal, LINK_CREATED, thread_id, detail)
        return LinkCreated(**link_out(link).model_dump(), token=token, url=f"{PAGE_PATH}{token}")

    async def links(
        self,
        principal: Principal,
        thread_id: uuid.UUID,
        *,
        after: tuple[datetime, uuid.UUID] | None,
        limit: int,
    ) -> list[LinkOut]:
        """The caller's thread's links, newest first (expired ones too, until revoked)."""
        await self._own(principal, thread_id)
        rows = await repository.list_for_thread(
            self.db, owner_id=principal.user_id, thread_id=thread_id, after=after, limit=limit
        )
        return [link_out(link) for link in rows]

    async def revoke(self, principal: Principal, thread_id: uuid.UUID, link_id: uuid.UUID) -> None:
        """Delete one link of the caller's thread: its token answers 404 from now on."""
        await self._own(principal, thread_id)
        removed = await repository.remove(
            self.db, owner_id=principal.user_id, thread_id=thread_id, link_id=link_id
        )
        if not removed:
            raise LinkNotFound
        await self._audit(principal, LINK_REVOKED, thread_id, {"link_id": str(link_id)})

    async def shared(self, token: str, *, after_seq: int | None, limit: int) -> SharedThread:
        """What a link shows: the thread's title, agent and owner's display name, and a page
        of its messages from the start (or after the message at `after_seq`)."""
        link, agent_id, title, display_name = await self._live(token)
        codec = await self.vault.codec(self.db, link.owner_id)
        messages, next_seq = await self._page(codec, link, after_seq=after_seq, limit=limit)
        return SharedThread(
            title=None if title is None else open_title(codec, link.thread_id, title),
            agent_name=self.agent_name(agent_id),
            owner_display_name=display_name,
            created_at=link.created_at,
            expires_at=link.expires_at,
            messages=messages,
            next_cursor=None if next_seq is None else encode_cursor([next_seq]),
        )

    async def shared_messages(
        self, token: str, *, after_seq: int | None, limit: int
    ) -> tuple[list[SharedMessage], int | None]:
        """A page of a link's messages, and the position the next page starts after."""
        link, *_ = await self._live(token)
        codec = await self.vault.codec(self.db, link.owner_id)
        return await self._page(codec, link, after_seq=after_seq, limit=limit)

    async def _live(self, token: str) -> tuple[ShareLink, str, bytes | None, str | None]:
        if not self.enabled:
            raise LinkNotFound
        found = await repository.live_by_hash(self.db, hash_token(token), now=utcnow())
        if found is None:
            raise LinkNotFound
        link, agent_id, title, display_name = found
        return link, agent_id, title, display_name

    async def _page(
        self, codec: ContentCodec, link: ShareLink, *, after_seq: int | None, limit: int
    ) -> tuple[list[SharedMessage], int | None]:
        """Up to `limit` messages of the link's path after `after_seq` (tool traffic left
        out unless the link includes it), and where the next page starts (None: the end)."""
        shown: list[SharedMessage] = []
        after = after_seq
        while True:
            rows = await paths.path_page(
                self.db,
                thread_id=link.thread_id,
                leaf_id=link.leaf_id,
                newest_first=False,
                after_seq=after,
                limit=limit + 1,
            )
            for row in rows:
                message = shared_message(codec, row, include_tool_calls=link.include_tool_calls)
                if message is None:
                    after = row.seq
                    continue
                if len(shown) == limit:
                    return shown, after
                shown.append(message)
                after = row.seq
            if len(rows) <= limit:
                return shown, None

    async def _audit(
        self, principal: Principal, action: str, thread_id: uuid.UUID, detail: dict[str, str]
    ) -> None:
        await audit_change(
            self.db,
            principal,
            action,
            thread_id=thread_id,
            origin=self.origin,
            outcome=SUCCESS,
            detail=detail,
        )


def shared_message(
    codec: ContentCodec, row: object, *, include_tool_calls: bool
) -> SharedMessage | None:
    """A path's row as a link shows it; None for tool traffic a link without tool calls
    leaves out (tool results, and answers that only called tools)."""
    message = message_out(codec, row)
    if not include_tool_calls:
        if message.role == "tool":
            return None
        if message.tool_calls and not message.content:
            return None
    return SharedMessage(
        role=message.role,
        content=message.content,
        tool_calls=message.tool_calls if include_tool_calls else None,
        tool_call_id=message.tool_call_id if include_tool_calls else None,
        name=message.name if include_tool_calls else None,
        interrupted=message.interrupted,
        created_at=message.created_at,
    )
