"""Request and response bodies of /api/admin."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from confide.auth.emails import check_email

UserStatus = Literal["active", "disabled", "pending"]
InviteStatus = Literal["pending", "used", "expired", "revoked"]
UserSort = Literal["-created_at", "created_at", "email", "-email"]

# Lower-case letters, digits, - and _, starting with a letter or digit.
ROLE_NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
MAX_ROLES = 50
MAX_PERMISSIONS = 500
INVITE_DEFAULT_SECONDS = 7 * 86400
INVITE_MAX_SECONDS = 30 * 86400
INVITE_MIN_SECONDS = 60


class WriteModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=4096)


# Users -----------------------------------------------------------------------------------------


class AdminUserOut(BaseModel):
    id: uuid.UUID
    email: str
    display_name: str | None
    status: UserStatus
    roles: list[str] = Field(description="The roles the account holds, by name, sorted.")
    created_at: datetime
    last_sign_in_at: datetime | None = Field(description="When its newest session began.")


class UserPatch(WriteModel):
    status: UserStatus = Field(
        description="`disabled` ends every session of the account at once; `active` approves "
        "a pending account."
    )


class UserRolesPut(WriteModel):
    roles: list[str] = Field(
        max_length=MAX_ROLES, description="The full set of roles the account is to hold."
    )

    @field_validator("roles")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        return sorted(set(value))


# Roles -----------------------------------------------------------------------------------------


class RoleOut(BaseModel):
    name: str
    parent: str | None
    description: str
    builtin: bool
    mfa_required: bool = Field(
        description="Holders (and holders of roles inheriting from it) must turn MFA on "
        "before they can do anything else."
    )
    permissions: list[str] = Field(description="Granted by this role itself.")
    effective_permissions: list[str] = Field(
        description="Everything holding the role grants: its own and its ancestors' grants."
    )
    created_at: datetime
    updated_at: datetime


def _permission_set(value: list[str] | None) -> list[str] | None:
    return None if value is None else sorted(set(value))


class RoleCreate(WriteModel):
    name: str = Field(pattern=ROLE_NAME_PATTERN, max_length=64)
    parent: str | None = Field(default=None, max_length=64)
    permissions: list[str] = Field(default_factory=list, max_length=MAX_PERMISSIONS)
    description: str = Field(default="", max_length=500)
    mfa_required: bool = False

    _permissions = field_validator("permissions")(_permission_set)


class RolePatch(WriteModel):
    """Only the fields sent change; `"parent": null` removes the parent."""

    name: str | None = Field(default=None, pattern=ROLE_NAME_PATTERN, max_length=64)
    parent: str | None = Field(default=None, max_length=64)
    permissions: list[str] | None = Field(default=None, max_length=MAX_PERMISSIONS)
    description: str | None = Field(default=None, max_length=500)
    mfa_required: bool | None = Field(
        default=None, description="The only change the built-in `admin` role accepts."
    )

    _permissions = field_validator("permissions")(_permission_set)

    @model_validator(mode="after")
    def _no_null_but_parent(self) -> RolePatch:
        for name in ("name", "permissions", "description", "mfa_required"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class PermissionOut(BaseModel):
    name: str
    description: str


# Invites ---------------------------------------------------------------------------------------


class InviteCreate(WriteModel):
    email: str | None = Field(
        default=None, max_length=320, description="Only this address may register with it."
    )
    expires_in_seconds: int | None = Field(
        default=None,
        ge=INVITE_MIN_SECONDS,
        le=INVITE_MAX_SECONDS,
        description="Default 7 days, at most 30 days; or give `expires_at`.",
    )
    expires_at: datetime | None = Field(default=None, description="At most 30 days ahead.")
    roles: list[str] = Field(
        default_factory=list,
        max_length=MAX_ROLES,
        description="Roles given on registering, besides `user`.",
    )
    send: bool = Field(
        default=False,
        description="Mail the link to `email`, where the invitee chooses their password.",
    )

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return None if value is None else check_email(value)

    @field_validator("expires_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("give a time zone (e.g. 2030-01-31T12:00:00Z)")
        return value

    @field_validator("roles")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        return sorted(set(value))

    @model_validator(mode="after")
    def _one_expiry(self) -> InviteCreate:
        if self.expires_in_seconds is not None and self.expires_at is not None:
            raise ValueError("give expires_in_seconds or expires_at, not both")
        if self.send and self.email is None:
            raise ValueError("`send` mails the link to `email`: give the address")
        return self


class InviteOut(BaseModel):
    id: uuid.UUID
    email: str | None
    roles: list[str]
    status: InviteStatus
    created_at: datetime
    created_by: uuid.UUID | None
    expires_at: datetime
    used_at: datetime | None
    used_by: uuid.UUID | None
    revoked_at: datetime | None


class InviteCreated(InviteOut):
    token: str = Field(description="Shown once; only its hash is stored.")
    link: str = Field(description="`{CONFIDE_PUBLIC_URL}/register?invite=<token>`.")
