"""`trusted_thread_out` (threads/service.py) builds a `ThreadOut` without pydantic's
`model_construct`: it must stay the same model a validated one is, field for field and byte
for byte, on whatever pydantic version is installed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from confide.threads.schemas import ThreadOut, ThreadOwner
from confide.threads.service import trusted_thread_out


def _values(**changes: Any) -> dict[str, Any]:
    owner = ThreadOwner(id=uuid.uuid4(), email="ada@example.com", display_name=None)
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "agent_id": "helper",
        "title": "Figures, once more",
        "created_at": datetime(2026, 12, 1, 9, 30, tzinfo=UTC),
        "last_activity_at": datetime(2026, 12, 2, 10, 0, 5, 123456, tzinfo=UTC),
        "message_count": 12,
        "active_leaf_id": uuid.uuid4(),
        "active_run_id": uuid.uuid4(),
        "owner": owner,
        "shared": True,
        "folder_id": uuid.uuid4(),
        "pinned": True,
        "archived": False,
    }
    values.update(changes)
    return values


@pytest.mark.parametrize("changes", [{}, {"title": None, "active_run_id": None, "shared": False}])
def test_a_trusted_thread_is_the_validated_one(changes: dict[str, Any]) -> None:
    values = _values(**changes)
    validated = ThreadOut.model_validate(values)
    trusted = trusted_thread_out(dict(values))
    assert type(trusted) is ThreadOut
    assert trusted == validated
    assert trusted.model_dump_json() == validated.model_dump_json()
    assert trusted.model_fields_set == validated.model_fields_set
    assert trusted.model_dump(exclude_unset=True) == validated.model_dump(exclude_unset=True)


def test_it_takes_every_field_and_no_other() -> None:
    """A field added to `ThreadOut` must be added to `thread_out` too."""
    assert set(_values()) == set(ThreadOut.model_fields)


def test_trusted_threads_do_not_share_their_fields_set() -> None:
    first, second = trusted_thread_out(_values()), trusted_thread_out(_values())
    first.title = "renamed"
    assert first.model_fields_set is not second.model_fields_set
