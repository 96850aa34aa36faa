"""Tools: schemas from type hints, every outcome of a call, and the built-in tools' safety."""

from __future__ import annotations

import asyncio
import json
import math
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import Field

from confide.agents.tools import ToolContext, ToolOutcome, ToolRegistry, builtin_tools
from confide.agents.tools.builtin import MAX_EXPRESSION_CHARS, describe_time, evaluate

CONTEXT = ToolContext(run_id="r1", thread_id="t1", user_id="u1", agent_id="a1", model="m")


async def call(
    registry: ToolRegistry,
    name: str,
    arguments: str | dict[str, Any] | None,
    *,
    timeout_seconds: float = 5.0,
    context: ToolContext = CONTEXT,
) -> ToolOutcome:
    return await registry.execute(name, arguments, context=context, timeout_seconds=timeout_seconds)


def sample_registry() -> ToolRegistry:
    registry = ToolRegistry()

    @registry.tool
    async def search(
        context: ToolContext,
        query: Annotated[str, Field(description="What to look for")],
        limit: int = 5,
        exact: bool = False,
    ) -> dict[str, Any]:
        """Search the notes.

        The second paragraph is for people, not the model.
        """
        return {"query": query, "limit": limit, "exact": exact, "user": context.user_id}

    @registry.tool(name="divide", timeout_seconds=1.5)
    async def divide_numbers(a: int, b: int = Field(default=1, description="Divisor")) -> float:
        """Divide a by b."""
        return a / b

    @registry.tool
    async def nap(seconds: float) -> str:
        """Sleep for a while."""
        await asyncio.sleep(seconds)
        return "rested"

    @registry.tool
    async def schema(json: str) -> str:
        """Parameter and tool names that are BaseModel attributes still work."""
        return json

    return registry


# Schemas ------------------------------------------------------------------------------------


def test_schema_comes_from_type_hints_and_docstring() -> None:
    spec = sample_registry().get("search")
    assert spec is not None
    assert spec.description == "Search the notes."
    assert spec.takes_context
    assert spec.parameters == {
        "type": "object",
        "properties": {
            "query": {"type": "string", "description": "What to look for"},
            "limit": {"type": "integer", "default": 5},
            "exact": {"type": "boolean", "default": False},
        },
        "required": ["query"],
        "additionalProperties": False,
    }


def test_field_default_and_custom_name_and_timeout() -> None:
    registry = sample_registry()
    spec = registry.get("divide")
    assert spec is not None
    assert registry.get("divide_numbers") is None
    assert spec.timeout_seconds == 1.5
    assert not spec.takes_context
    assert spec.parameters["required"] == ["a"]
    assert spec.parameters["properties"]["b"] == {
        "type": "integer",
        "default": 1,
        "description": "Divisor",
    }


def test_names_and_lookup() -> None:
    registry = sample_registry()
    assert registry.names() == ["search", "divide", "nap", "schema"]
    assert "nap" in registry
    assert len(registry) == 4
    assert [spec.name for spec in registry] == registry.names()
    assert registry.get("missing") is None


def test_decorated_function_stays_callable() -> None:
    registry = ToolRegistry()

    @registry.tool
    async def double(x: int) -> int:
        """Double x."""
        return 2 * x

    assert asyncio.iscoroutinefunction(double)
    assert registry.get("double") is not None


# Decorator misuse ---------------------------------------------------------------------------


def test_sync_function_is_refused() -> None:
    registry = ToolRegistry()
    with pytest.raises(ValueError, match="must be `async def`"):

        @registry.tool
        def sync(x: int) -> int:
            """Not async."""
            return x


def test_duplicate_name_is_refused() -> None:
    registry = ToolRegistry()

    @registry.tool
    async def first(x: int) -> int:
        """One."""
        return x

    with pytest.raises(ValueError, match="already registered"):

        @registry.tool(name="first")
        async def second(x: int) -> int:
            """Two."""
            return x


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("async def f(x):\n    'Doc.'\n", "needs a type hint"),
        ("async def f(*args: int):\n    'Doc.'\n", "only named parameters"),
        ("async def f(**kw: int):\n    'Doc.'\n", "only named parameters"),
        ("async def f(x: int, /):\n    'Doc.'\n", "only named parameters"),
        ("async def f(x: int):\n    pass\n", "needs a docstring"),
        ("async def f(x: int, c: ToolContext):\n    'Doc.'\n", "must be the first parameter"),
        ("async def f(_x: int):\n    'Doc.'\n", "starting with '_'"),
    ],
)
def test_unusable_signatures_are_refused(source: str, message: str) -> None:
    namespace: dict[str, Any] = {"ToolContext": ToolContext}
    exec(source, namespace)  # noqa: S102 - fixed test sources
    with pytest.raises(ValueError, match=message):
        ToolRegistry().tool(namespace["f"])


def test_bad_name_and_timeout_are_refused() -> None:
    async def f(x: int) -> int:
        """Doc."""
        return x

    with pytest.raises(ValueError, match="1-64 letters"):
        ToolRegistry().tool(name="has space")(f)
    with pytest.raises(ValueError, match="must be positive"):
        ToolRegistry().tool(timeout_seconds=0)(f)


def test_explicit_description_replaces_docstring() -> None:
    registry = ToolRegistry()

    @registry.tool(description="Told by hand.")
    async def quiet(x: int) -> int:
        return x

    spec = registry.get("quiet")
    assert spec is not None
    assert spec.description == "Told by hand."


# select -------------------------------------------------------------------------------------


def test_select_gives_only_allowed_tools() -> None:
    registry = sample_registry()
    narrowed = registry.select(["nap", "search", "nap"])
    assert narrowed.names() == ["nap", "search"]
    assert registry.names() == ["search", "divide", "nap", "schema"]


async def test_selected_registry_cannot_run_other_tools() -> None:
    narrowed = sample_registry().select(["nap"])
    outcome = await call(narrowed, "divide", {"a": 1, "b": 1})
    assert outcome.status == "unknown_tool"


def test_select_unknown_names_raise_key_error_naming_them() -> None:
    with pytest.raises(KeyError, match="unknown tools: ghost, spook"):
        sample_registry().select(["nap", "spook", "ghost"])


# Outcomes -----------------------------------------------------------------------------------


async def test_ok_result_is_json_and_context_travels_beside_arguments() -> None:
    outcome = await call(sample_registry(), "search", '{"query": "tea"}')
    assert outcome.status == "ok"
    assert outcome.ok
    assert json.loads(outcome.content) == {
        "query": "tea",
        "limit": 5,
        "exact": False,
        "user": "u1",
    }
    assert outcome.arguments == {"query": "tea"}
    assert outcome.duration_ms >= 0


async def test_model_cannot_pass_the_context_as_an_argument() -> None:
    outcome = await call(sample_registry(), "search", {"query": "x", "context": {"user_id": "u2"}})
    assert outcome.status == "invalid_arguments"
    assert "context: Extra inputs are not permitted" in outcome.content


async def test_string_result_is_returned_as_is() -> None:
    outcome = await call(sample_registry(), "schema", {"json": "plain text"})
    assert (outcome.status, outcome.content) == ("ok", "plain text")


async def test_arguments_are_coerced_by_lax_rules() -> None:
    outcome = await call(sample_registry(), "search", '{"query": "q", "limit": "7"}')
    assert outcome.status == "ok"
    assert json.loads(outcome.content)["limit"] == 7
    assert outcome.arguments == {"query": "q", "limit": "7"}


async def test_unknown_tool() -> None:
    outcome = await call(sample_registry(), "x", "{}")
    assert outcome == ToolOutcome(
        "unknown_tool", "Error: unknown tool 'x'", outcome.duration_ms, {}
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ('{"a": 1, "b": ', "Error: invalid arguments: not valid JSON"),
        ("[1, 2]", "Error: invalid arguments: expected a JSON object, got list"),
        ('{"a": NaN}', "Error: invalid arguments: NaN is not valid JSON"),
        ('{"b": 2}', "Error: invalid arguments: a: Field required"),
        ('{"a": 1, "c": 2}', "Error: invalid arguments: c: Extra inputs are not permitted"),
        ('{"a": "one"}', "Error: invalid arguments: a: Input should be a valid integer"),
        ('{"a": 1.5}', "Error: invalid arguments: a: Input should be a valid integer"),
    ],
)
async def test_invalid_arguments(arguments: str, message: str) -> None:
    outcome = await call(sample_registry(), "divide", arguments)
    assert outcome.status == "invalid_arguments"
    assert outcome.content.startswith(message)
    assert "\n" not in outcome.content


async def test_unparseable_arguments_are_logged_as_empty() -> None:
    outcome = await call(sample_registry(), "divide", "{nope")
    assert outcome.arguments == {}


async def test_an_unknown_tool_is_reported_before_its_arguments() -> None:
    outcome = await call(sample_registry(), "ghost", "{nope")
    assert (outcome.status, outcome.content) == ("unknown_tool", "Error: unknown tool 'ghost'")
    named = await call(sample_registry(), "ghost", {"a": 1})
    assert named.arguments == {"a": 1}


@pytest.mark.parametrize("arguments", ["", "  ", None])
async def test_no_arguments_mean_an_empty_object(arguments: str | None) -> None:
    outcome = await call(sample_registry(), "divide", arguments)
    assert outcome.content == "Error: invalid arguments: a: Field required"


async def test_exception_becomes_error_result() -> None:
    outcome = await call(sample_registry(), "divide", {"a": 1, "b": 0})
    assert outcome.status == "error"
    assert outcome.content == "Error: ZeroDivisionError: division by zero"


async def test_unserialisable_result_is_an_error() -> None:
    registry = ToolRegistry()

    @registry.tool
    async def odd() -> object:
        """Returns something JSON cannot hold."""
        return object()

    outcome = await call(registry, "odd", {})
    assert outcome.status == "error"
    assert outcome.content.startswith("Error: ")


async def test_timeout_uses_the_default() -> None:
    outcome = await call(sample_registry(), "nap", {"seconds": 60}, timeout_seconds=0.01)
    assert outcome.status == "timeout"
    assert outcome.content == "Error: tool timed out after 0.01 s"


async def test_per_tool_timeout_overrides_the_default() -> None:
    registry = ToolRegistry()

    @registry.tool(timeout_seconds=0.01)
    async def slow() -> str:
        """Takes too long."""
        await asyncio.sleep(60)
        return "never"

    outcome = await call(registry, "slow", {}, timeout_seconds=600)
    assert outcome.status == "timeout"
    assert outcome.content == "Error: tool timed out after 0.01 s"


async def test_a_timeout_error_raised_by_the_tool_is_an_error() -> None:
    registry = ToolRegistry()

    @registry.tool
    async def connect() -> str:
        """Fails to connect."""
        raise TimeoutError("connection timed out")

    outcome = await call(registry, "connect", {})
    assert outcome.status == "error"
    assert outcome.content == "Error: TimeoutError: connection timed out"


async def test_cancellation_propagates() -> None:
    registry = ToolRegistry()
    started = asyncio.Event()

    @registry.tool
    async def wait() -> str:
        """Waits forever."""
        started.set()
        await asyncio.Event().wait()
        return "never"

    task = asyncio.create_task(call(registry, "wait", {}))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_multi_line_error_is_one_line() -> None:
    registry = ToolRegistry()

    @registry.tool
    async def noisy() -> str:
        """Fails loudly."""
        raise RuntimeError("first line\nsecond line " + "x" * 2000)

    outcome = await call(registry, "noisy", {})
    assert outcome.content.startswith("Error: RuntimeError: first line second line x")
    assert "\n" not in outcome.content
    assert len(outcome.content) <= 500


# Built-in tools -----------------------------------------------------------------------------


def test_builtin_tools_are_fresh_each_call() -> None:
    first, second = builtin_tools(), builtin_tools()
    assert first.names() == ["add", "calculator", "current_time", "ask_user"]
    assert first is not second
    first.select(["add"])  # narrowing one never changes another
    assert second.names() == ["add", "calculator", "current_time", "ask_user"]


@pytest.mark.parametrize(
    ("arguments", "content"),
    [
        ({"a": 5, "b": 3}, "8"),
        ('{"a": "5", "b": 3}', "8"),
        ({"a": 2.5, "b": 0.25}, "2.75"),
        ({"a": -1, "b": 1}, "0"),
        ({"a": 10**15, "b": 1}, "1000000000000001"),
    ],
)
async def test_add(arguments: dict[str, Any] | str, content: str) -> None:
    outcome = await call(builtin_tools(), "add", arguments)
    assert (outcome.status, outcome.content) == ("ok", content)


async def test_add_refuses_overflow_and_non_finite_numbers() -> None:
    overflow = await call(builtin_tools(), "add", {"a": 1e308, "b": 1e308})
    assert overflow.content == "Error: ValueError: the sum is too large"
    infinite = await call(builtin_tools(), "add", {"a": "inf", "b": 1})
    assert infinite.status == "invalid_arguments"


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("7 / 2", 3.5),
        ("7 // 2", 3),
        ("-7 % 3", 2),
        ("2 ** 10", 1024),
        ("2 ** -1", 0.5),
        ("-+-3", 3),
        ("sqrt(16)", 4.0),
        ("abs(-2.5)", 2.5),
        ("round(2.675, 2)", 2.67),
        ("round(7.5)", 8),
        ("min(3, 1, 2) + max(4, 5)", 6),
        ("  1.5e3  ", 1500.0),
        ("pi", math.pi),
        ("2 ** 1000 // 2 ** 999", 2),
        ("-" * 400 + "1", 1),
    ],
)
def test_calculator_arithmetic(expression: str, value: float) -> None:
    assert evaluate(expression) == value


async def test_calculator_through_the_registry() -> None:
    outcome = await call(builtin_tools(), "calculator", {"expression": "(2 + 3) * 4"})
    assert (outcome.status, outcome.content) == ("ok", "20")
    failed = await call(builtin_tools(), "calculator", {"expression": "1 / 0"})
    assert (failed.status, failed.content) == ("error", "Error: ValueError: division by zero")


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("x + 1", "unknown name 'x'"),
        ("__import__('os').system('true')", "only these functions"),
        ("(1).real", "Attribute is not allowed"),
        ("(2).__class__", "Attribute is not allowed"),
        ("open('/etc/passwd')", "only these functions"),
        ("eval('1')", "only these functions"),
        ("(lambda: 1)()", "only these functions"),
        ("lambda: 1", "Lambda is not allowed"),
        ("[1, 2]", "List is not allowed"),
        ("1 if 1 else 2", "IfExp is not allowed"),
        ("1 < 2", "Compare is not allowed"),
        ("(y := 2)", "NamedExpr is not allowed"),
        ("'a' * 3", "only numbers"),
        ("True + 1", "only numbers"),
        ("1j", "only numbers"),
        ("1 << 2", "BinOp is not allowed"),
        ("~1", "UnaryOp is not allowed"),
        ("sqrt(x=4)", "plain arguments only"),
        ("max(*[1, 2])", "plain arguments only"),
        ("min()", "at least one argument"),
        ("sqrt(1, 2)", "takes one argument"),
        ("sqrt(-1)", "negative"),
        ("round(1.5, 0.5)", "whole number"),
        ("round(5, -1000000000)", "whole number"),
        ("import os", "not an arithmetic expression"),
        ("1 +", "not an arithmetic expression"),
        ("", "not an arithmetic expression"),
        ("1 / 0", "division by zero"),
        ("5 % 0", "division by zero"),
        ("0 ** -1", "division by zero"),
        ("9 ** 9 ** 9", "more than 4000 digits"),
        ("2 ** 100000", "more than 4000 digits"),
        ("(10 ** 300) ** 300", "more than 4000 digits"),
        ("10 ** 3000 * 10 ** 3000", "more than 4000 digits"),
        ("10 ** 3999 * 100", "more than 4000 digits"),
        ("10.0 ** 400", "too large"),
        ("1e308 * 10", "too large"),
        ("1e309", "too large"),
        ("10 ** 400 / 1", "too large"),
        ("sqrt(10 ** 400)", "too large"),
        ("(-8) ** 0.5", "not a real number"),
        ("(" * 240 + "1" + ")" * 240, "not an arithmetic expression"),
    ],
)
def test_calculator_refuses(expression: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        evaluate(expression)


def test_calculator_refuses_long_input() -> None:
    with pytest.raises(ValueError, match="longer than 500"):
        evaluate("1+" * (MAX_EXPRESSION_CHARS // 2) + "1")


async def test_calculator_long_input_is_invalid_arguments_through_the_registry() -> None:
    outcome = await call(builtin_tools(), "calculator", {"expression": "1" * 501})
    assert outcome.status == "invalid_arguments"


_NUMBERS = st.integers(min_value=0, max_value=20).map(str) | st.sampled_from(["0.5", "2.5", "1e3"])
_OPERATORS = st.sampled_from(["+", "-", "*", "/", "//", "%", "**"])
_EXPRESSIONS = st.recursive(
    _NUMBERS,
    lambda inner: (
        st.tuples(inner, _OPERATORS, inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})")
        | inner.map(lambda e: f"-{e}")
    ),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(_EXPRESSIONS)
def test_calculator_agrees_with_python_or_refuses(expression: str) -> None:
    try:
        value = evaluate(expression)
    except ValueError:
        return  # division by zero, a complex or a huge result: refused, never crashed
    # Only evaluated once the calculator proved it cheap (9 ** 9 ** 9 was refused above).
    expected = eval(expression, {"__builtins__": {}})  # noqa: S307 - generated arithmetic
    assert type(value) is type(expected)
    assert value == expected


_TOKENS = st.sampled_from(
    [*"0123456789+-*/%()., e_", "**", "//", "sqrt(", "round(", "min(", "pi", "1e308", "9**9", "1j"]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_TOKENS, max_size=40).map("".join))
def test_calculator_input_gives_a_number_or_a_value_error(expression: str) -> None:
    try:
        value = evaluate(expression)
    except ValueError:
        return
    assert isinstance(value, int | float)
    assert not isinstance(value, bool)


def test_current_time_in_tokyo() -> None:
    moment = datetime(2026, 11, 22, 5, 5, 30, tzinfo=UTC)
    assert describe_time(moment, "Asia/Tokyo") == {
        "timezone": "Asia/Tokyo",
        "iso": "2026-11-22T14:05:30+09:00",
        "display": "14:05 (Sunday 22 November 2026)",
        "utc_offset": "+09:00",
        "abbreviation": "JST",
    }


def test_current_time_follows_daylight_saving() -> None:
    summer = describe_time(datetime(2026, 7, 1, 12, tzinfo=UTC), "Europe/Paris")
    winter = describe_time(datetime(2026, 1, 1, 12, tzinfo=UTC), "Europe/Paris")
    assert (summer["utc_offset"], winter["utc_offset"]) == ("+02:00", "+01:00")


def test_current_time_accepts_another_case() -> None:
    moment = datetime(2026, 11, 22, 5, 5, tzinfo=UTC)
    assert describe_time(moment, "asia/tokyo")["timezone"] == "Asia/Tokyo"
    assert describe_time(moment, " utc ")["timezone"] == "UTC"


async def test_current_time_through_the_registry() -> None:
    tokyo = await call(builtin_tools(), "current_time", {"timezone": "Asia/Tokyo"})
    assert tokyo.status == "ok"
    local = datetime.fromisoformat(json.loads(tokyo.content)["iso"])
    assert local.utcoffset() == timedelta(hours=9)
    assert abs(local - datetime.now(UTC)) < timedelta(minutes=5)

    utc = await call(builtin_tools(), "current_time", {})
    assert json.loads(utc.content)["timezone"] == "UTC"
    assert datetime.fromisoformat(json.loads(utc.content)["iso"]).utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "zone", ["Mars/Olympus_Mons", "../../etc/passwd", "/etc/passwd", "", "Asia"]
)
async def test_current_time_unknown_zone(zone: str) -> None:
    outcome = await call(builtin_tools(), "current_time", {"timezone": zone})
    assert outcome.status == "error"
    assert outcome.content == f"Error: ValueError: unknown time zone {zone!r}"
