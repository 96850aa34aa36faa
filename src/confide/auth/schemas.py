"""Request and response bodies of /api/auth."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from confide.auth.emails import check_email


class WriteModel(BaseModel):
    """Request bodies refuse fields they do not know (`is_admin`, `id`, `role`...)."""

    model_config = ConfigDict(extra="forbid", str_max_length=4096)


class RegisterRequest(WriteModel):
    email: str = Field(max_length=320, examples=["alice@example.org"])
    password: str = Field(max_length=1024)
    display_name: str | None = Field(default=None, min_length=1, max_length=100)
    invite: str | None = Field(
        default=None,
        min_length=1,
        max_length=256,
        description="The token of an invitation (`/register?invite=<token>`): needed under "
        "CONFIDE_REGISTRATION=invite; gives the invitation's roles, and skips approval.",
    )

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return check_email(value)

    @field_validator("display_name")
    @classmethod
    def _display_name(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if not value:
            raise ValueError("a display name cannot be blank")
        return value


class LoginRequest(WriteModel):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)
    mode: Literal["bearer", "cookie"] | None = None


class RefreshRequest(WriteModel):
    refresh_token: str | None = Field(default=None, max_length=256)


class PasswordChangeRequest(WriteModel):
    current_password: str = Field(max_length=1024)
    new_password: str = Field(max_length=1024)


class TokenResponse(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105
    expires_in: int
    session_id: uuid.UUID


class CookieSessionResponse(BaseModel):
    """Browser mode: the tokens travel only in HttpOnly cookies, never in the body."""

    token_type: Literal["cookie"] = "cookie"  # noqa: S105
    expires_in: int
    session_id: uuid.UUID
    csrf_token: str


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    display_name: str | None
    is_admin: bool = Field(description="Holds the built-in `admin` role.")
    created_at: datetime
    status: Literal["active", "disabled", "pending"] = Field(
        "active", description="`pending`: waiting for an administrator's approval."
    )
    roles: list[str] = Field(default_factory=list)
    permissions: list[str] = Field(
        default_factory=list, description="Everything the roles grant; none while pending."
    )
    email_verified: bool = Field(
        True, description="Whether the email was proven by a verification link."
    )


def user_out(user: Any, roles: list[str]) -> UserOut:
    """An account as the API shows it (its permissions only through a live session)."""
    return UserOut(
        id=user.id,
        email=user.email,
        display_name=user.display_name,
        is_admin="admin" in roles,
        created_at=user.created_at,
        status=user.status,
        roles=roles,
        email_verified=user.email_verified_at is not None,
    )


class SessionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    label: str
    ip: str | None
    mode: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    current: bool = False


class WebSocketTicket(BaseModel):
    ticket: str
    expires_in: int
