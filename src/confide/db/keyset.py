"""Keyset pagination in SQL: one page of rows ordered newest first by (time, id)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TypeVarTuple

from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import InstrumentedAttribute

Ts = TypeVarTuple("Ts")  # the selected columns, however many


def newest_first_page(
    stmt: Select[*Ts],
    *,
    time: InstrumentedAttribute[datetime],
    key: InstrumentedAttribute[uuid.UUID],
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Select[*Ts]:
    """`stmt` ordered by (time, key) descending, starting after the row `after` names."""
    if after is not None:
        at, last_key = after
        stmt = stmt.where(or_(time < at, and_(time == at, key < last_key)))
    return stmt.order_by(time.desc(), key.desc()).limit(limit)
