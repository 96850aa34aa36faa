"""Request and response bodies of the phone routes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


@dataclass(frozen=True, slots=True)
class PhoneState:
    """The caller's phone as the service shows it: the number opened from its sealed form."""

    number: str
    verified_at: datetime | None


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PhoneOut(BaseModel):
    number: str = Field(description="E.164: + and the country code and number.")
    verified: bool
    verified_at: datetime | None

    @classmethod
    def of(cls, phone: PhoneState) -> PhoneOut:
        return cls(
            number=phone.number,
            verified=phone.verified_at is not None,
            verified_at=phone.verified_at,
        )


class PhoneRequest(_Body):
    number: str = Field(
        min_length=1,
        max_length=64,
        description="International form: + then 8 to 15 digits (spaces, dashes and "
        "parentheses between them are dropped).",
    )


class PhoneCodeRequest(_Body):
    code: str = Field(min_length=1, max_length=32, description="The 6 digits sent by SMS.")
