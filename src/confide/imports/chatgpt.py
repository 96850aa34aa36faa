"""ChatGPT's `conversations.json` (Settings > Data controls > Export): one conversation a plan.

A conversation is a tree: `mapping` holds every node (`{id, message, parent, children}`), and
edits and regenerations give a node several children; `current_node` is the end of the path
ChatGPT showed. Every node with a user's or the assistant's text becomes a message following
its nearest kept ancestor, so the branches stay branches; what Confide cannot show or send to a
model is left out and reported: system and hidden messages, tool calls and results (browsing,
code interpreter, plugins), content that is not text, empty messages. An image part of a
multimodal message is reported and the message keeps its text. The empty, hidden system
message every conversation starts with is structure, not content: left out silently.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from confide.imports.plan import PlannedMessage, ThreadPlan
from confide.threads.service import NewMessage

TEXT_TYPES = ("text", "multimodal_text")


def conversation_name(conversation: Any, index: int) -> str:
    """How the report names a conversation: its title, its id, or its place in the file."""
    if isinstance(conversation, dict):
        for key in ("title", "id", "conversation_id"):
            value = conversation.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()[:200]
    return f"conversation {index + 1}"


def timestamp(value: Any) -> datetime | None:
    """A ChatGPT `create_time` (seconds since 1970, a float) as a UTC datetime."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def plan_conversation(conversation: Any, index: int) -> ThreadPlan:
    """The thread one conversation becomes (a plan with no messages if there is nothing to
    keep; its `skipped` says why)."""
    name = conversation_name(conversation, index)
    plan = ThreadPlan(name=name, title=None, created_at=None, messages=[], active=None)
    mapping = conversation.get("mapping") if isinstance(conversation, dict) else None
    if not isinstance(mapping, dict):
        plan.skip("not a ChatGPT conversation (no `mapping`)")
        return plan
    title = conversation.get("title")
    plan.title = (title.strip()[:200] or None) if isinstance(title, str) else None
    plan.created_at = timestamp(conversation.get("create_time"))

    kept: dict[str, NewMessage] = {}
    times: dict[str, datetime | None] = {}
    parents: dict[str, str | None] = {}
    for node_id, node in mapping.items():
        if not isinstance(node, dict):
            continue
        parent = node.get("parent")
        parents[str(node_id)] = parent if isinstance(parent, str) else None
        message = node.get("message")
        if not isinstance(message, dict):
            continue  # the root: structure only
        text, reason = _text_of(message)
        if reason is not None:
            if reason:
                plan.skip(reason, str(node_id))
            continue
        if _has_image_parts(message):
            plan.skip("an image in the message: its text is kept", str(node_id))
        role = str(_object(message.get("author")).get("role"))
        kept[str(node_id)] = NewMessage(role=role, content=text)
        times[str(node_id)] = timestamp(message.get("create_time"))

    def kept_ancestor(node_id: str | None) -> str | None:
        seen: set[str] = set()
        while node_id is not None and node_id not in kept and node_id not in seen:
            seen.add(node_id)
            node_id = parents.get(node_id)
        return node_id if node_id in kept else None

    for node_id, message in kept.items():
        plan.messages.append(
            PlannedMessage(
                key=node_id,
                parent=kept_ancestor(parents.get(node_id)),
                message=message,
                created_at=times[node_id],
            )
        )
    current = conversation.get("current_node")
    plan.active = kept_ancestor(current) if isinstance(current, str) else None
    return plan


def _text_of(message: dict[str, Any]) -> tuple[str, str | None]:
    """The message's text, or why it is left out ("" to leave it out without a word)."""
    author = _object(message.get("author"))
    role = author.get("role")
    content = _object(message.get("content"))
    content_type = content.get("content_type")
    metadata = _object(message.get("metadata"))
    text = _joined_text(content) if content_type in TEXT_TYPES else ""
    hidden = bool(metadata.get("is_visually_hidden_from_conversation"))
    if role == "system":
        return "", "" if hidden and not text.strip() else "a system message"
    if hidden:
        return "", "a hidden message"
    if role == "tool":
        tool = author.get("name")
        return "", f"a tool's output ({tool})" if isinstance(tool, str) else "a tool's output"
    if role not in ("user", "assistant"):
        return "", f"a message from {role!r}"
    recipient = message.get("recipient")
    if role == "assistant" and recipient not in (None, "all"):
        return "", f"a tool call (to {recipient})"
    if content_type not in TEXT_TYPES:
        return "", f"content of type {content_type!r}, not text"
    if not text.strip():
        return "", "an image without text" if _has_image_parts(message) else "an empty message"
    return text, None


def _joined_text(content: dict[str, Any]) -> str:
    parts = content.get("parts")
    if not isinstance(parts, list):
        text = content.get("text")
        return text if isinstance(text, str) else ""
    return "\n\n".join(part for part in parts if isinstance(part, str) and part)


def _has_image_parts(message: dict[str, Any]) -> bool:
    content = message.get("content")
    parts = content.get("parts") if isinstance(content, dict) else None
    return isinstance(parts, list) and any(isinstance(part, dict) for part in parts)


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
