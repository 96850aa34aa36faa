"""A user's credentials for an MCP server, and the OAuth flows they have begun; both sealed."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from confide.db.base import Base, IdMixin, utcnow


class McpCredential(IdMixin, Base):
    __tablename__ = "mcp_credentials"
    __table_args__ = (UniqueConstraint("user_id", "server_id"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    server_id: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(16))  # "token" (pasted) | "oauth"
    # JSON {access_token, refresh_token, expires_at} through the owner's codec.
    secret: Mapped[bytes] = mapped_column(LargeBinary)
    connected_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class McpOAuthState(IdMixin, Base):
    __tablename__ = "mcp_oauth_states"

    # SHA-256 of the `state` parameter: the value itself only travels in the redirect.
    state_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    server_id: Mapped[str] = mapped_column(String(40))
    verifier: Mapped[bytes] = mapped_column(LargeBinary)  # the PKCE verifier, sealed
    redirect_uri: Mapped[str] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
