"""Request and response bodies of /api/folders."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

NAME_LENGTH = 100
MAX_POSITION = 1_000_000


def _clean_name(value: str) -> str:
    value = " ".join(value.split())
    if not value:
        raise ValueError("a folder name cannot be blank")
    return value


class FolderCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=NAME_LENGTH, examples=["Work"])

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _clean_name(value)


class FolderUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=NAME_LENGTH)
    position: int | None = Field(
        default=None,
        ge=0,
        le=MAX_POSITION,
        description="Where the folder goes in the list: folders are listed by position, then "
        "by when they were made.",
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        return None if value is None else _clean_name(value)

    @model_validator(mode="after")
    def _something(self) -> FolderUpdate:
        if self.name is None and self.position is None:
            raise ValueError("give a name, a position or both")
        return self


class FolderOut(BaseModel):
    id: uuid.UUID
    name: str
    position: int
    created_at: datetime
    updated_at: datetime
