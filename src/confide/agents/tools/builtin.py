"""Built-in tools: `add`, `calculator` (arithmetic parsed with `ast`, never `eval`),
`current_time` (IANA time zones) and `ask_user` (a question the run waits on:
runs/runner.py)."""

from __future__ import annotations

import ast
import asyncio
import math
import operator
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from functools import cache
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import Field

from confide.agents.tools.registry import ToolRegistry, build_spec

Number = int | float

MAX_EXPRESSION_CHARS = 500
# Python refuses to turn an int of more than 4300 digits into text, and no answer needs that many.
MAX_RESULT_DIGITS = 4000
_MAX_BITS = math.ceil(MAX_RESULT_DIGITS / math.log10(2))
_MAX_ROUND_DIGITS = 100

_BINARY: dict[type[ast.operator], Callable[[Number, Number], Number]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[Number], Number]] = {
    ast.UAdd: operator.pos,
    ast.USub: operator.neg,
}
_CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}
_FUNCTIONS = ("sqrt", "abs", "round", "min", "max")

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def builtin_tools() -> ToolRegistry:
    """A fresh registry holding the built-in tools."""
    registry = ToolRegistry()

    @registry.tool
    async def add(
        a: Annotated[float, Field(description="The first number", allow_inf_nan=False)],
        b: Annotated[float, Field(description="The second number", allow_inf_nan=False)],
    ) -> Number:
        """Add two numbers and return their sum."""
        total = a + b
        if not math.isfinite(total):
            raise ValueError("the sum is too large")
        if a.is_integer() and b.is_integer():
            return int(a) + int(b)
        return total

    @registry.tool
    async def calculator(
        expression: Annotated[
            str,
            Field(
                description=(
                    "An arithmetic expression, e.g. '(2 + 3) * 4 / 7' or 'sqrt(2) ** 3'. "
                    "Operators: + - * / // % ** and parentheses; functions: "
                    f"{', '.join(_FUNCTIONS)}; constants: pi, e."
                ),
                max_length=MAX_EXPRESSION_CHARS,
            ),
        ],
    ) -> Number:
        """Evaluate an arithmetic expression exactly as written and return the number."""
        return evaluate(expression)

    @registry.tool
    async def current_time(
        timezone: Annotated[
            str,
            Field(description="An IANA time zone such as 'Europe/Paris' or 'Asia/Tokyo'"),
        ] = "UTC",
    ) -> dict[str, str]:
        """Tell the current date and time in a time zone."""
        # In a thread: the first unusual spelling ("asia/tokyo") lists every zone on disk.
        return await asyncio.to_thread(describe_time, datetime.now(UTC), timezone)

    async def ask_user(
        question: Annotated[
            str,
            Field(description="The question, in words for the user", min_length=1, max_length=2000),
        ],
        choices: Annotated[
            list[Annotated[str, Field(min_length=1, max_length=200)]] | None,
            Field(description="Answers to pick from, if the question has a few", max_length=10),
        ] = None,
    ) -> str:
        """Ask the user a question and wait for their answer (they may be away: it can take
        hours). Use it when you need a decision or a fact only the user has."""
        # Never called: the run pauses on it, and the user's answer is its result.
        raise RuntimeError("ask_user is answered by the user")

    registry.add(replace(build_spec(ask_user), asks_user=True))
    return registry


# calculator ---------------------------------------------------------------------------------


def evaluate(expression: str) -> Number:
    """The value of an arithmetic expression; anything else raises ValueError saying why."""
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise ValueError(f"the expression is longer than {MAX_EXPRESSION_CHARS} characters")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"not an arithmetic expression ({exc.msg})") from None
    except (RecursionError, MemoryError):
        raise ValueError("the expression is nested too deeply") from None
    try:
        result = _evaluate(tree.body)
    except RecursionError:
        raise ValueError("the expression is nested too deeply") from None
    except ZeroDivisionError:
        raise ValueError("division by zero") from None
    except OverflowError:
        raise ValueError("the result is too large") from None
    return _checked(result)


def _evaluate(node: ast.expr) -> Number:
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"only numbers are allowed, not {value!r}")
        return _checked(value)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _evaluate(node.left), _evaluate(node.right)
        _refuse_huge(node.op, left, right)
        return _checked(_BINARY[type(node.op)](left, right))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_evaluate(node.operand))
    if isinstance(node, ast.Name):
        if node.id in _CONSTANTS:
            return _CONSTANTS[node.id]
        raise ValueError(f"unknown name {node.id!r}")
    if isinstance(node, ast.Call):
        return _call(node)
    raise ValueError(f"{type(node).__name__} is not allowed in an arithmetic expression")


def _call(node: ast.Call) -> Number:
    if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCTIONS:
        raise ValueError(f"only these functions are allowed: {', '.join(_FUNCTIONS)}")
    name = node.func.id
    if node.keywords or any(isinstance(arg, ast.Starred) for arg in node.args):
        raise ValueError(f"{name}() takes plain arguments only")
    args = [_evaluate(arg) for arg in node.args]
    if name in ("min", "max"):
        if not args:
            raise ValueError(f"{name}() needs at least one argument")
        return min(args) if name == "min" else max(args)
    if name == "round":
        if not 1 <= len(args) <= 2:
            raise ValueError("round() takes a number and optionally a count of digits")
        if len(args) == 1:
            return round(args[0])
        digits = args[1]
        if not isinstance(digits, int) or abs(digits) > _MAX_ROUND_DIGITS:
            raise ValueError(f"round() digits must be a whole number within ±{_MAX_ROUND_DIGITS}")
        return round(args[0], digits)
    if len(args) != 1:
        raise ValueError(f"{name}() takes one argument")
    if name == "abs":
        return abs(args[0])
    if args[0] < 0:
        raise ValueError("sqrt() of a negative number")
    return math.sqrt(args[0])


def _refuse_huge(op: ast.operator, left: Number, right: Number) -> None:
    """Refuse, before computing, an integer result far past MAX_RESULT_DIGITS (9**9**9)."""
    if not (isinstance(left, int) and isinstance(right, int)):
        return  # float arithmetic is fixed-size; overflow raises or gives inf, checked after
    if isinstance(op, ast.Mult) and left.bit_length() + right.bit_length() > _MAX_BITS + 1:
        raise ValueError(f"the result would have more than {MAX_RESULT_DIGITS} digits")
    # |left| ** right has at least (bit_length - 1) * right bits; 0, 1 and -1 stay small.
    if isinstance(op, ast.Pow) and right > 0 and (abs(left).bit_length() - 1) * right > _MAX_BITS:
        raise ValueError(f"the result would have more than {MAX_RESULT_DIGITS} digits")


def _checked(value: object) -> Number:
    if isinstance(value, complex):
        raise ValueError("the result is not a real number")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("the result is too large")
    if isinstance(value, int) and value.bit_length() > _MAX_BITS:
        raise ValueError(f"the result has more than {MAX_RESULT_DIGITS} digits")
    assert isinstance(value, int | float)
    return value


# current_time -------------------------------------------------------------------------------


def describe_time(moment: datetime, timezone: str) -> dict[str, str]:
    """`moment` in an IANA time zone: ISO 8601, a readable form, the zone's offset and name."""
    zone = _zone(timezone.strip())
    local = moment.astimezone(zone)
    return {
        "timezone": zone.key,
        "iso": local.isoformat(timespec="seconds"),
        "display": (
            f"{local:%H:%M} ({_DAYS[local.weekday()]} {local.day} "
            f"{_MONTHS[local.month - 1]} {local.year})"
        ),
        "utc_offset": local.strftime("%z")[:3] + ":" + local.strftime("%z")[3:],
        "abbreviation": local.tzname() or "",
    }


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # "asia/tokyo" or "utc" from a model is clear enough to accept.
        key = _zones_by_folded_name().get(name.casefold())
        if key is None:
            raise ValueError(f"unknown time zone {name!r}") from None
        return ZoneInfo(key)


@cache
def _zones_by_folded_name() -> dict[str, str]:
    return {key.casefold(): key for key in available_timezones()}
