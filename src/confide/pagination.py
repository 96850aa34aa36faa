"""Keyset pagination shared by every list endpoint: `{"items": [...], "next_cursor": ...}`."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

from confide.errors import BadRequest

T = TypeVar("T")
DEFAULT_LIMIT = 50
MAX_LIMIT = 100


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


class InvalidCursor(BadRequest):
    code = "invalid_cursor"
    title = "The cursor is not valid"


def encode_cursor(values: list[Any]) -> str:
    raw = json.dumps(values, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str, *, length: int) -> list[Any]:
    """The keyset values of a cursor this server issued; InvalidCursor otherwise."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError):
        raise InvalidCursor from None
    if not isinstance(values, list) or len(values) != length:
        raise InvalidCursor
    return values


def cursor_datetime(raw: Any) -> datetime:
    """A timezone-aware UTC datetime from a cursor value, or InvalidCursor."""
    try:
        value = datetime.fromisoformat(str(raw))
        if value.tzinfo is None:
            raise InvalidCursor
        return value.astimezone(UTC)
    except (ValueError, OverflowError):
        raise InvalidCursor from None


def cursor_uuid(raw: Any) -> uuid.UUID:
    try:
        return uuid.UUID(str(raw))
    except ValueError:
        raise InvalidCursor from None


CursorParam = Annotated[str | None, Query(max_length=512, description="From `next_cursor`.")]
LimitParam = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"At most {MAX_LIMIT}.")]


def after_time_and_id(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    """Where a list ordered by (time, id) resumes: the cursor `next_time_and_id` made."""
    if not cursor:
        return None
    raw_time, raw_id = decode_cursor(cursor, length=2)
    return cursor_datetime(raw_time), cursor_uuid(raw_id)


def next_time_and_id(rows: Sequence[Any], limit: int, *, time: str = "created_at") -> str | None:
    """The next page's cursor for rows fetched with `limit + 1` (None on the last page)."""
    if len(rows) <= limit:
        return None
    last = rows[limit - 1]
    return encode_cursor([getattr(last, time).isoformat(), str(last.id)])
