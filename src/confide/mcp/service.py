"""A user's connections to the `auth = "user"` MCP servers of the agents they may use."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from urllib.parse import quote

from confide.agents.registry import AgentRegistry, may_use
from confide.auth.cache import Principal
from confide.db.base import utcnow
from confide.mcp import oauth, repository
from confide.mcp.config import McpServerConfig, model_tool_name
from confide.mcp.credentials import OAUTH_STATE_TTL, STATE_COLUMN, STATE_TABLE, save
from confide.mcp.errors import McpServerNotFound, OAuthNotOffered, OAuthStateInvalid
from confide.mcp.manager import McpManager
from confide.mcp.schemas import ConnectionOut, McpServerOut, McpToolOut
from confide.storage.codec import ContentCodec, Executor


def servers_out(manager: McpManager) -> list[McpServerOut]:
    """Every server, as the admin page shows it: the tools its agents may call (those the
    `tools` allow-list lets through)."""
    out = []
    for server in manager.servers.values():
        config = server.config
        tools = [
            McpToolOut(
                name=tool.name,
                model_name=model_tool_name(config.model_prefix, tool.name) or "",
                description=tool.description or "",
                requires_approval=config.needs_approval(tool.name),
            )
            for tool in server.tools
            if config.allows(tool.name)
        ]
        out.append(
            McpServerOut(
                id=server.id,
                transport=config.transport,
                state=server.state,
                last_error=server.last_error,
                auth=config.auth,
                agents=list(server.agents),
                tools=tools,
                updated_at=server.updated_at,
            )
        )
    return out


class Connections:
    """The caller's credentials: listed, saved, forgotten, or obtained through OAuth."""

    def __init__(
        self,
        db: Executor,
        *,
        codec: ContentCodec,
        principal: Principal,
        agents: AgentRegistry,
        environ: Mapping[str, str],
    ) -> None:
        self.db = db
        self.codec = codec
        self.principal = principal
        self.agents = agents
        self.environ = environ

    def _servers(self) -> dict[str, tuple[McpServerConfig, list[str]]]:
        """The user-auth servers of the agents the caller may use, with those agents."""
        found: dict[str, tuple[McpServerConfig, list[str]]] = {}
        for agent in self.agents.agents:
            if not may_use(self.principal, agent):
                continue
            for config in agent.mcp:
                if config.auth == "user":
                    found.setdefault(config.id, (config, []))[1].append(agent.id)
        return found

    def server(self, server_id: str) -> McpServerConfig:
        found = self._servers().get(server_id)
        if found is None:
            raise McpServerNotFound()
        return found[0]

    async def list(self) -> list[ConnectionOut]:
        connected: dict[str, datetime] = {
            row.server_id: row.connected_at
            for row in await repository.credentials(self.db, user_id=self.principal.user_id)
        }
        return [
            ConnectionOut(
                server_id=server_id,
                agents=agents,
                connected=server_id in connected,
                connected_at=connected.get(server_id),
                oauth=config.oauth is not None,
            )
            for server_id, (config, agents) in self._servers().items()
        ]

    async def put_token(self, server_id: str, token: str) -> None:
        """Store a pasted token (replacing what was there)."""
        self.server(server_id)
        await save(
            self.db,
            codec=self.codec,
            server_id=server_id,
            secret=oauth.Secret(access_token=token.strip()),
            kind="token",
        )

    async def delete(self, server_id: str) -> None:
        self.server(server_id)
        await repository.delete_credential(
            self.db, user_id=self.principal.user_id, server_id=server_id
        )

    async def oauth_start(self, server_id: str, *, base_url: str) -> str:
        """Begin an OAuth flow: the state is kept here (single use, ten minutes)."""
        config = self.server(server_id)
        if config.oauth is None:
            raise OAuthNotOffered()
        now = utcnow()
        await repository.purge_states(self.db, now=now)
        verifier, challenge = oauth.pkce_pair()
        state, state_hash = oauth.new_state()
        row_id = uuid.uuid4()
        redirect_uri = callback_url(base_url, server_id)
        await repository.insert_state(
            self.db,
            id=row_id,
            state_hash=state_hash,
            user_id=self.principal.user_id,
            server_id=server_id,
            verifier=self.codec.encode(
                verifier, table=STATE_TABLE, column=STATE_COLUMN, row_id=row_id
            ),
            redirect_uri=redirect_uri,
            created_at=now,
            expires_at=now + OAUTH_STATE_TTL,
        )
        return oauth.authorize_url(
            config.oauth, state=state, challenge=challenge, redirect_uri=redirect_uri
        )

    async def oauth_finish(self, server_id: str, *, code: str, state: str) -> str:
        """Exchange the code of a flow this user began (its state is spent either way); the
        new access token."""
        config = self.server(server_id)
        if config.oauth is None:
            raise OAuthNotOffered()
        row = await repository.take_state(
            self.db,
            state_hash=oauth.state_hash(state),
            user_id=self.principal.user_id,
            now=utcnow(),
        )
        if row is None or row.server_id != server_id:
            raise OAuthStateInvalid()
        verifier = self.codec.decode(
            bytes(row.verifier), table=STATE_TABLE, column=STATE_COLUMN, row_id=row.id
        )
        secret = await oauth.exchange_code(
            config.oauth,
            code=code,
            verifier=verifier,
            redirect_uri=row.redirect_uri,
            environ=self.environ,
        )
        await save(self.db, codec=self.codec, server_id=server_id, secret=secret, kind="oauth")
        return secret.access_token


def callback_url(base_url: str, server_id: str) -> str:
    return f"{base_url}/api/me/connections/{quote(server_id, safe='')}/oauth/callback"
