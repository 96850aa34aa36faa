"""Stored messages (OpenAI chat format) to pydantic-ai's message types, and back."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pydantic_ai.messages import (
    BinaryContent,
    ImageUrl,
    ModelMessage,
    ModelRequest,
    ModelRequestPart,
    ModelResponse,
    RetryPromptPart,
    SystemPromptPart,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
    UserContent,
    UserPromptPart,
)


def to_model_messages(
    system_prompt: str | None, history: list[dict[str, Any]]
) -> list[ModelMessage]:
    """The conversation as pydantic-ai sends it to a model.

    Consecutive user/tool messages form one request; each assistant message is one response.
    """
    messages: list[ModelMessage] = []
    pending: list[ModelRequestPart] = []
    if system_prompt:
        pending.append(SystemPromptPart(system_prompt))
    names: dict[str, str] = {}  # tool_call_id -> tool name, for the tool messages
    for message in history:
        role = message["role"]
        if role == "assistant":
            if pending:
                messages.append(ModelRequest(parts=pending))
                pending = []
            parts: list[TextPart | ToolCallPart] = []
            if message.get("content"):
                parts.append(TextPart(message["content"]))
            for call in message.get("tool_calls") or []:
                function = call["function"]
                names[call["id"]] = function["name"]
                parts.append(
                    ToolCallPart(function["name"], function["arguments"], tool_call_id=call["id"])
                )
            messages.append(ModelResponse(parts=parts))
        elif role == "tool":
            call_id = message.get("tool_call_id") or ""
            pending.append(
                ToolReturnPart(
                    names.get(call_id, message.get("name") or "tool"),
                    message.get("content") or "",
                    tool_call_id=call_id,
                )
            )
        elif role == "system":
            pending.append(SystemPromptPart(message.get("content") or ""))
        elif pending and isinstance(pending[-1], UserPromptPart):
            # Two user messages in a row (the run between them failed before any text): one
            # message to the model, as some servers refuse two user turns in a row.
            previous = pending[-1].content
            content = user_content(message.get("content"))
            if isinstance(previous, str) and isinstance(content, str):
                pending[-1] = UserPromptPart(f"{previous}\n\n{content}")
            else:
                pending[-1] = UserPromptPart([*_as_list(previous), "\n\n", *_as_list(content)])
        else:
            pending.append(UserPromptPart(user_content(message.get("content"))))
    if pending:
        messages.append(ModelRequest(parts=pending))
    return messages


def to_openai_messages(messages: list[ModelMessage]) -> list[dict[str, Any]]:
    """pydantic-ai messages as OpenAI chat messages (what the scripted model reads)."""
    out: list[dict[str, Any]] = []
    for message in messages:
        if isinstance(message, ModelResponse):
            text = "".join(p.content for p in message.parts if isinstance(p, TextPart))
            calls = [
                {
                    "id": p.tool_call_id,
                    "type": "function",
                    "function": {"name": p.tool_name, "arguments": p.args_as_json_str()},
                }
                for p in message.parts
                if isinstance(p, ToolCallPart)
            ]
            entry: dict[str, Any] = {"role": "assistant", "content": text or None}
            if calls:
                entry["tool_calls"] = calls
            out.append(entry)
            continue
        for part in message.parts:
            if isinstance(part, SystemPromptPart):
                out.append({"role": "system", "content": part.content})
            elif isinstance(part, UserPromptPart):
                out.append({"role": "user", "content": openai_user_content(part.content)})
            elif isinstance(part, ToolReturnPart):
                content = (
                    part.content if isinstance(part.content, str) else json.dumps(part.content)
                )
                out.append({"role": "tool", "tool_call_id": part.tool_call_id, "content": content})
            elif isinstance(part, RetryPromptPart):
                out.append(
                    {
                        "role": "tool",
                        "tool_call_id": part.tool_call_id,
                        "content": part.model_response(),
                    }
                )
    return out


def user_content(content: Any) -> str | list[UserContent]:
    """A user message's OpenAI content as pydantic-ai's: a string, or (a message with files,
    files/attachments.py) its text parts as strings and its images as BinaryContent."""
    if not isinstance(content, list):
        return content or ""
    parts: list[UserContent] = []
    for part in content:
        if part.get("type") == "text":
            parts.append(str(part.get("text") or ""))
        elif part.get("type") == "image_url":
            url = str((part.get("image_url") or {}).get("url") or "")
            parts.append(
                BinaryContent.from_data_uri(url) if url.startswith("data:") else ImageUrl(url)
            )
    return parts


def openai_user_content(content: str | Sequence[UserContent]) -> str | list[dict[str, Any]]:
    """pydantic-ai's user content in OpenAI's format (what the scripted model reads)."""
    if isinstance(content, str):
        return content
    parts: list[dict[str, Any]] = []
    for item in content:
        if isinstance(item, str):
            parts.append({"type": "text", "text": item})
        elif isinstance(item, BinaryContent) and item.is_image:
            parts.append({"type": "image_url", "image_url": {"url": item.data_uri}})
        elif isinstance(item, ImageUrl):
            parts.append({"type": "image_url", "image_url": {"url": item.url}})
        else:
            parts.append({"type": "text", "text": str(item)})
    return parts


def _as_list(content: str | Sequence[UserContent]) -> list[UserContent]:
    return [content] if isinstance(content, str) else list(content)
