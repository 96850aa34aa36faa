"""The mock LLM's OpenAI features that real clients lean on: forced tool calls, tool names in
another case and structured output (`response_format`).

Over real HTTP with the official openai SDK and pydantic-ai; the schema filler behind forced calls
and structured output has its own tests in test_mockllm_schema.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import openai
import pytest
from openai import AsyncOpenAI

from tests.agents.test_mockllm_schema import Order, Part
from tests.mockllm_server import serve_mock_llm

MODEL = "confide-scripted"


def function_tool(name: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    parameters = {"type": "object", "properties": properties, "required": required}
    return {"type": "function", "function": {"name": name, "parameters": parameters}}


ADD_TOOL = function_tool("add", {"a": {"type": "number"}, "b": {"type": "number"}}, ["a", "b"])
TIME_TOOL = function_tool("current_time", {"timezone": {"type": "string"}}, ["timezone"])
LOOKUP_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "lookup",
        "description": "Look something up.",
        "parameters": {
            "type": "object",
            "properties": {
                "query": {"type": "string", "minLength": 3},
                "limit": {"type": "integer", "minimum": 1},
                "exact": {"type": "boolean"},
                "mode": {"enum": ["fast", "thorough"]},
                "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2},
                "where": {"$ref": "#/$defs/Place"},
                "note": {"type": "string"},
            },
            "required": ["query", "limit", "exact", "mode", "tags", "where"],
            "$defs": {
                "Place": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}, "zip": {"type": ["string", "null"]}},
                    "required": ["city", "zip"],
                }
            },
        },
    },
}
LOOKUP_ARGUMENTS = {
    "query": "aaa",
    "limit": 1,
    "exact": False,
    "mode": "fast",
    "tags": ["", ""],
    "where": {"city": "", "zip": ""},
}


EXPECTED_ORDER = Order(
    title="",
    placed=datetime.fromisoformat("1970-01-01T00:00:00+00:00"),
    parts=[],
    main=Part(kind="bolt", count=2),
    spare=Part(kind="bolt", count=2),
    rush=False,
)


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    """A real uvicorn serving the mock LLM in a background thread."""
    with serve_mock_llm() as url:
        yield url


def client(base_url: str) -> AsyncOpenAI:
    return AsyncOpenAI(base_url=base_url, api_key="x", max_retries=0)


async def ask(base_url: str, *, stream: bool, **request: Any) -> tuple[Any, str | None, str]:
    """(tool calls as (name, arguments) pairs, text, finish reason), streamed or not."""
    async with client(base_url) as llm:
        if not stream:
            reply = await llm.chat.completions.create(model=MODEL, **request)
            choice = reply.choices[0]
            calls = [
                (c.function.name, json.loads(c.function.arguments))
                for c in choice.message.tool_calls or []
            ]
            return calls, choice.message.content, choice.finish_reason
        chunks = await llm.chat.completions.create(model=MODEL, stream=True, **request)
        text, finish, assembled = None, "", {}
        async for chunk in chunks:
            choice = chunk.choices[0]
            finish = choice.finish_reason or finish
            if choice.delta.content is not None:
                text = (text or "") + choice.delta.content
            for delta in choice.delta.tool_calls or []:
                call = assembled.setdefault(delta.index, {"name": "", "arguments": ""})
                if delta.function:
                    call["name"] += delta.function.name or ""
                    call["arguments"] += delta.function.arguments or ""
        calls = [(c["name"], json.loads(c["arguments"])) for c in assembled.values()]
        return calls, text or None, finish


def user(text: str) -> list[Any]:
    return [{"role": "user", "content": text}]


def after_a_call(question: str, name: str, arguments: str, result: str) -> list[Any]:
    """A conversation in which the model called `name` once and the client answered it."""
    call = {
        "id": "call_1_x",
        "type": "function",
        "function": {"name": name, "arguments": arguments},
    }
    return [
        *user(question),
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1_x", "content": result},
    ]


# Forced tool calls -----------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
async def test_tool_choice_required_forces_a_call_built_from_the_schema(
    base_url: str, stream: bool
) -> None:
    calls, text, finish = await ask(
        base_url, stream=stream, messages=user("hello"), tools=[LOOKUP_TOOL], tool_choice="required"
    )
    assert calls == [("lookup", LOOKUP_ARGUMENTS)]
    assert text is None
    assert finish == "tool_calls"


@pytest.mark.parametrize("stream", [False, True])
async def test_named_tool_choice_forces_that_tool(base_url: str, stream: bool) -> None:
    choice = {"type": "function", "function": {"name": "current_time"}}
    calls, _, finish = await ask(
        base_url,
        stream=stream,
        messages=user("hello"),
        tools=[ADD_TOOL, TIME_TOOL],
        tool_choice=choice,
    )
    assert calls == [("current_time", {"timezone": ""})]
    assert finish == "tool_calls"


async def test_forced_call_reads_its_arguments_from_the_last_user_message(base_url: str) -> None:
    messages = after_a_call(
        "what time is it in Tokyo", "current_time", '{"timezone": "Asia/Tokyo"}', "14:05"
    )
    calls, _, _ = await ask(
        base_url, stream=False, messages=messages, tools=[TIME_TOOL], tool_choice="required"
    )
    assert calls == [("current_time", {"timezone": "Asia/Tokyo"})]


async def test_forced_call_keeps_the_models_own_calls(base_url: str) -> None:
    messages = user("add 5 and 3 and tell me the time in Tokyo")
    calls, _, _ = await ask(
        base_url,
        stream=False,
        messages=messages,
        tools=[ADD_TOOL, TIME_TOOL],
        tool_choice="required",
    )
    assert calls == [("add", {"a": 5, "b": 3}), ("current_time", {"timezone": "Asia/Tokyo"})]


async def test_required_after_tool_results_calls_a_tool_not_yet_called(base_url: str) -> None:
    messages = after_a_call("add 5 and 3", "add", '{"a": 5, "b": 3}', "8")
    calls, _, _ = await ask(
        base_url,
        stream=False,
        messages=messages,
        tools=[ADD_TOOL, LOOKUP_TOOL],
        tool_choice="required",
    )
    assert calls == [("lookup", LOOKUP_ARGUMENTS)]


async def test_allowed_tools_in_required_mode_force_one_of_them(base_url: str) -> None:
    choice = {
        "type": "allowed_tools",
        "allowed_tools": {
            "mode": "required",
            "tools": [{"type": "function", "function": {"name": "lookup"}}],
        },
    }
    calls, _, _ = await ask(
        base_url,
        stream=False,
        messages=user("add 5 and 3"),
        tools=[ADD_TOOL, LOOKUP_TOOL],
        tool_choice=choice,
    )
    assert calls == [("lookup", LOOKUP_ARGUMENTS)]


@pytest.mark.parametrize(
    ("tools", "tool_choice"),
    [
        ([], "required"),
        ([ADD_TOOL], {"type": "function", "function": {"name": "subtract"}}),
        ([ADD_TOOL], "sometimes"),
    ],
)
async def test_a_tool_choice_that_cannot_be_honoured_is_a_400(
    base_url: str, tools: list[Any], tool_choice: Any
) -> None:
    async with client(base_url) as llm:
        with pytest.raises(openai.BadRequestError) as caught:
            await llm.chat.completions.create(
                model=MODEL, messages=user("add 5 and 3"), tools=tools, tool_choice=tool_choice
            )
    assert caught.value.param == "tool_choice"
    assert "tool_choice" in caught.value.message


async def test_unbuildable_parameters_of_a_forced_tool_are_a_400(base_url: str) -> None:
    tool = function_tool("code", {"pin": {"type": "string", "pattern": "^[0-9]{4}$"}}, ["pin"])
    async with client(base_url) as llm:
        with pytest.raises(openai.BadRequestError) as caught:
            await llm.chat.completions.create(
                model=MODEL, messages=user("hello"), tools=[tool], tool_choice="required"
            )
    assert caught.value.param == "tools"
    assert "pattern" in caught.value.message


async def test_pydantic_ai_structured_output_through_forced_tool_calls(base_url: str) -> None:
    from pydantic_ai import Agent
    from pydantic_ai.models import override_allow_model_requests
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    llm = client(base_url)
    agent = Agent(
        OpenAIChatModel(MODEL, provider=OpenAIProvider(openai_client=llm)), output_type=Order
    )
    added: list[tuple[float, float]] = []

    @agent.tool_plain
    def add(a: float, b: float) -> float:
        """Add two numbers."""
        added.append((a, b))
        return a + b

    # Without text output, pydantic-ai sends tool_choice "required" with its output tool.
    async with llm:
        with override_allow_model_requests(True):
            result = await agent.run("add 5 and 3")
    assert result.output == EXPECTED_ORDER
    assert added == [(5, 3)]


# Tool names in another case -------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
async def test_tool_names_match_case_insensitively(base_url: str, stream: bool) -> None:
    tools = [
        function_tool("Add", {"a": {"type": "number"}, "b": {"type": "number"}}, ["a", "b"]),
        function_tool("CALCULATOR", {"expression": {"type": "string"}}, ["expression"]),
        function_tool("Current_Time", {"timezone": {"type": "string"}}, ["timezone"]),
    ]
    messages = user("add 5 and 3, calculate 6*7 and tell me the time in Tokyo")
    calls, _, _ = await ask(base_url, stream=stream, messages=messages, tools=tools)
    assert calls == [
        ("Add", {"a": 5, "b": 3}),
        ("CALCULATOR", {"expression": "6*7"}),
        ("Current_Time", {"timezone": "Asia/Tokyo"}),
    ]

    # The model knows its calls again when the results come back.
    ids = [f"call_{n}" for n in range(3)]
    results = ["8", "42", '{"timezone": "Asia/Tokyo", "iso": "2025-06-03T14:05:00+09:00"}']
    messages.append(
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": i, "type": "function", "function": {"name": n, "arguments": json.dumps(a)}}
                for i, (n, a) in zip(ids, calls, strict=True)
            ],
        }
    )
    messages += [
        {"role": "tool", "tool_call_id": i, "content": r} for i, r in zip(ids, results, strict=True)
    ]
    _, text, _ = await ask(base_url, stream=stream, messages=messages, tools=tools)
    assert text == "5 + 3 = 8. 6*7 = 42. It is 14:05 in Tokyo (Asia/Tokyo)."


async def test_an_exact_tool_name_wins_over_another_spelling(base_url: str) -> None:
    shouting = function_tool("ADD", {"a": {"type": "number"}, "b": {"type": "number"}}, ["a", "b"])
    calls, _, _ = await ask(
        base_url, stream=False, messages=user("add 5 and 3"), tools=[shouting, ADD_TOOL]
    )
    assert calls == [("add", {"a": 5, "b": 3})]


# Structured output ----------------------------------------------------------------------------


async def test_response_format_text_is_the_plain_answer(base_url: str) -> None:
    _, plain, _ = await ask(base_url, stream=False, messages=user("hello"))
    _, text, finish = await ask(
        base_url, stream=False, messages=user("hello"), response_format={"type": "text"}
    )
    assert text == plain
    assert finish == "stop"


@pytest.mark.parametrize("stream", [False, True])
async def test_response_format_json_object_answers_a_json_object(
    base_url: str, stream: bool
) -> None:
    _, plain, _ = await ask(base_url, stream=False, messages=user("hello"))
    _, text, _ = await ask(
        base_url, stream=stream, messages=user("hello"), response_format={"type": "json_object"}
    )
    assert json.loads(text or "") == {"answer": plain}


async def test_sdk_parse_gets_the_smallest_object_the_schema_accepts(base_url: str) -> None:
    async with client(base_url) as llm:
        reply = await llm.chat.completions.parse(
            model=MODEL, messages=user("hello"), response_format=Order
        )
    assert reply.choices[0].message.parsed == EXPECTED_ORDER


async def test_streamed_json_schema_answer_matches_the_plain_one(base_url: str) -> None:
    schema = Order.model_json_schema()
    response_format = {"type": "json_schema", "json_schema": {"name": "order", "schema": schema}}
    answers = [
        (await ask(base_url, stream=stream, messages=user("hi"), response_format=response_format))[
            1
        ]
        for stream in (False, True)
    ]
    assert answers[0] == answers[1]
    assert Order.model_validate_json(answers[1] or "") == EXPECTED_ORDER


async def test_pydantic_ai_native_output(base_url: str) -> None:
    from pydantic_ai import Agent, NativeOutput
    from pydantic_ai.models import override_allow_model_requests
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    llm = client(base_url)
    model = OpenAIChatModel(MODEL, provider=OpenAIProvider(openai_client=llm))
    agent = Agent(model, output_type=NativeOutput(Order))
    async with llm:
        with override_allow_model_requests(True):
            result = await agent.run("hello")
    assert result.output == EXPECTED_ORDER


@pytest.mark.parametrize(
    ("response_format", "says"),
    [
        ({"type": "xml"}, "'xml'"),
        ("json", "'json'"),
        ({"type": "json_schema"}, "json_schema.schema"),
        ({"type": "json_schema", "json_schema": {"name": "x"}}, "json_schema.schema"),
        (
            {"type": "json_schema", "json_schema": {"name": "x", "schema": {"not": {}}}},
            "`not` is not supported",
        ),
    ],
)
async def test_a_response_format_that_cannot_be_honoured_is_a_400(
    base_url: str, response_format: Any, says: str
) -> None:
    async with client(base_url) as llm:
        with pytest.raises(openai.BadRequestError) as caught:
            await llm.chat.completions.create(
                model=MODEL, messages=user("hello"), response_format=response_format
            )
    assert caught.value.param == "response_format"
    assert caught.value.code is None
    assert "Cannot honour response_format" in caught.value.message
    assert says in caught.value.message
