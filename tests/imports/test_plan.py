"""The tool-call repair over any tree (property-based): every path of what an import writes
keeps OpenAI's rule, nothing is lost without a word, parents are written first."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from confide.imports.plan import PlannedMessage, ThreadPlan, in_writing_order, repaired
from confide.threads.service import NewMessage
from tests.invariant import Row, thread_problems

CALL_IDS = ["c1", "c2", "c3"]


@st.composite
def plans(draw: st.DrawFn) -> ThreadPlan:
    size = draw(st.integers(min_value=1, max_value=25))
    messages = []
    for index in range(size):
        parent = draw(st.one_of(st.none(), st.integers(0, size - 1)))  # later: cycles too
        if parent is not None and draw(st.integers(0, 20)) == 0:
            parent = size + 5  # a parent missing from the file
        role = draw(st.sampled_from(["user", "assistant", "tool", "assistant"]))
        calls: list[dict[str, Any]] | None = None
        call_id = None
        if role == "assistant" and draw(st.booleans()):
            ids = draw(st.lists(st.sampled_from(CALL_IDS), min_size=1, max_size=3))
            calls = [
                {"id": i, "type": "function", "function": {"name": "f", "arguments": "{}"}}
                for i in ids
            ]
        if role == "tool":
            call_id = draw(st.sampled_from([*CALL_IDS, "c9"]))
        messages.append(
            PlannedMessage(
                key=f"m{index}",
                parent=None if parent is None else f"m{parent}",
                message=NewMessage(
                    role=role, content=f"m{index}", tool_calls=calls, tool_call_id=call_id
                ),
            )
        )
    active = draw(st.one_of(st.none(), st.integers(0, size - 1)))
    return ThreadPlan(
        name="t",
        title=None,
        created_at=None,
        messages=messages,
        active=None if active is None else f"m{active}",
    )


def _paths(plan: ThreadPlan) -> list[list[PlannedMessage]]:
    children: dict[str | None, list[PlannedMessage]] = {}
    for m in plan.messages:
        children.setdefault(m.parent, []).append(m)
    found, stack = [], [[m] for m in children.get(None, [])]
    while stack:
        path = stack.pop()
        below = children.get(path[-1].key, [])
        if not below:
            found.append(path)
        stack.extend([*path, child] for child in below)
    return found


@settings(max_examples=400, deadline=None, derandomize=True)
@given(plans())
def test_every_path_keeps_the_tool_call_rule(plan: ThreadPlan) -> None:
    keys = {m.key for m in plan.messages}
    fixed = repaired(plan)
    kept = {m.key for m in fixed.messages}
    reported = {s.message_id for s in fixed.skipped}
    assert keys <= kept | reported, "a message left out without a word"
    for path in _paths(fixed):
        rows = [
            Row(
                seq=position,
                role=m.message.role,
                tool_call_ids=tuple(c["id"] for c in m.message.tool_calls or ()),
                tool_call_id=m.message.tool_call_id,
            )
            for position, m in enumerate(path, start=1)
        ]
        assert thread_problems(rows, message_count=len(rows)) == [], [m.key for m in path]
    if fixed.messages:
        assert fixed.active in kept
        assert not any(m.parent == fixed.active for m in fixed.messages), "active is a leaf"
    else:
        assert fixed.active is None
    written: set[str] = set()
    for m in in_writing_order(fixed):
        assert m.parent is None or m.parent in written
        written.add(m.key)
    assert written == kept
