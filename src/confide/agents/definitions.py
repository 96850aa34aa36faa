"""What an agent is, and how a set of agents is read from TOML (or the built-in default set).

An agents file is an array of `[[agents]]` tables, each with optional `[agents.model]` and
`[agents.generation]` sub-tables (see `default_agents.toml`). Every problem in a file is reported
as one `path:line: ...` line, and any problem stops start-up.
"""

from __future__ import annotations

import re
import string
import tomllib
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from confide.mcp.config import McpServerConfig, mcp_problems, mcp_source_path

SCRIPTED_MODEL_NAME = "confide-scripted"
LLM_AGENT_ID = "llm"
LLM_API_KEY_ENV = "CONFIDE_LLM_API_KEY"
BUILTIN_SOURCE = "default_agents.toml (built-in)"
PLACEHOLDERS = ("user_name", "date", "weekday")
ANONYMOUS_USER_NAME = "the user"
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MaxTokensField = Literal["max_tokens", "max_completion_tokens"]
_INLINE_KEY_MESSAGE = (
    "never write an API key in the agents file: put the key in an environment variable "
    "and name it in api_key_env"
)


class AgentFileError(Exception):
    """An agents file (or the CONFIDE_LLM_* settings) that cannot be used, one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _keyed_error(key: str, message: str) -> PydanticCustomError:
    """A model-level error about one key; the loader uses `key` to find its line."""
    return PydanticCustomError("agent_file", message, {"key": key})


def _refuse_inline_key(data: Any) -> Any:
    if isinstance(data, Mapping) and "api_key" in data:
        raise _keyed_error("api_key", _INLINE_KEY_MESSAGE)
    return data


class _FileModel(BaseModel):
    # Strict: `max_tokens = "100"` or `default = "yes"` in a file is a mistake worth reporting.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class ModelConfig(_FileModel):
    """Which model answers. `scripted` runs offline and takes no base_url or key;
    `openai` is any OpenAI-compatible endpoint (OpenAI, Ollama, vLLM, llama.cpp...)."""

    provider: Literal["scripted", "openai"]
    name: str = Field(min_length=1, max_length=200)
    base_url: str | None = Field(default=None, max_length=2000)
    # The NAME of the environment variable holding the key; the key is never in the file.
    api_key_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
    # The longest wait for the first token and between two chunks (silence, not length);
    # unset: CONFIDE_MODEL_TIMEOUT_SECONDS.
    timeout_seconds: float | None = Field(default=None, gt=0, le=3600)
    # The cap on one whole model request; unset: CONFIDE_MODEL_MAX_DURATION_SECONDS.
    max_duration_seconds: float | None = Field(default=None, gt=0, le=86400)
    # The model's context window in tokens; unset: what pydantic-ai knows of the model, or
    # 32,768. Only the newest messages that fit are sent.
    context_tokens: int | None = Field(default=None, ge=256, le=10_000_000)
    # Which field carries generation.max_tokens; unset: max_completion_tokens for
    # api.openai.com, max_tokens for every other endpoint (llama.cpp, vLLM, Ollama...).
    max_tokens_field: MaxTokensField | None = None

    @model_validator(mode="before")
    @classmethod
    def _defaults(cls, data: Any) -> Any:
        data = _refuse_inline_key(data)
        if isinstance(data, Mapping) and data.get("provider") == "scripted" and "name" not in data:
            return {**data, "name": SCRIPTED_MODEL_NAME}
        return data

    @field_validator("api_key_env", mode="before")
    @classmethod
    def _looks_like_a_name(cls, value: Any) -> Any:
        if isinstance(value, str) and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,127}", value):
            # Said without echoing the value: it may be a key pasted in the wrong place.
            raise ValueError(
                "must be the name of an environment variable (like OPENAI_API_KEY), not the key"
            )
        return value

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL")
        if parts.username is not None or parts.password is not None:
            raise ValueError("must not hold credentials; name the key's variable in api_key_env")
        return value

    @model_validator(mode="after")
    def _fits_provider(self) -> ModelConfig:
        if self.provider == "openai" and self.base_url is None:
            raise _keyed_error("base_url", "an openai model needs a base_url")
        if self.provider == "scripted" and self.base_url is not None:
            raise _keyed_error("base_url", "a scripted model runs in-process and takes no base_url")
        if self.provider == "scripted" and self.api_key_env is not None:
            raise _keyed_error("api_key_env", "a scripted model needs no key")
        return self


class GenerationSettings(_FileModel):
    """Sampling settings passed to the model; unset means the model's own default."""

    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    max_tokens: int | None = Field(default=None, ge=1, le=1_000_000)
    seed: int | None = Field(default=None, ge=-(2**63), le=2**63 - 1)


class AgentDefinition(_FileModel):
    """One agent users can talk to."""

    id: str
    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=1000)
    model: ModelConfig
    system_prompt: str = Field(default="", max_length=20_000)
    tools: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        default_factory=list, max_length=64
    )
    # Built-in tools of this agent that wait for the user's approval before each call (an MCP
    # server's tools: its own `requires_approval`).
    requires_approval: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        default_factory=list, max_length=64
    )
    generation: GenerationSettings = Field(default_factory=GenerationSettings)
    # MCP servers whose tools this agent may call (`[[agents.mcp]]`, mcp/config.py).
    mcp: list[McpServerConfig] = Field(default_factory=list, max_length=32)
    default: bool = False
    # Admins see every agent; everyone else sees the agents that are not admin_only.
    admin_only: bool = False
    # The model takes images (attached files' images go to it as image parts); false: an
    # image attached for this agent is refused (422 vision_unsupported). files/.
    vision: bool = False

    @model_validator(mode="before")
    @classmethod
    def _no_key(cls, data: Any) -> Any:
        return _refuse_inline_key(data)

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,62}", value):
            raise ValueError(
                "must be 1 to 63 lowercase letters, digits, '-' or '_', starting with a letter "
                "or digit"
            )
        return value

    @field_validator("name")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value

    @field_validator("system_prompt")
    @classmethod
    def _valid_template(cls, value: str) -> str:
        check_template(value)
        return value

    @model_validator(mode="after")
    def _approved_tools_are_its_own(self) -> AgentDefinition:
        strangers = [name for name in self.requires_approval if name not in self.tools]
        if strangers:
            raise _keyed_error(
                "requires_approval",
                f"names {', '.join(strangers)}, not in this agent's tools",
            )
        return self

    @field_validator("tools")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        repeated = sorted({name for name in value if value.count(name) > 1})
        if repeated:
            raise ValueError(f"lists {', '.join(repeated)} more than once")
        return value


# System prompt templates -------------------------------------------------------------------


def check_template(template: str) -> None:
    """Refuse anything but the plain placeholders `{user_name}`, `{date}` and `{weekday}`."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(f"{exc} (write {{{{ and }}}} for literal braces)") from None
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if not re.fullmatch(r"[A-Za-z_]\w*", name):
            raise ValueError(
                f"placeholder {{{name}}} is not allowed: only plain names, no attribute or "
                "index access (write {{ and }} for literal braces)"
            )
        if name not in PLACEHOLDERS:
            known = ", ".join(f"{{{p}}}" for p in PLACEHOLDERS)
            raise ValueError(f"unknown placeholder {{{name}}}; the placeholders are {known}")
        if spec or conversion:
            raise ValueError(f"placeholder {{{name}}} takes no conversion or format spec")


def render_system_prompt(agent: AgentDefinition, *, display_name: str | None, today: date) -> str:
    """The agent's system prompt for one user on one day."""
    name = " ".join((display_name or "").split())  # no newlines to fake prompt structure
    values = {
        "user_name": name or ANONYMOUS_USER_NAME,
        "date": today.isoformat(),
        "weekday": _WEEKDAYS[today.weekday()],
    }
    # Substituted piece by piece rather than by str.format: the template was checked at load,
    # and this way no attribute or index lookup can ever be evaluated.
    pieces: list[str] = []
    for literal, placeholder, _, _ in string.Formatter().parse(agent.system_prompt):
        pieces.append(literal)
        if placeholder is not None:
            pieces.append(values[placeholder])
    return "".join(pieces)


# The agent set ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgentSet:
    """The server's agents in file order, and the one a user gets unless they pick another."""

    agents: tuple[AgentDefinition, ...]
    default_id: str
    source: str
    # Worth a warning at start-up, not worth stopping it (settings that are ignored...).
    warnings: tuple[str, ...] = field(default=())

    def get(self, agent_id: str) -> AgentDefinition | None:
        return next((agent for agent in self.agents if agent.id == agent_id), None)

    @property
    def default(self) -> AgentDefinition:
        agent = self.get(self.default_id)
        assert agent is not None
        return agent

    def __iter__(self) -> Iterator[AgentDefinition]:
        return iter(self.agents)

    def __len__(self) -> int:
        return len(self.agents)


def load_agents(
    path: Path | None,
    *,
    llm_base_url: str | None,
    llm_model: str | None,
    llm_api_key_present: bool,
    known_tools: Collection[str],
    llm_name: str | None = None,
) -> AgentSet:
    """The agents of `path`, or the built-in set (plus the `llm` agent when CONFIDE_LLM_BASE_URL
    and CONFIDE_LLM_MODEL are both set). Raises AgentFileError naming each problem's line."""
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise AgentFileError([f"{path}: is not UTF-8 text"]) from None
        except OSError as exc:
            raise AgentFileError([f"{path}: cannot be read ({exc.strerror or exc})"]) from None
        agent_set = parse_agents(text, source=str(path), known_tools=known_tools)
        if llm_base_url or llm_model:
            # The file is the whole truth once there is one; a second, hidden source of agents
            # would surprise whoever edits it.
            ignored = (
                "CONFIDE_LLM_BASE_URL / CONFIDE_LLM_MODEL / CONFIDE_LLM_API_KEY are ignored "
                "because CONFIDE_AGENTS_FILE is set: define that agent in the file"
            )
            agent_set = _with_warning(agent_set, ignored)
        return agent_set

    text = resources.files("confide.agents").joinpath("default_agents.toml").read_text("utf-8")
    agent_set = parse_agents(text, source=BUILTIN_SOURCE, known_tools=known_tools)
    if llm_base_url and llm_model:
        return _with_llm_agent(
            agent_set,
            base_url=llm_base_url,
            model=llm_model,
            key_present=llm_api_key_present,
            name=llm_name,
        )
    if llm_base_url or llm_model:
        missing = "CONFIDE_LLM_MODEL" if llm_base_url else "CONFIDE_LLM_BASE_URL"
        return _with_warning(agent_set, f"{missing} is not set, so no llm agent was added")
    return agent_set


def parse_agents(text: str, *, source: str, known_tools: Collection[str]) -> AgentSet:
    """The agents of one TOML document; `source` names it in the problems."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise AgentFileError([_syntax_problem(exc, source=source, text=text)]) from None
    where = _SourceMap(text, source)
    problems = [
        f"{where.top_level(key)}: unknown top-level key {key!r} (agents are [[agents]] tables)"
        for key in data
        if key != "agents"
    ]
    raw_agents = data.get("agents", [])
    if not isinstance(raw_agents, list) or not all(isinstance(a, dict) for a in raw_agents):
        raise AgentFileError([*problems, f"{where.top_level('agents')}: agents must be tables"])
    if not raw_agents:
        raise AgentFileError([*problems, f"{source}: defines no agents (add an [[agents]] table)"])

    valid: list[tuple[int, AgentDefinition]] = []
    for index, raw in enumerate(raw_agents):
        cleaned, key_problems = _without_inline_keys(raw, index=index, where=where)
        problems.extend(key_problems)
        try:
            agent = AgentDefinition.model_validate(cleaned)
        except ValidationError as exc:
            problems.extend(_agent_problems(exc, raw=raw, index=index, where=where))
        else:
            if not key_problems:
                valid.append((index, agent))
    problems.extend(_set_problems(valid, where=where, known_tools=known_tools))
    problems.extend(mcp_problems(valid, where=where, builtin_tools=known_tools))
    if problems:  # every agent that failed validation reported at least one
        raise AgentFileError(problems)
    default_id, default_problems = _choose_default(valid, where=where)
    if default_problems:
        raise AgentFileError(default_problems)
    return AgentSet(agents=tuple(agent for _, agent in valid), default_id=default_id, source=source)


def _with_warning(agent_set: AgentSet, warning: str) -> AgentSet:
    return replace(agent_set, warnings=(*agent_set.warnings, warning))


def _with_llm_agent(
    agent_set: AgentSet, *, base_url: str, model: str, key_present: bool, name: str | None
) -> AgentSet:
    """The built-in set plus an agent for the configured endpoint. The scripted agent stays the
    default, so a fresh install answers even when that endpoint is down or still downloading."""
    template = agent_set.default
    model_config: dict[str, Any] = {"provider": "openai", "name": model, "base_url": base_url}
    if key_present:
        model_config["api_key_env"] = LLM_API_KEY_ENV
    raw = {
        "id": LLM_AGENT_ID,
        # CONFIDE_LLM_NAME, else the model id (which llama.cpp reports as a file path).
        "name": (name or model).strip()[:100],
        "description": f"{model} through the OpenAI-compatible endpoint of this server.",
        "model": model_config,
        "system_prompt": template.system_prompt,
        "tools": list(template.tools),
    }
    try:
        agent = AgentDefinition.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False, include_input=False):
            path = _error_path(error)
            setting = "CONFIDE_LLM_BASE_URL" if "base_url" in path else "CONFIDE_LLM_MODEL"
            problems.append(f"{setting}: {_message(error)}")
        raise AgentFileError(problems) from None
    return replace(
        agent_set, agents=(*agent_set.agents, agent), source=f"{agent_set.source} + CONFIDE_LLM_*"
    )


# Problems, each naming its line ------------------------------------------------------------


def _syntax_problem(exc: tomllib.TOMLDecodeError, *, source: str, text: str) -> str:
    message = str(exc)
    found = re.fullmatch(r"(?s)(.*) \(at line (\d+), column (\d+)\)", message)
    if found:
        return f"{source}:{found[2]}: {found[1]} (column {found[3]})"
    found = re.fullmatch(r"(?s)(.*) \(at end of document\)", message)
    if found:
        return f"{source}:{max(1, len(text.splitlines()))}: {found[1]} (at the end of the file)"
    return f"{source}: {message}"


def _error_path(error: Any) -> list[str]:
    in_server = mcp_source_path(error["loc"])  # `mcp.<n>.key`: the n-th [[agents.mcp]]
    if in_server is not None:
        path = ["mcp", str(in_server[0]), *in_server[1]]
    else:
        path = [part for part in error["loc"] if isinstance(part, str)]
    key = error.get("ctx", {}).get("key")
    if isinstance(key, str):
        path.append(key)
    return path


def _message(error: Any) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown setting (check the spelling)"
    if error["type"] == "missing":
        return "required"
    return str(error["msg"]).removeprefix("Value error, ")


def _label(agent_id: object, index: int) -> str:
    return f"agent {agent_id!r}" if isinstance(agent_id, str) else f"agent #{index + 1}"


def _without_inline_keys(
    raw: dict[str, Any], *, index: int, where: _SourceMap
) -> tuple[dict[str, Any], list[str]]:
    """The agent without any `api_key` (reported here, so its other problems show up too)."""
    cleaned = dict(raw)
    problems = []
    for table in ("", "model", "generation"):
        values = cleaned if not table else cleaned.get(table)
        if isinstance(values, dict) and "api_key" in values:
            path = [table, "api_key"] if table else ["api_key"]
            label = f"{_label(raw.get('id'), index)}: {'.'.join(path)}"
            problems.append(f"{where.agent(index, path)}: {label}: {_INLINE_KEY_MESSAGE}")
            values = {key: value for key, value in values.items() if key != "api_key"}
            cleaned = values if not table else {**cleaned, table: values}
    return cleaned, problems


def _agent_problems(
    exc: ValidationError, *, raw: dict[str, Any], index: int, where: _SourceMap
) -> list[str]:
    problems = []
    for error in exc.errors(include_url=False, include_input=False):
        path = _error_path(error)
        label = f"{_label(raw.get('id'), index)}: {'.'.join(path) or 'agent'}"
        problems.append(f"{where.agent(index, path)}: {label}: {_message(error)}")
    return problems


def _set_problems(
    valid: list[tuple[int, AgentDefinition]], *, where: _SourceMap, known_tools: Collection[str]
) -> list[str]:
    problems = []
    first_index: dict[str, int] = {}
    known = ", ".join(sorted(known_tools)) or "none"
    for index, agent in valid:
        if agent.id in first_index:
            earlier = where.line(first_index[agent.id], [])
            problems.append(
                f"{where.agent(index, ['id'])}: agent {agent.id!r}: id: already used by the "
                f"agent at line {earlier}"
            )
        first_index.setdefault(agent.id, index)
        for tool in agent.tools:
            if tool not in known_tools:
                problems.append(
                    f"{where.agent(index, ['tools'])}: agent {agent.id!r}: tools: unknown tool "
                    f"{tool!r} (known tools: {known})"
                )
    return problems


def _choose_default(
    valid: list[tuple[int, AgentDefinition]], *, where: _SourceMap
) -> tuple[str, list[str]]:
    """Exactly one default; when none is marked, the first agent every user may use."""
    marked = [(index, agent) for index, agent in valid if agent.default]
    problems = [
        f"{where.agent(index, ['default'])}: agent {agent.id!r}: default: only one agent can be "
        f"the default, and {marked[0][1].id!r} already is"
        for index, agent in marked[1:]
    ]
    if marked and marked[0][1].admin_only:
        index, agent = marked[0]
        problems.append(
            f"{where.agent(index, ['default'])}: agent {agent.id!r}: default: the default agent "
            "cannot be admin_only (every user needs it)"
        )
    open_to_all = [agent for _, agent in valid if not agent.admin_only]
    if not open_to_all:
        problems.append(f"{where.source}: every agent is admin_only; users would have none")
    if problems:
        return "", problems
    return (marked[0][1] if marked else open_to_all[0]).id, []


_AGENTS_HEADER = re.compile(r"^\s*\[\[\s*agents\s*\]\]\s*(?:#.*)?$")
_TABLE_HEADER = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(?:#.*)?$")
_MCP_HEADER = re.compile(r"^\s*\[\[\s*agents\s*\.\s*mcp\s*\]\]\s*(?:#.*)?$")
_ANY_HEADER = re.compile(r"^\s*\[")


def _key(parts: list[str]) -> re.Pattern[str]:
    """`a.b =` at the start of a line, with optional quotes and spaces around the dots."""
    quoted = [rf"(?:{re.escape(p)}|\"{re.escape(p)}\"|'{re.escape(p)}')" for p in parts]
    return re.compile(r"^\s*" + r"\s*\.\s*".join(quoted) + r"\s*(?:=|\.)")


class _SourceMap:
    """Finds the line of a key in the raw text. Not a TOML parser: it knows the layout of an
    agents file (`[[agents]]` headers, `[agents.x]` sub-tables, dotted and inline keys) and
    falls back to the nearest enclosing header when a key cannot be found."""

    def __init__(self, text: str, source: str) -> None:
        self.source = source
        self.lines = text.splitlines()
        self.agent_lines = [n for n, line in enumerate(self.lines, 1) if _AGENTS_HEADER.match(line)]

    def _find(self, pattern: re.Pattern[str], first: int, end: int) -> int | None:
        return next((n for n in range(first, end) if pattern.match(self.lines[n - 1])), None)

    def _at(self, line: int | None) -> str:
        return f"{self.source}:{line}" if line is not None else self.source

    def top_level(self, key: str) -> str:
        """`source:line` of a top-level key (the first `[[agents]]` header for `agents`)."""
        end = next(
            (n for n, line in enumerate(self.lines, 1) if _TABLE_HEADER.match(line)),
            len(self.lines) + 1,
        )
        line = self._find(_key([key]), 1, end)
        if line is None and key == "agents" and self.agent_lines:
            line = self.agent_lines[0]
        return self._at(line)

    def agent(self, index: int, path: list[str]) -> str:
        """`source:line` of `path` inside the index-th agent."""
        if index >= len(self.agent_lines):  # agents written inline: `agents = [{...}]`
            return self.top_level("agents")
        return self._at(self.line(index, path))

    def line(self, index: int, path: list[str]) -> int | None:
        """The line of `path` in the index-th agent, or of the nearest header holding it."""
        if index >= len(self.agent_lines):
            return None
        start = self.agent_lines[index]
        last = len(self.lines) + 1
        end = self.agent_lines[index + 1] if index + 1 < len(self.agent_lines) else last
        tables = [
            (n, re.sub(r"[\s\"']", "", found[1]) if found else "agents.mcp[]")
            for n in range(start + 1, end)
            if (found := _TABLE_HEADER.match(self.lines[n - 1]))
            or _MCP_HEADER.match(self.lines[n - 1])
        ]
        own_end = tables[0][0] if tables else end
        if not path:
            return start
        head, rest = path[0], path[1:]
        if head == "mcp" and rest and rest[0].isdigit():
            return self._mcp_line(start, end, int(rest[0]), rest[1:])
        for position, (header, name) in enumerate(tables):
            if name == f"agents.{head}":
                table_end = tables[position + 1][0] if position + 1 < len(tables) else end
                found_line = self._find(_key(rest[:1]), header + 1, table_end) if rest else None
                return found_line or header
        return (
            (self._find(_key([head, rest[0]]), start + 1, own_end) if rest else None)
            or self._find(_key([head]), start + 1, own_end)
            or start
        )

    def _mcp_line(self, start: int, end: int, position: int, path: list[str]) -> int:
        """The line of `path` in the agent's position-th `[[agents.mcp]]` table."""
        servers = [n for n in range(start + 1, end) if _MCP_HEADER.match(self.lines[n - 1])]
        if position >= len(servers):  # written inline: `mcp = [{...}]`
            return self._find(_key(["mcp"]), start + 1, end) or start
        header = servers[position]
        following = [n for n in range(header + 1, end) if _ANY_HEADER.match(self.lines[n - 1])]
        own_end = following[0] if following else end
        if not path:
            return header
        oauth = own_end if own_end < end else None
        if (
            path[0] == "oauth"
            and oauth is not None
            and re.sub(r"[\s\"']", "", self.lines[oauth - 1]) == "[agents.mcp.oauth]"
        ):
            table_end = next((n for n in following if n > oauth), end)
            found = self._find(_key(path[1:2]), oauth + 1, table_end) if path[1:] else None
            return found or oauth
        return (
            (self._find(_key(path[:2]), header + 1, own_end) if len(path) > 1 else None)
            or self._find(_key(path[:1]), header + 1, own_end)
            or header
        )
