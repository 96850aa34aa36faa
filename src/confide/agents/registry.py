"""The server's agents, built once at start-up, and which of them a caller may use."""

from __future__ import annotations

import logging
import os
from collections.abc import Collection, Mapping

from confide.access.permissions import AGENTS_USE_ANY, agent_permission
from confide.agents.definitions import (
    LLM_API_KEY_ENV,
    AgentDefinition,
    AgentSet,
    load_agents,
)
from confide.auth.cache import Principal
from confide.config import Settings
from confide.errors import NotFound

log = logging.getLogger("confide.agents")


class AgentNotFound(NotFound):
    code = "agent_not_found"
    title = "Agent not found"


class AgentRegistry:
    """Every configured agent; callers see the ones they may use (admins see all)."""

    def __init__(self, agents: AgentSet, *, keys: Mapping[str, str] | None = None) -> None:
        self.agents = agents
        # Keys known to the settings but absent from os.environ (CONFIDE_LLM_API_KEY read from
        # a .env file); everything else is looked up in the environment when it is needed.
        self._keys = dict(keys or {})

    @classmethod
    def from_settings(cls, settings: Settings, known_tools: Collection[str]) -> AgentRegistry:
        """Load CONFIDE_AGENTS_FILE (or the built-in set). Raises AgentFileError: stop start-up."""
        agents = load_agents(
            settings.agents_file,
            llm_base_url=settings.llm_base_url,
            llm_model=settings.llm_model,
            llm_api_key_present=settings.llm_api_key is not None,
            known_tools=known_tools,
            llm_name=settings.llm_name,
        )
        keys = {}
        if settings.llm_api_key is not None:
            keys[LLM_API_KEY_ENV] = settings.llm_api_key.get_secret_value()
        registry = cls(agents, keys=keys)
        for warning in registry.startup_warnings():
            log.warning(warning)
        return registry

    def startup_warnings(self) -> list[str]:
        """Problems that do not stop start-up: ignored settings, keys nobody set."""
        warnings = list(self.agents.warnings)
        for agent in self.agents:
            name = agent.model.api_key_env
            if name is not None and self.api_key(agent) is None:
                warnings.append(
                    f"agent {agent.id!r}: environment variable {name} (its API key) is not set"
                )
        return warnings

    def visible_to(self, principal: Principal) -> list[AgentDefinition]:
        """The agents this caller may use, in configuration order."""
        return [agent for agent in self.agents if may_use(principal, agent)]

    def get_for(self, principal: Principal, agent_id: str) -> AgentDefinition:
        """One agent the caller may use; a hidden agent is as unknown as a missing one."""
        agent = self.agents.get(agent_id)
        if agent is None or not may_use(principal, agent):
            raise AgentNotFound
        return agent

    def default_for(self, principal: Principal) -> AgentDefinition:
        """The agent a caller gets without picking one: the default agent, or, for a role
        that may not use it, the first agent the caller may use (none: AgentNotFound)."""
        default = self.agents.default
        if may_use(principal, default):
            return default
        usable = self.visible_to(principal)
        if not usable:
            raise AgentNotFound("No agent is open to your roles.")
        return usable[0]

    def api_key(self, agent: AgentDefinition) -> str | None:
        """The agent's API key from the variable it names, or None (no key, or unset)."""
        name = agent.model.api_key_env
        if name is None:
            return None
        return os.environ.get(name) or self._keys.get(name)


def may_use(principal: Principal, agent: AgentDefinition) -> bool:
    """`agents:use:<id>`, or `agents:use:*` for an agent not restricted (`admin_only`)."""
    granted = principal.permissions
    if agent_permission(agent.id) in granted:
        return True
    return not agent.admin_only and AGENTS_USE_ANY in granted
