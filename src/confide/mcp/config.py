"""How an agents file declares an MCP server: one `[[agents.mcp]]` table each.

A server is stdio (`command`, `args`, `env`, `cwd`) or Streamable HTTP (`url`, `headers`),
never both. Secrets never sit in the file: `env` and `headers` name environment variables, and
`oauth.client_secret_env` names the one holding the client secret. The same server id on two
agents is one server (one process, one connection), so its tables must be identical.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Annotated, Any, Literal, Protocol
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

if TYPE_CHECKING:
    from confide.agents.definitions import AgentDefinition

# What OpenAI-compatible APIs accept as a function name: the model-visible `<prefix>_<tool>`.
MODEL_TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_NOT_IN_NAME = re.compile(r"[^A-Za-z0-9_-]")
ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"
_HEADER_NAME = r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,128}$"
EnvName = Annotated[str, Field(pattern=ENV_NAME)]
ServerToolName = Annotated[str, Field(min_length=1, max_length=128)]


def _keyed_error(key: str, message: str) -> PydanticCustomError:
    """A model-level error about one key; the agents loader uses `key` to find its line."""
    return PydanticCustomError("agent_file", message, {"key": key})


class _FileModel(BaseModel):
    # As strict as the rest of the agents file (agents/definitions.py).
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class McpOAuthConfig(_FileModel):
    """OAuth 2.1 with PKCE (S256): each user connects their own account at `authorize_url`."""

    authorize_url: str = Field(max_length=2000)
    token_url: str = Field(max_length=2000)
    client_id: str = Field(min_length=1, max_length=500)
    client_secret_env: EnvName | None = None
    scopes: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=64
    )

    @field_validator("authorize_url", "token_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return _checked_url(value)


class McpServerConfig(_FileModel):
    """One MCP server an agent's tools come from."""

    id: str
    # stdio: the program, its arguments, the environment variables passed through (names, or
    # a table child-name -> our variable's name) and its working directory.
    command: str | None = Field(default=None, min_length=1, max_length=1000)
    args: list[Annotated[str, Field(max_length=4000)]] = Field(default_factory=list, max_length=256)
    env: list[EnvName] | dict[str, EnvName] = Field(default_factory=list)
    cwd: str | None = Field(default=None, min_length=1, max_length=1000)
    # Streamable HTTP: the endpoint and headers (header name -> the variable holding its value).
    url: str | None = Field(default=None, max_length=2000)
    headers: dict[str, EnvName] = Field(default_factory=dict)
    # "*" or the server's names of the tools this agent may call.
    tools: Literal["*"] | list[ServerToolName] = "*"
    # The model sees `<prefix>_<tool>`; unset: the id.
    prefix: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
    # The longest a call may take; unset: CONFIDE_TOOL_TIMEOUT_SECONDS.
    timeout_seconds: float | None = Field(default=None, gt=0, le=3600)
    # true: every tool waits for the user's approval; a list: those tools (the server's names).
    requires_approval: bool | list[ServerToolName] = False
    # "user": each user connects their own account; calls carry that user's token only.
    auth: Literal["none", "user"] = "none"
    oauth: McpOAuthConfig | None = None

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,39}", value):
            raise ValueError(
                "must be 1 to 40 lowercase letters, digits, '-' or '_', starting with a letter "
                "or digit"
            )
        return value

    @field_validator("env")
    @classmethod
    def _child_names(cls, value: list[str] | dict[str, str]) -> list[str] | dict[str, str]:
        if isinstance(value, Mapping):
            bad = [name for name in value if not re.fullmatch(ENV_NAME, name)]
            if bad:
                raise ValueError(f"{', '.join(bad)}: not an environment variable name")
        return value

    @field_validator("headers")
    @classmethod
    def _header_names(cls, value: dict[str, str]) -> dict[str, str]:
        bad = [name for name in value if not re.fullmatch(_HEADER_NAME, name)]
        if bad:
            raise ValueError(f"{', '.join(bad)}: not an HTTP header name")
        return value

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        return None if value is None else _checked_url(value)

    @model_validator(mode="after")
    def _one_transport(self) -> McpServerConfig:
        if (self.command is None) == (self.url is None):
            raise _keyed_error(
                "command", "needs exactly one transport: command (stdio) or url (Streamable HTTP)"
            )
        if self.url is not None:
            for key, given in (("args", self.args), ("env", self.env), ("cwd", self.cwd)):
                if given:
                    raise _keyed_error(key, f"{key} is for stdio servers (command), not url")
        if self.command is not None and self.headers:
            raise _keyed_error("headers", "headers are for HTTP servers (url), not command")
        if self.auth == "user" and self.command is not None:
            raise _keyed_error(
                "auth",
                'auth = "user" needs an HTTP server (url): a stdio server is one process '
                "shared by every user, so it cannot hold one user's credentials",
            )
        if self.oauth is not None and self.auth != "user":
            raise _keyed_error("oauth", 'oauth needs auth = "user" (each user connects)')
        if isinstance(self.requires_approval, list) and isinstance(self.tools, list):
            strangers = [name for name in self.requires_approval if name not in self.tools]
            if strangers:
                raise _keyed_error(
                    "requires_approval", f"names {', '.join(strangers)}, not in this server's tools"
                )
        return self

    @property
    def transport(self) -> Literal["stdio", "http"]:
        return "stdio" if self.command is not None else "http"

    @property
    def model_prefix(self) -> str:
        return self.prefix or self.id

    def allows(self, tool: str) -> bool:
        """Whether the agent may call the server's `tool`."""
        return self.tools == "*" or tool in self.tools

    def needs_approval(self, tool: str) -> bool:
        if isinstance(self.requires_approval, bool):
            return self.requires_approval
        return tool in self.requires_approval


def _checked_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not hold credentials; name their variable in headers")
    return value


def model_tool_name(prefix: str, tool: str) -> str | None:
    """The name the model sees (`<prefix>_<tool>`, characters OpenAI refuses made `_`), or
    None when it would be longer than 64 characters."""
    name = f"{prefix}_{_NOT_IN_NAME.sub('_', tool)}"
    return name if MODEL_TOOL_NAME.match(name) else None


# Checks across agents ------------------------------------------------------------------------


class SourceLines(Protocol):
    """The agents loader's `_SourceMap`: where an agent's key is."""

    def agent(self, index: int, path: list[str]) -> str: ...


def mcp_problems(
    valid: list[tuple[int, AgentDefinition]], *, where: SourceLines, builtin_tools: Collection[str]
) -> list[str]:
    """What no single server table can say is wrong: one id with two configurations, and
    model-visible names that could meet a built-in tool's or another server's."""
    problems: list[str] = []
    first: dict[str, tuple[str, McpServerConfig]] = {}
    for index, agent in valid:
        seen: list[tuple[int, McpServerConfig]] = []
        for position, server in enumerate(agent.mcp):
            at = where.agent(index, ["mcp", str(position), "id"])
            label = f"agent {agent.id!r}: mcp {server.id!r}"
            earlier = first.setdefault(server.id, (agent.id, server))
            if earlier[1] != server:
                problems.append(
                    f"{at}: {label}: differs from the server {server.id!r} of agent "
                    f"{earlier[0]!r}; one id is one server, so their tables must be identical"
                )
            prefix = server.model_prefix
            clash = [name for name in sorted(builtin_tools) if name.startswith(f"{prefix}_")]
            if clash:
                problems.append(
                    f"{at}: {label}: prefix {prefix!r} could name a tool like the built-in "
                    f"{clash[0]!r}; choose another prefix"
                )
            for _, other in seen:
                theirs = other.model_prefix
                if other.id == server.id:
                    problems.append(f"{at}: {label}: listed twice on this agent")
                elif (
                    prefix == theirs
                    or prefix.startswith(f"{theirs}_")
                    or (theirs.startswith(f"{prefix}_"))
                ):
                    problems.append(
                        f"{at}: {label}: prefix {prefix!r} and the prefix {theirs!r} of "
                        f"server {other.id!r} could give two tools one name; choose others"
                    )
            seen.append((position, server))
    return problems


def mcp_source_path(loc: tuple[Any, ...]) -> tuple[int, list[str]] | None:
    """For an error inside `mcp` (`("mcp", 2, "url")`): the server's index and the key path."""
    if len(loc) >= 2 and loc[0] == "mcp" and isinstance(loc[1], int):
        return loc[1], [str(part) for part in loc[2:] if isinstance(part, str)]
    return None
