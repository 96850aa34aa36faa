"""Request and response bodies of the account-link routes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from confide.auth.emails import MAX_EMAIL_LENGTH, normalize_email

# A token is 43 URL-safe characters (32 random bytes); anything much longer is not one.
TOKEN_FIELD = Field(min_length=1, max_length=128, description="The token from the link.")


class ForgotPasswordRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Not validated as an address: a malformed one must get the same answer as any other.
    email: str = Field(min_length=1, max_length=MAX_EMAIL_LENGTH)

    @field_validator("email")
    @classmethod
    def _normalise(cls, value: str) -> str:
        return normalize_email(value)


class ForgotPasswordAccepted(BaseModel):
    email: str = Field(
        description="The address as received; a link goes there if it has an account."
    )


class ResetPasswordRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = TOKEN_FIELD
    new_password: str = Field(min_length=1, max_length=1024)


class VerifyEmailRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = TOKEN_FIELD


class VerificationSent(BaseModel):
    email: str = Field(description="Where the verification link was sent.")
