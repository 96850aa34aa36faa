"""What the mock LLM answers: the scripted reply shaped by `tool_choice`, tool names and
`response_format`, or by a fault that fixes the answer (`drip`, `empty`)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from typing import Any

from confide.agents.mockllm.faults import DRIP_TEXT, Fault
from confide.agents.mockllm.request import ChatRequest, Refusal, Tool
from confide.agents.mockllm.schema import SchemaError, minimal_value
from confide.agents.models.scripted import (
    ADD,
    CALCULATOR,
    CURRENT_TIME,
    ScriptedReply,
    ScriptedToolCall,
    message_text,
    scripted_reply,
)
from confide.folders.title_rules import MARKER as TITLE_MARKER
from confide.folders.title_rules import MOCK_TITLE_FAIL, mock_title
from confide.memories.facts import MEMORY_TOOL, MOCK_GARBAGE, MOCK_REFUSE, scripted_facts


def model_reply(
    messages: list[dict[str, Any]], body: ChatRequest, fault: Fault | None
) -> ScriptedReply:
    """The model's reply to `body`; raises `Refusal` (a 400) for what it cannot honour."""
    offered = [tool for tool in body.tools or () if tool.function is not None]
    if not offered and any(_is_title_request(m) for m in messages):
        return _title_reply(messages)
    allowed, forced = _tool_choice(body.tool_choice, offered)
    shape = _text_shape(body.response_format)
    if fault and fault.kind == "drip":
        reply = ScriptedReply(text=DRIP_TEXT)
    elif fault and fault.kind == "empty":
        return ScriptedReply(text=None)
    else:
        reply = _tool_reply(messages, offered=offered, allowed=allowed, forced=forced)
    if reply.text is None:
        return reply
    return ScriptedReply(text=shape(reply.text), tool_calls=reply.tool_calls)


def _tool_choice(
    choice: str | dict[str, Any] | None, offered: list[Tool]
) -> tuple[list[Tool], bool]:
    """(the tools the model may call, whether it must call one) for a request's `tool_choice`."""
    if choice is None or choice == "auto":
        return offered, False
    if choice == "none":
        return [], False
    if choice == "required":
        if not offered:
            raise Refusal(
                "tool_choice 'required' needs at least one function in tools.", "tool_choice"
            )
        return offered, True
    if isinstance(choice, dict) and choice.get("type") == "function":
        name = (choice.get("function") or {}).get("name")
        return [_offered_tool(name, offered)], True
    if isinstance(choice, dict) and choice.get("type") == "allowed_tools":
        spec = choice.get("allowed_tools") or {}
        mode, listed = spec.get("mode", "auto"), spec.get("tools")
        listed = listed if isinstance(listed, list) else []
        names = [
            (item.get("function") or {}).get("name") for item in listed if isinstance(item, dict)
        ]
        if mode not in ("auto", "required") or not names:
            raise Refusal("allowed_tools needs a mode (auto or required) and tools.", "tool_choice")
        return [_offered_tool(name, offered) for name in names], mode == "required"
    raise Refusal(
        f"Invalid tool_choice {choice!r}: use 'none', 'auto', 'required', a function "
        "({'type': 'function', 'function': {'name': ...}}) or allowed_tools.",
        "tool_choice",
    )


def _offered_tool(name: Any, offered: list[Tool]) -> Tool:
    for tool in offered:
        assert tool.function is not None
        if tool.function.name == name:
            return tool
    raise Refusal(f"tool_choice names the function {name!r}, which is not in tools.", "tool_choice")


def _tool_reply(
    messages: list[dict[str, Any]], *, offered: list[Tool], allowed: list[Tool], forced: bool
) -> ScriptedReply:
    to_scripted = _spellings(offered)  # the client's spelling -> the scripted model's
    called = _called_since_user(messages)
    for call in (call for message in messages for call in _calls(message)):
        function = call.get("function")  # renamed, so the model knows its calls in the history
        if isinstance(function, dict) and function.get("name") in to_scripted:
            function["name"] = to_scripted[function["name"]]
    names = [tool.function.name for tool in allowed if tool.function is not None]
    to_client = {to_scripted.get(name, name): name for name in names}
    reply = scripted_reply(messages, set(to_client))
    calls = [dataclasses.replace(c, name=to_client.get(c.name, c.name)) for c in reply.tool_calls]
    if calls or not forced:
        return ScriptedReply(text=reply.text, tool_calls=calls)
    target = next((tool for tool in allowed if _name(tool) not in called), allowed[0])
    return ScriptedReply(text=None, tool_calls=[_forced_call(messages, target, to_scripted)])


def _spellings(offered: list[Tool]) -> dict[str, str]:
    """Offered names that are the scripted model's tools spelled otherwise, e.g. {"Add": "add"}."""
    names = [_name(tool) for tool in offered]
    spellings = {}
    for scripted in (ADD, CALCULATOR, CURRENT_TIME):
        other = next((name for name in names if name.lower() == scripted), None)
        if scripted not in names and other is not None:
            spellings[other] = scripted
    return spellings


def _forced_call(
    messages: list[dict[str, Any]], tool: Tool, to_scripted: dict[str, str]
) -> ScriptedToolCall:
    """One call to `tool`, its arguments read from the last user message or its schema."""
    name = _name(tool)
    last_user = next((m for m in reversed(messages) if m["role"] == "user"), None)
    if name == MEMORY_TOOL:  # a memory extraction (memories/extraction.py)
        facts = _memory_arguments(message_text(last_user) if last_user else "")
        return ScriptedToolCall(name=name, arguments=facts, id=_call_id(messages, name, facts))
    scripted_name = to_scripted.get(name, name)
    guess = scripted_reply([last_user], {scripted_name}) if last_user else ScriptedReply(None)
    arguments = next((c.arguments for c in guess.tool_calls if c.name == scripted_name), None)
    if arguments is None:
        assert tool.function is not None
        try:
            arguments = minimal_value(tool.function.parameters or {"type": "object"})
        except SchemaError as exc:
            raise Refusal(
                f"Cannot build arguments for the function {name!r}: {exc}", "tools"
            ) from None
        arguments = {} if arguments is None else arguments  # unconstrained parameters
        if not isinstance(arguments, dict):
            raise Refusal(f"The parameters of the function {name!r} are not an object.", "tools")
    return ScriptedToolCall(name=name, arguments=arguments, id=_call_id(messages, name, arguments))


def _memory_arguments(text: str) -> dict[str, Any]:
    """The facts the scripted rules find, as `save_memories` takes them; garbage, or a
    refusal, when the message asks for it."""
    if MOCK_REFUSE in text:
        raise Refusal("The mock model refuses to extract memories, on purpose.", "tools")
    if MOCK_GARBAGE in text:
        return {"facts": "nothing to see here", "mood": 7}
    return {"facts": [{"key": f.key, "content": f.content} for f in scripted_facts(text)]}


def _is_title_request(message: dict[str, Any]) -> bool:
    """A thread's title asked for (folders/titles.py): its instructions say so."""
    return message["role"] in ("system", "developer") and message_text(message).startswith(
        TITLE_MARKER
    )


def _title_reply(messages: list[dict[str, Any]]) -> ScriptedReply:
    """A title from the conversation's start; a refusal when its question asks for one."""
    last_user = next((m for m in reversed(messages) if m["role"] == "user"), None)
    prompt = message_text(last_user) if last_user else ""
    if MOCK_TITLE_FAIL in prompt:
        raise Refusal("The mock model refuses to title this conversation, on purpose.", "messages")
    return ScriptedReply(text=mock_title(prompt))


def _call_id(messages: list[dict[str, Any]], name: str, arguments: dict[str, Any]) -> str:
    """Numbered after every earlier call, as the scripted model numbers its own."""
    earlier = [call for message in messages for call in _calls(message)]
    taken = {str(call.get("id")) for call in earlier}
    number = len(earlier)
    while True:
        number += 1
        seed = json.dumps([number, name, arguments], sort_keys=True)
        call_id = f"call_{number}_{hashlib.sha256(seed.encode()).hexdigest()[:8]}"
        if call_id not in taken:
            return call_id


def _called_since_user(messages: list[dict[str, Any]]) -> set[str]:
    names: set[str] = set()
    for message in reversed(messages):
        if message["role"] == "user":
            break
        names.update(str((call.get("function") or {}).get("name")) for call in _calls(message))
    return names


def _calls(message: dict[str, Any]) -> list[dict[str, Any]]:
    calls = message.get("tool_calls") if message["role"] == "assistant" else None
    return [call for call in calls or () if isinstance(call, dict)]


def _name(tool: Tool) -> str:
    assert tool.function is not None
    return tool.function.name


def _text_shape(response_format: Any) -> Callable[[str], str]:
    """How to shape the answer's text for `response_format`; refuses what it cannot honour."""
    kind = response_format.get("type") if isinstance(response_format, dict) else response_format
    if response_format is None or kind == "text":
        return lambda text: text
    if kind == "json_object":
        return lambda text: json.dumps({"answer": text})
    if kind == "json_schema":
        spec = response_format.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, dict) else None
        if not isinstance(schema, dict):
            raise Refusal(
                "Cannot honour response_format json_schema without json_schema.schema, "
                "a JSON schema object.",
                "response_format",
            )
        try:
            answer = json.dumps(minimal_value(schema))
        except SchemaError as exc:
            raise Refusal(
                f"Cannot honour response_format json_schema: {exc}", "response_format"
            ) from None
        return lambda _text: answer
    raise Refusal(
        f"Cannot honour response_format {kind!r}: this server answers the types 'text', "
        "'json_object' and 'json_schema'.",
        "response_format",
    )
