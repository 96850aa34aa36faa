"""Tools: one decorated async function each, its JSON schema read from its type hints.

`ToolRegistry.execute` never raises for a tool's failure: an unknown tool, arguments that are not
JSON or do not fit the signature, an exception and a time-out all come back as a `ToolOutcome`
whose `content` the model reads. Only `asyncio.CancelledError` (the run itself is being
cancelled) goes through.

Logging is the caller's job: `execute` returns the outcome and the runner hands it to the
tool-call log (`ToolCallRecord.from_outcome` in `log.py`). The registry stays a pure lookup and
call table, and a run that wants no log simply does not record.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar, get_type_hints, overload

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from pydantic_core import to_jsonable_python

ToolFunction = Callable[..., Awaitable[Any]]
F = TypeVar("F", bound=ToolFunction)
ToolStatus = Literal["ok", "error", "timeout", "unknown_tool", "invalid_arguments"]

# What OpenAI-compatible APIs accept as a function name.
_TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# Keys whose values are data (a default, an enum), not sub-schemas whose titles we drop.
_LITERAL_KEYS = frozenset({"default", "const", "enum", "examples"})
_MAX_ERROR_CHARS = 500
# Annotated built at run time from a resolved hint, which mypy cannot check statically.
_ANNOTATED: Any = Annotated


class ToolFailure(Exception):
    """Raised by a tool whose message is written for the model: the result is
    `Error: <message>` (status "error"), without the exception's class name."""


@dataclass(frozen=True, slots=True)
class ToolContext:
    """Who is calling: travels beside the arguments, never in them, so a model cannot forge it."""

    run_id: str | None = None
    thread_id: str | None = None
    user_id: str | None = None
    agent_id: str | None = None
    model: str | None = None


@dataclass(frozen=True, slots=True)
class ToolOutcome:
    """The result of one call: `content` is what the model sees, success or failure."""

    status: ToolStatus
    content: str
    duration_ms: float
    arguments: dict[str, Any]

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass(frozen=True)
class ToolSpec:
    """One registered tool: what the model is told about it and how to call it."""

    name: str
    description: str
    parameters: dict[str, Any]
    function: ToolFunction
    timeout_seconds: float | None = None
    takes_context: bool = False
    # None: the arguments are passed as they are, one dict (`function(context, arguments)`),
    # and `parameters` is a schema another program checks (an MCP server's, unchanged).
    arguments_model: type[BaseModel] | None = None
    # The MCP server the tool comes from (None: a built-in tool), for the tool-call log.
    server_id: str | None = None
    # The run pauses before calling it until the user approves (per agent: runs/approvals).
    requires_approval: bool = False
    # `ask_user`: the call is a question to the user, answered over the same pause.
    asks_user: bool = False


class ToolRegistry:
    """Named tools; `select` narrows it to what one agent may use."""

    def __init__(self, specs: Iterable[ToolSpec] = ()) -> None:
        self._specs: dict[str, ToolSpec] = {}
        for spec in specs:
            self.add(spec)

    # Registration ---------------------------------------------------------------------------

    @overload
    def tool(self, fn: F, /) -> F: ...

    @overload
    def tool(
        self,
        fn: None = None,
        /,
        *,
        name: str | None = None,
        description: str | None = None,
        timeout_seconds: float | None = None,
    ) -> Callable[[F], F]: ...

    def tool(
        self,
        fn: F | None = None,
        /,
        *,
        name: str | None = None,
        description: str | None = None,
        timeout_seconds: float | None = None,
    ) -> F | Callable[[F], F]:
        """Register an async function as a tool: `@registry.tool` or `@registry.tool(name=...)`."""

        def register(function: F) -> F:
            self.add(
                build_spec(
                    function,
                    name=name,
                    description=description,
                    timeout_seconds=timeout_seconds,
                )
            )
            return function

        if fn is None:
            return register
        return register(fn)

    def add(self, spec: ToolSpec) -> None:
        """Register a built spec; a second tool with the same name is refused."""
        if spec.name in self._specs:
            raise ValueError(f"a tool named {spec.name!r} is already registered")
        self._specs[spec.name] = spec

    # Lookup ---------------------------------------------------------------------------------

    def get(self, name: str) -> ToolSpec | None:
        return self._specs.get(name)

    def names(self) -> list[str]:
        return list(self._specs)

    def specs(self) -> list[ToolSpec]:
        return list(self._specs.values())

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def __iter__(self) -> Iterator[ToolSpec]:
        return iter(list(self._specs.values()))

    def __len__(self) -> int:
        return len(self._specs)

    def select(self, names: Iterable[str]) -> ToolRegistry:
        """A new registry holding only `names` (how an agent gets only the tools it may use)."""
        wanted = list(dict.fromkeys(names))
        unknown = [name for name in wanted if name not in self._specs]
        if unknown:
            raise KeyError(f"unknown tools: {', '.join(sorted(unknown))}")
        return ToolRegistry(self._specs[name] for name in wanted)

    def accepts(self, name: str, arguments: str | dict[str, Any] | None) -> bool:
        """Whether a call would reach its tool (known, arguments that parse and fit), so that
        a call bound to fail is not put to the user first."""
        spec = self._specs.get(name)
        if spec is None:
            return False
        try:
            parsed = parse_arguments(arguments)
            if spec.arguments_model is not None:
                _validate(spec, parsed)
        except (ValueError, ValidationError):
            return False
        return True

    # Execution ------------------------------------------------------------------------------

    async def execute(
        self,
        name: str,
        arguments: str | dict[str, Any] | None,
        *,
        context: ToolContext,
        timeout_seconds: float,
    ) -> ToolOutcome:
        """Run one tool call; every failure becomes an outcome the model can read."""
        started = time.perf_counter()

        def outcome(status: ToolStatus, content: str, parsed: dict[str, Any]) -> ToolOutcome:
            elapsed = (time.perf_counter() - started) * 1000
            return ToolOutcome(status, content, elapsed, parsed)

        parse_error: str | None = None
        try:
            parsed = parse_arguments(arguments)
        except ValueError as exc:
            parsed, parse_error = {}, str(exc)
        spec = self._specs.get(name)
        if spec is None:
            return outcome("unknown_tool", f"Error: unknown tool {_one_line(name)!r}", parsed)
        if parse_error is not None:
            return outcome("invalid_arguments", f"Error: invalid arguments: {parse_error}", {})
        call: Callable[[], Awaitable[Any]]
        if spec.arguments_model is None:  # checked by the tool's own program (an MCP server)

            def call() -> Awaitable[Any]:
                return spec.function(context, parsed)
        else:
            try:
                kwargs = _validate(spec, parsed)
            except ValidationError as exc:
                return outcome(
                    "invalid_arguments",
                    f"Error: invalid arguments: {_validation_text(exc)}",
                    parsed,
                )
            call_args = (context,) if spec.takes_context else ()

            def call() -> Awaitable[Any]:
                return spec.function(*call_args, **kwargs)

        limit = spec.timeout_seconds if spec.timeout_seconds is not None else timeout_seconds
        deadline = asyncio.timeout(limit)
        try:
            async with deadline:
                result = await call()
            content = _to_content(result)
        except TimeoutError as exc:
            # Our deadline, or a TimeoutError the tool raised on its own (a failed connection).
            if deadline.expired():
                message = f"Error: tool timed out after {_seconds(limit)} s"
                return outcome("timeout", message, parsed)
            return outcome("error", _error_text(exc), parsed)
        except Exception as exc:
            return outcome("error", _error_text(exc), parsed)
        return outcome("ok", content, parsed)


# Building specs -----------------------------------------------------------------------------


def build_spec(
    function: ToolFunction,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout_seconds: float | None = None,
) -> ToolSpec:
    """Read a tool's name, description and parameter schema from an async function."""
    if not inspect.iscoroutinefunction(function):
        raise ValueError(f"tool {getattr(function, '__name__', function)!r} must be `async def`")
    tool_name = name or function.__name__
    if not _TOOL_NAME.match(tool_name):
        raise ValueError(f"tool name {tool_name!r} must be 1-64 letters, digits, '_' or '-'")
    if timeout_seconds is not None and not timeout_seconds > 0:
        raise ValueError(f"tool {tool_name!r}: timeout_seconds must be positive")
    text = description if description is not None else _first_paragraph(function.__doc__)
    if not text:
        raise ValueError(f"tool {tool_name!r} needs a docstring (the model reads it)")

    model, takes_context = _arguments_model(function, tool_name)
    return ToolSpec(
        name=tool_name,
        description=text,
        parameters=_parameters_schema(model),
        function=function,
        timeout_seconds=timeout_seconds,
        takes_context=takes_context,
        arguments_model=model,
    )


def _first_paragraph(doc: str | None) -> str:
    if not doc:
        return ""
    paragraph = inspect.cleandoc(doc).split("\n\n", 1)[0]
    return " ".join(line.strip() for line in paragraph.splitlines()).strip()


def _arguments_model(function: ToolFunction, tool_name: str) -> tuple[type[BaseModel], bool]:
    """A pydantic model of the parameters (without the context) and whether a context is taken.

    Fields get internal names with the parameter's name as alias, so a parameter may be called
    `schema` or `json` without shadowing a BaseModel attribute.
    """
    hints = get_type_hints(function, include_extras=True)
    parameters = list(inspect.signature(function).parameters.values())
    takes_context = bool(parameters) and _is_context(hints.get(parameters[0].name))
    if takes_context:
        parameters = parameters[1:]

    fields: dict[str, Any] = {}
    for index, parameter in enumerate(parameters):
        where = f"tool {tool_name!r}, parameter {parameter.name!r}"
        if parameter.kind not in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY):
            raise ValueError(f"{where}: only named parameters are supported")
        if parameter.name not in hints:
            raise ValueError(f"{where}: needs a type hint")
        if _is_context(hints[parameter.name]):
            raise ValueError(f"{where}: a ToolContext must be the first parameter")
        if parameter.name.startswith("_"):
            raise ValueError(f"{where}: names starting with '_' are not allowed")
        annotation = _ANNOTATED[hints[parameter.name], Field(alias=parameter.name)]
        default = ... if parameter.default is parameter.empty else parameter.default
        fields[f"p{index}"] = (annotation, default)

    model: type[BaseModel] = create_model(
        f"{tool_name}_arguments",
        __config__=ConfigDict(extra="forbid", populate_by_name=False),
        **fields,
    )
    return model, takes_context


def _is_context(annotation: Any) -> bool:
    return annotation is ToolContext


def _parameters_schema(model: type[BaseModel]) -> dict[str, Any]:
    schema: dict[str, Any] = _without_titles(model.model_json_schema(by_alias=True))
    schema.setdefault("properties", {})
    schema["type"] = "object"
    schema["additionalProperties"] = False
    schema.setdefault("required", [])
    return schema


def _without_titles(schema: Any) -> Any:
    """Drop pydantic's generated titles: noise in the prompt, and the names already say it."""
    if isinstance(schema, list):
        return [_without_titles(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    cleaned: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "title" and isinstance(value, str):
            continue
        if key in _LITERAL_KEYS:
            cleaned[key] = value
        elif key in ("properties", "$defs") and isinstance(value, dict):
            cleaned[key] = {name: _without_titles(sub) for name, sub in value.items()}
        else:
            cleaned[key] = _without_titles(value)
    return cleaned


# Calling ------------------------------------------------------------------------------------


def parse_arguments(arguments: str | dict[str, Any] | None) -> dict[str, Any]:
    """The model's arguments as a dict; '' and None mean no arguments (some models send '')."""
    if arguments is None:
        return {}
    if isinstance(arguments, dict):
        return dict(arguments)
    if not arguments.strip():
        return {}
    try:
        value = json.loads(arguments, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at position {exc.pos})") from None
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    if not isinstance(value, dict):
        raise ValueError(f"expected a JSON object, got {type(value).__name__}")
    return value


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _validate(spec: ToolSpec, arguments: dict[str, Any]) -> dict[str, Any]:
    assert spec.arguments_model is not None
    validated = spec.arguments_model.model_validate(arguments)
    return {
        field.alias or name: getattr(validated, name)
        for name, field in type(validated).model_fields.items()
    }


def _validation_text(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors(include_url=False, include_input=False):
        where = ".".join(str(part) for part in error["loc"])
        problems.append(f"{where}: {error['msg']}" if where else error["msg"])
    return _one_line("; ".join(problems))


def _to_content(result: Any) -> str:
    if isinstance(result, str):
        return result
    return json.dumps(to_jsonable_python(result), ensure_ascii=False, allow_nan=False)


def _error_text(exc: BaseException) -> str:
    message = str(exc)
    if isinstance(exc, ToolFailure):
        return _one_line(f"Error: {message}")
    text = f"Error: {type(exc).__name__}: {message}" if message else f"Error: {type(exc).__name__}"
    return _one_line(text)


def _seconds(value: float) -> str:
    return f"{value:.1f}" if value >= 1 else f"{value:.3g}"


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    if len(text) > _MAX_ERROR_CHARS:
        return text[: _MAX_ERROR_CHARS - 1] + "…"
    return text
