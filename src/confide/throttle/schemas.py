"""Request and response bodies of /api/admin/ip-rules."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

IpRuleAction = Literal["allow", "block"]


class IpRuleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cidr: str = Field(
        min_length=1,
        max_length=64,
        description="An IPv4 or IPv6 address or CIDR range (`203.0.113.0/24`, `2001:db8::/48`).",
    )
    action: IpRuleAction = Field(
        description="`block`: every request from it is refused (403 `ip_blocked`); `allow`: "
        "exempt from blocks, the automatic per-IP sign-in block included."
    )
    note: str = Field(default="", max_length=200)
    expires_at: AwareDatetime | None = Field(
        default=None, description="When the rule stops applying; none: until deleted."
    )


class IpRuleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    cidr: str
    action: IpRuleAction
    note: str
    created_at: datetime
    created_by: uuid.UUID | None
    expires_at: datetime | None
