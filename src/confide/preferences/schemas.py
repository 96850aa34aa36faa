"""Request and response bodies of /api/me/settings."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

MAX_RETENTION_DAYS = 36_500  # a hundred years: "forever" is null, not a big number


class SettingsOut(BaseModel):
    memory_enabled: bool = Field(
        description="Facts are remembered from new messages and given to later runs."
    )
    retention_days: int | None = Field(
        description="Days a conversation is kept after its last activity; null: forever."
    )
    updated_at: datetime | None = Field(description="Null while every setting is the default.")


class SettingsPatch(BaseModel):
    """Only the fields given change."""

    model_config = ConfigDict(extra="forbid")

    memory_enabled: bool | None = None
    retention_days: int | None = Field(default=None, ge=1, le=MAX_RETENTION_DAYS)
