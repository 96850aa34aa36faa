"""The MCP servers of every agent: connected once per process, watched, and restarted.

Each server gets one supervisor task. It connects through pydantic-ai's `MCPToolset` (a
FastMCP client over stdio or Streamable HTTP), lists the tools, then watches the connection
until it ends; then the server is `down` and is connected again after a back-off that doubles
up to a cap. A stdio server's process lives exactly as long as its connection: the MCP SDK
starts it in a process group of its own and kills that group when the connection closes, so
stopping the manager (at shutdown) leaves no process behind.

Tool lists change when the server says so: `notifications/tools/list_changed`. On the
2026-07-28 protocol such a notification only comes on a `subscriptions/listen` stream, which
pydantic-ai does not open: the supervisor opens it with the MCP SDK's `listen` on the
toolset's session (and the stream's end is how a lost connection shows). An older server sends
the notification unasked; there the supervisor pings to notice a lost connection.

A server that is down never fails start-up or another tool: its tools stay listed as they were
last seen, and calling one answers "the tool ... is unavailable" (a warning in the log).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import uuid
from collections.abc import Awaitable, Callable, Generator, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any, Literal

import httpx2
import mcp_types
from fastmcp.client.transports import StdioTransport
from fastmcp.exceptions import McpError, ToolError
from mcp.client.subscriptions import ListenNotSupportedError, SubscriptionLost, listen
from pydantic_ai.mcp import MCPToolset

from confide.agents.definitions import AgentDefinition
from confide.agents.tools.registry import ToolContext, ToolFailure, ToolSpec
from confide.db.base import utcnow
from confide.mcp.config import McpServerConfig, model_tool_name
from confide.mcp.credentials import UserTokens
from confide.mcp.results import result_text

ServerStateName = Literal["starting", "ready", "down"]
CONNECT_TIMEOUT_SECONDS = 10.0
PING_SECONDS = 15.0
STABLE_SECONDS = 30.0  # up this long: the next failure starts the back-off afresh

log = logging.getLogger("confide.mcp")


class ServerUnavailable(Exception):
    """A server that cannot be connected right now (its message says why, one line)."""


def connect_first(server_id: str) -> str:
    return f"connect {server_id} first (Settings → Connections)"


@dataclass
class McpServer:
    """One server as this process sees it now."""

    config: McpServerConfig
    agents: list[str]
    state: ServerStateName = "starting"
    last_error: str | None = None
    tools: list[mcp_types.Tool] = field(default_factory=list)
    updated_at: datetime = field(default_factory=utcnow)
    toolset: MCPToolset[Any] | None = None
    restarts: int = 0
    # `auth = "user"`: the tools were read with a user's token (the server lists them to no
    # one else), so the server stays usable while the anonymous connection fails.
    listed_for_user: bool = False

    @property
    def id(self) -> str:
        return self.config.id


class McpManager:
    """Every agent's MCP servers; `tools_for(agent)` is what runs call (runs/service.py)."""

    def __init__(
        self,
        agents: Iterable[AgentDefinition],
        *,
        tokens: UserTokens | None = None,
        environ: Mapping[str, str] | None = None,
        backoff_seconds: float = 0.5,
        backoff_max_seconds: float = 60.0,
        ping_seconds: float = PING_SECONDS,
        connect_timeout_seconds: float = CONNECT_TIMEOUT_SECONDS,
    ) -> None:
        self.servers: dict[str, McpServer] = {}
        for agent in agents:
            for config in agent.mcp:
                known = self.servers.get(config.id)
                if known is None:
                    self.servers[config.id] = McpServer(config=config, agents=[agent.id])
                else:  # the loader made sure both tables are the same
                    known.agents.append(agent.id)
        self.tokens = tokens
        self.environ = os.environ if environ is None else environ
        self.backoff_seconds = backoff_seconds
        self.backoff_max_seconds = backoff_max_seconds
        self.ping_seconds = ping_seconds
        self.connect_timeout_seconds = connect_timeout_seconds
        self._tasks: list[asyncio.Task[None]] = []
        self._background: set[asyncio.Task[Any]] = set()
        self._closing: set[asyncio.Future[Any]] = set()
        self._changed = asyncio.Condition()

    # Life ------------------------------------------------------------------------------------

    def start(self) -> None:
        """Begin connecting every server; returns at once (nothing here waits for a server)."""
        for server in self.servers.values():
            self._tasks.append(
                asyncio.create_task(self._supervise(server), name=f"mcp-{server.id}")
            )

    async def aclose(self) -> None:
        """Disconnect every server and stop every stdio server's process."""
        tasks = [*self._tasks, *self._background]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.gather(*list(self._closing), return_exceptions=True)
        self._tasks.clear()

    async def wait_until(
        self, predicate: Callable[[], bool], *, timeout_seconds: float = 30.0
    ) -> None:
        """Wait until `predicate()` holds, checked at each change of a server's state or tools."""
        async with asyncio.timeout(timeout_seconds), self._changed:
            await self._changed.wait_for(predicate)

    # Tools -----------------------------------------------------------------------------------

    def tools_for(self, agent: AgentDefinition) -> list[ToolSpec]:
        """The tools the agent's servers offer now (as last seen, for a server that is down)."""
        specs: list[ToolSpec] = []
        taken: set[str] = set()
        for config in agent.mcp:
            server = self.servers.get(config.id)
            if server is None:
                continue
            for tool in server.tools:
                if not config.allows(tool.name):
                    continue
                name = model_tool_name(config.model_prefix, tool.name)
                if name is None or name in taken:
                    continue  # reported when the list was read (_set_tools)
                taken.add(name)
                specs.append(
                    ToolSpec(
                        name=name,
                        description=tool.description or f"{tool.name} (MCP server {config.id})",
                        parameters=dict(tool.input_schema),
                        function=partial(self._call, server, tool.name, name),
                        timeout_seconds=config.timeout_seconds,
                        takes_context=True,
                        arguments_model=None,
                        server_id=config.id,
                        requires_approval=config.needs_approval(tool.name),
                    )
                )
        return specs

    async def _call(
        self,
        server: McpServer,
        tool: str,
        model_name: str,
        context: ToolContext,
        arguments: dict[str, Any],
    ) -> str:
        if server.config.auth == "user":
            return await self._call_as_user(server, tool, model_name, context, arguments)
        toolset = server.toolset
        if toolset is None or server.state != "ready":
            reason = server.last_error or "its server is still starting"
            log.warning(
                "mcp: %s called while its server is %s: %s",
                model_name,
                server.state,
                reason,
                extra={"server_id": server.id},
            )
            raise ToolFailure(f"the tool {model_name} is unavailable: {reason}")
        return await self._call_on(toolset, server, tool, model_name, arguments)

    async def _call_as_user(
        self,
        server: McpServer,
        tool: str,
        model_name: str,
        context: ToolContext,
        arguments: dict[str, Any],
    ) -> str:
        # Only ever the caller's own token, on a connection of this one call: nothing of one
        # user's session can reach another's call.
        token = None
        if self.tokens is not None and context.user_id is not None:
            token = await self.tokens.token(uuid.UUID(context.user_id), server.config)
        if token is None:
            raise ToolFailure(connect_first(server.id))
        bearer = _Bearer(token)
        refused = ToolFailure(
            f"{server.id} refused your credentials: connect it again (Settings → Connections)"
        )
        try:
            toolset = self._toolset(server.config, auth=bearer)
            async with asyncio.timeout(self.connect_timeout_seconds):
                await toolset.__aenter__()
        except Exception as exc:
            if bearer.refused:
                raise refused from None
            self._unavailable(model_name, server, _describe(exc))
        try:
            return await self._call_on(toolset, server, tool, model_name, arguments)
        except ToolFailure:
            # The SDK reports a 401 as a bare "error response"; the auth hook saw the status.
            if bearer.refused:
                raise refused from None
            raise
        finally:
            with contextlib.suppress(Exception):
                await toolset.__aexit__(None, None, None)

    async def _call_on(
        self,
        toolset: MCPToolset[Any],
        server: McpServer,
        tool: str,
        model_name: str,
        arguments: dict[str, Any],
    ) -> str:
        try:
            result = await toolset.client.call_tool(tool, arguments, raise_on_error=False)
        except (McpError, ToolError) as exc:
            if _connection_ended(exc):
                if server.toolset is toolset:
                    server.toolset = None  # the supervisor connects again
                self._unavailable(model_name, server, "its server's connection ended")
            raise ToolFailure(f"{model_name}: {_one_line(str(exc))}") from None
        except (OSError, RuntimeError, ExceptionGroup) as exc:
            self._unavailable(model_name, server, _describe(exc))
        text = result_text(list(result.content), result.structured_content)
        if result.is_error:
            raise ToolFailure(text or f"the tool {model_name} failed")
        return text

    def _unavailable(self, model_name: str, server: McpServer, reason: str) -> Any:
        log.warning(
            "mcp: %s is unavailable: %s", model_name, reason, extra={"server_id": server.id}
        )
        raise ToolFailure(f"the tool {model_name} is unavailable: {reason}")

    def learn_tools(self, server_id: str, token: str) -> None:
        """Read a user-auth server's tools with a user's new token, in the background: for a
        server that lists them to no anonymous client."""
        server = self.servers.get(server_id)
        if server is not None and server.config.auth == "user" and server.state != "ready":
            self._spawn(self._learn_tools(server, token))

    async def _learn_from_latest_user(self, server: McpServer) -> None:
        """After a restart: the tools as the most recently connected user's token lists them
        (used for that list only; calls always carry the caller's own token)."""
        if self.tokens is None:
            return
        try:
            user_id = await self.tokens.latest_user(server.id)
            token = None if user_id is None else await self.tokens.token(user_id, server.config)
        except Exception as exc:  # the database is away: the next attempt asks again
            log.warning("mcp: no user token for %s's tools: %s", server.id, _describe(exc))
            return
        if token is not None:
            await self._learn_tools(server, token)

    async def _learn_tools(self, server: McpServer, token: str) -> None:
        toolset = self._toolset(server.config, auth=_Bearer(token))
        try:
            async with asyncio.timeout(self.connect_timeout_seconds), toolset:
                tools = await toolset.list_tools()
        except Exception as exc:
            log.warning(
                "mcp: reading %s's tools with a user's token failed: %s",
                server.id,
                _describe(exc),
                extra={"server_id": server.id},
            )
            return
        server.listed_for_user = True
        await self._set_tools(server, tools)
        await self._set(server, state="ready")

    # Supervision -----------------------------------------------------------------------------

    async def _supervise(self, server: McpServer) -> None:
        delay = self.backoff_seconds
        while True:
            began = asyncio.get_running_loop().time()
            error = "the connection ended"
            try:
                toolset = self._toolset(server.config, on_message=self._on_message(server))
                async with asyncio.timeout(self.connect_timeout_seconds):
                    await toolset.__aenter__()
                try:
                    server.toolset = toolset
                    await self._refresh(server, toolset)
                    await self._set(server, state="ready", last_error=None)
                    log.info(
                        "mcp: server %s is ready with %d tools",
                        server.id,
                        len(server.tools),
                        extra={"server_id": server.id},
                    )
                    await self._watch(toolset)
                except Exception as exc:
                    error = _describe(exc)
                finally:
                    server.toolset = None
                    if server.state == "ready":  # calls fail fast from now on
                        await self._set(server, state="down", last_error=error)
                    # To its end even when the manager is closing: it is what stops the process.
                    closing = asyncio.ensure_future(toolset.__aexit__(None, None, None))
                    self._closing.add(closing)
                    closing.add_done_callback(self._closing.discard)
                    with contextlib.suppress(Exception):
                        await asyncio.shield(closing)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                error = _describe(exc)
            if asyncio.get_running_loop().time() - began >= STABLE_SECONDS:
                delay = self.backoff_seconds
            if server.config.auth == "user" and not server.listed_for_user:
                await self._learn_from_latest_user(server)
            usable = server.config.auth == "user" and server.listed_for_user
            await self._set(
                server,
                state="ready" if usable else "down",
                last_error=error,
                restarts=server.restarts + 1,
            )
            log.warning(
                "mcp: server %s is down (%s); connecting again in %.1f s",
                server.id,
                error,
                delay,
                extra={"server_id": server.id},
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.backoff_max_seconds)

    async def _watch(self, toolset: MCPToolset[Any]) -> None:
        """Return when the connection has ended."""
        session = toolset.client.session
        try:
            if not toolset.capabilities.tools_list_changed:
                raise ListenNotSupportedError("the server's tool list never changes")
            async with listen(session, tools_list_changed=True) as subscription:
                async for _ in subscription:
                    pass  # the notification itself went to the message handler
            return
        except ListenNotSupportedError:
            pass
        except SubscriptionLost:
            return
        while True:  # an older protocol: notifications come unasked; ping to see it is alive
            await asyncio.sleep(self.ping_seconds)
            async with asyncio.timeout(self.connect_timeout_seconds):
                await toolset.client.ping()

    def _on_message(self, server: McpServer) -> Callable[[Any], Awaitable[None]]:
        async def handle(message: Any) -> None:
            notification = getattr(message, "root", message)
            if isinstance(notification, mcp_types.ToolListChangedNotification):
                # Not awaited here: the handler runs inside the session's receive loop, which
                # must go on to read the list's answer.
                self._spawn(self._refresh_now(server))

        return handle

    async def _refresh_now(self, server: McpServer) -> None:
        toolset = server.toolset
        if toolset is None:
            return
        try:
            await self._refresh(server, toolset)
        except Exception as exc:
            log.warning(
                "mcp: reading %s's changed tool list failed: %s",
                server.id,
                _describe(exc),
                extra={"server_id": server.id},
            )

    async def _refresh(self, server: McpServer, toolset: MCPToolset[Any]) -> None:
        async with asyncio.timeout(self.connect_timeout_seconds):
            tools = await toolset.list_tools()
        await self._set_tools(server, tools)

    async def _set_tools(self, server: McpServer, tools: list[mcp_types.Tool]) -> None:
        usable: list[mcp_types.Tool] = []
        names: set[str] = set()
        prefix = server.config.model_prefix
        for tool in tools:
            name = model_tool_name(prefix, tool.name)
            if name is None:
                log.warning(
                    "mcp: %s's tool %r is left out: %s_%s is longer than the 64 characters "
                    "a model accepts (choose a shorter prefix)",
                    server.id,
                    tool.name,
                    prefix,
                    tool.name,
                    extra={"server_id": server.id},
                )
            elif name in names:
                log.warning(
                    "mcp: %s's tool %r is left out: another of its tools is also called %s",
                    server.id,
                    tool.name,
                    name,
                    extra={"server_id": server.id},
                )
            else:
                names.add(name)
                usable.append(tool)
        await self._set(server, tools=usable)

    async def _set(self, server: McpServer, **changes: Any) -> None:
        for key, value in changes.items():
            setattr(server, key, value)
        server.updated_at = utcnow()
        async with self._changed:
            self._changed.notify_all()

    def _spawn(self, work: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # Connections -----------------------------------------------------------------------------

    def _toolset(
        self,
        config: McpServerConfig,
        *,
        auth: httpx2.Auth | None = None,
        on_message: Callable[[Any], Awaitable[None]] | None = None,
    ) -> MCPToolset[Any]:
        common: dict[str, Any] = {
            "id": config.id,
            "message_handler": on_message,
            "init_timeout": self.connect_timeout_seconds,
            # No read deadline on the long-lived connection: a call's own time limit is the
            # tool's timeout (registry.execute), and the listen stream may be quiet for days.
            "read_timeout": None,
        }
        if config.command is not None:
            transport = StdioTransport(
                config.command,
                list(config.args),
                env=self._child_env(config),
                cwd=config.cwd,
                # The process ends with the connection (the supervisor starts the next one).
                keep_alive=False,
            )
            return MCPToolset(transport, **common)
        assert config.url is not None
        headers = {name: self._variable(config, var) for name, var in config.headers.items()}
        return MCPToolset(config.url, headers=headers or None, auth=auth, **common)

    def _child_env(self, config: McpServerConfig) -> dict[str, str]:
        """Only the variables the file names (the SDK adds PATH, HOME and the like)."""
        pairs = config.env.items() if isinstance(config.env, dict) else [(n, n) for n in config.env]
        return {child: self._variable(config, ours) for child, ours in pairs}

    def _variable(self, config: McpServerConfig, name: str) -> str:
        value = self.environ.get(name)
        if value is None:
            raise ServerUnavailable(f"the environment variable {name} is not set")
        return value


def _connection_ended(exc: BaseException) -> bool:
    return getattr(exc, "code", None) == mcp_types.CONNECTION_CLOSED


class _Bearer(httpx2.Auth):
    """The caller's token on each request of one call's connection, noting a refusal."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.refused = False

    def auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, httpx2.Response]:
        request.headers["Authorization"] = f"Bearer {self.token}"
        response = yield request
        if response.status_code in (401, 403):
            self.refused = True


def _describe(exc: BaseException) -> str:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, TimeoutError):
        return "it did not answer in time"
    message = str(exc)
    return _one_line(f"{type(exc).__name__}: {message}" if message else type(exc).__name__)


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
