"""Each user's credentials for `auth = "user"` MCP servers, sealed under the user's data key.

A secret is decoded only to be sent to its own server, on a call by its own user; no API
returns it. An OAuth access token past its expiry is renewed with the refresh token first.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Mapping
from datetime import timedelta

from confide.db.base import utcnow
from confide.db.engine import Database
from confide.mcp import repository
from confide.mcp.config import McpServerConfig
from confide.mcp.errors import OAuthExchangeFailed
from confide.mcp.oauth import Secret, refresh
from confide.storage.codec import ContentCodec, Executor, Vault

TABLE, COLUMN = "mcp_credentials", "secret"
STATE_TABLE, STATE_COLUMN = "mcp_oauth_states", "verifier"
OAUTH_STATE_TTL = timedelta(minutes=10)

log = logging.getLogger("confide.mcp")


def seal(codec: ContentCodec, secret: Secret, *, row_id: uuid.UUID) -> bytes:
    return codec.encode(json.dumps(secret.to_json()), table=TABLE, column=COLUMN, row_id=row_id)


def unseal(codec: ContentCodec, stored: bytes, *, row_id: uuid.UUID) -> Secret:
    return Secret.from_json(
        json.loads(codec.decode(stored, table=TABLE, column=COLUMN, row_id=row_id))
    )


async def save(
    db: Executor, *, codec: ContentCodec, server_id: str, secret: Secret, kind: str
) -> None:
    """Store (or replace) the user's credentials for one server."""
    user_id = codec.user_id
    now = utcnow()
    existing = await repository.credential(db, user_id=user_id, server_id=server_id)
    if existing is not None:
        # A new connection, not a renewal: forget the old row, keep no trace of its token.
        await repository.delete_credential(db, user_id=user_id, server_id=server_id)
    row_id = uuid.uuid4()
    await repository.insert_credential(
        db,
        id=row_id,
        user_id=user_id,
        server_id=server_id,
        kind=kind,
        secret=seal(codec, secret, row_id=row_id),
        connected_at=now,
        updated_at=now,
    )


class UserTokens:
    """The token to send for one user to one server, renewed when it has expired."""

    def __init__(self, *, database: Database, vault: Vault, environ: Mapping[str, str]) -> None:
        self.database = database
        self.vault = vault
        self.environ = environ

    async def latest_user(self, server_id: str) -> uuid.UUID | None:
        """Whose token reads the tools of a server that lists them to users only."""
        async with self.database.connect() as conn:
            return await repository.latest_user(conn, server_id=server_id)

    async def token(self, user_id: uuid.UUID, server: McpServerConfig) -> str | None:
        """The user's access token for `server`, or None when they have not connected it."""
        async with self.database.begin() as conn:
            row = await repository.credential(conn, user_id=user_id, server_id=server.id)
            if row is None:
                return None
            codec = await self.vault.codec(conn, user_id)
            secret = unseal(codec, bytes(row.secret), row_id=row.id)
        if server.oauth is None or not secret.expired(now=time.time()):
            return secret.access_token
        if secret.refresh_token is None:
            return None  # expired, and nothing to renew it with: connect again
        try:
            fresh = await refresh(
                server.oauth, refresh_token=secret.refresh_token, environ=self.environ
            )
        except OAuthExchangeFailed as exc:
            log.warning(
                "mcp: renewing a user's token failed: %s",
                exc.detail,
                extra={"server_id": server.id, "user_id": str(user_id)},
            )
            return None
        async with self.database.begin() as conn:
            codec = await self.vault.codec(conn, user_id)
            await repository.update_secret(
                conn,
                credential_id=row.id,
                user_id=user_id,
                secret=seal(codec, fresh, row_id=row.id),
                at=utcnow(),
            )
        return fresh.access_token
