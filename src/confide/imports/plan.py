"""What an import makes of one conversation before it writes anything: a tree of messages.

Both formats (chatgpt.py, confide_format.py) turn a conversation into a `ThreadPlan`: messages
keyed by the source's own ids, each naming its parent's key, and the key whose path ends
active. `repaired` then makes every path of the tree keep OpenAI's tool-call rule (each call
of an assistant message answered by exactly one tool message, before any other message), and
`in_writing_order` gives the messages parents first, oldest first, as the thread stores them.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from confide.threads.service import NewMessage

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Skip:
    """Something of the file the import left out, and why (shown in the import's report)."""

    conversation: str  # its title (or the source's id when it has none)
    reason: str
    message_id: str | None = None  # the source's id of the message, if it is one


@dataclass(frozen=True, slots=True)
class PlannedMessage:
    key: str  # the source's id for the message
    parent: str | None  # the key of the message it follows (None: a first message)
    message: NewMessage
    created_at: datetime | None = None


@dataclass(slots=True)
class ThreadPlan:
    name: str  # how the report names the conversation
    title: str | None
    created_at: datetime | None
    messages: list[PlannedMessage]
    active: str | None  # the key of a message on the path that ends active
    skipped: list[Skip] = field(default_factory=list)

    def skip(self, reason: str, message_id: str | None = None) -> None:
        self.skipped.append(Skip(conversation=self.name, reason=reason, message_id=message_id))


def repaired(plan: ThreadPlan) -> ThreadPlan:
    """The plan with every path keeping the tool-call rule: a tool message that answers no
    open call is left out (its replies follow its parent), a message that comes before every
    call of its turn is answered moves up to follow the message before that turn, and a turn
    whose calls a path leaves unanswered at its end is left out. Each change is reported."""
    by_key = {m.key: m for m in plan.messages}
    children: dict[str | None, list[PlannedMessage]] = {}
    for m in plan.messages:
        parent = m.parent if m.parent in by_key else None
        if m.parent is not None and m.parent not in by_key:
            plan.skip("its parent is not in the file: made a first message", m.key)
        children.setdefault(parent, []).append(m)

    kept: dict[str, PlannedMessage] = {}
    open_calls: dict[str | None, frozenset[str]] = {None: frozenset()}
    anchor: dict[str | None, str | None] = {None: None}  # last message with no open calls
    replaced: dict[str, str | None] = {}  # a key left out -> where its path now goes on
    order: list[str] = []
    # (message, the kept message it now follows)
    stack: list[tuple[PlannedMessage, str | None]] = [
        (m, None) for m in reversed(children.get(None, []))
    ]
    while stack:
        m, parent = stack.pop()
        if m.key in kept or m.key in replaced:
            continue  # a key seen twice (a cycle): once is enough
        message = m.message
        pending = open_calls[parent]
        if message.role == "tool":
            if message.tool_call_id not in pending:
                plan.skip("a tool result that answers no call of the turn before it", m.key)
                replaced[m.key] = parent
                stack.extend((c, parent) for c in reversed(children.get(m.key, [])))
                continue
            left = pending - {message.tool_call_id}
        else:
            if pending:
                plan.skip(
                    "came before every tool call of its turn was answered: moved before the turn",
                    m.key,
                )
                parent = anchor[parent]
            calls = message.tool_calls or []
            ids = [str(call.get("id", "")) for call in calls]
            if calls and (message.role != "assistant" or len(set(ids)) != len(ids) or "" in ids):
                plan.skip("its tool calls are malformed: kept without them", m.key)
                message = replace(message, tool_calls=None)
                ids = []
            left = frozenset(ids)
        kept[m.key] = PlannedMessage(m.key, parent, message, m.created_at)
        order.append(m.key)
        open_calls[m.key] = left
        if not left:
            anchor[m.key] = m.key
        else:  # a tool result: the turn's start; a call turn: the message it follows
            anchor[m.key] = anchor[parent] if message.role == "tool" else parent
        stack.extend((c, m.key) for c in reversed(children.get(m.key, [])))

    for m in plan.messages:
        if m.key not in kept and m.key not in replaced:
            plan.skip("not reachable from a first message (a cycle of parents)", m.key)
            replaced[m.key] = None

    # Paths that end with calls unanswered: cut back to where no call is open.
    has_children: dict[str | None, int] = {}
    for key in order:
        parent = kept[key].parent
        has_children[parent] = has_children.get(parent, 0) + 1
    for key in reversed(order):
        if has_children.get(key, 0) == 0 and open_calls[key]:
            plan.skip("a tool-call turn the file never finishes: left out", key)
            parent = kept.pop(key).parent
            replaced[key] = parent
            has_children[parent] -= 1

    active = plan.active
    while active is not None and active not in kept:
        active = replaced.get(active)
    plan.messages = [kept[key] for key in order if key in kept]
    plan.active = _newest_leaf_below(plan.messages, active)
    return plan


def _newest_leaf_below(messages: list[PlannedMessage], key: str | None) -> str | None:
    """The end of the path through `key` (None: through the newest first message), taking the
    newest reply at each step."""
    newest: dict[str | None, PlannedMessage] = {}
    for m in messages:
        current = newest.get(m.parent)
        if current is None or _time(m) >= _time(current):
            newest[m.parent] = m
    if key is None and None not in newest:
        return None
    while (below := newest.get(key)) is not None:
        key = below.key
    return key


def _time(m: PlannedMessage) -> datetime:
    return m.created_at or _EPOCH


def in_writing_order(plan: ThreadPlan) -> list[PlannedMessage]:
    """The plan's messages, each after its parent, otherwise oldest first (the order a thread
    stores messages in: `seq` grows along every path)."""
    children: dict[str | None, list[tuple[int, PlannedMessage]]] = {}
    for index, m in enumerate(plan.messages):
        children.setdefault(m.parent, []).append((index, m))
    ready: list[tuple[datetime, int, PlannedMessage]] = []
    for index, m in children.get(None, []):
        heapq.heappush(ready, (_time(m), index, m))
    ordered = []
    while ready:
        _, _, m = heapq.heappop(ready)
        ordered.append(m)
        for index, child in children.get(m.key, []):
            heapq.heappush(ready, (_time(child), index, child))
    return ordered
