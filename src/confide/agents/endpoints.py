"""HTTP routes of /api/agents: the agents the caller may use."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from confide.access.dependencies import ThreadReader
from confide.agents.registry import AgentRegistry
from confide.agents.schemas import AgentOut
from confide.pagination import (
    DEFAULT_LIMIT,
    CursorParam,
    InvalidCursor,
    LimitParam,
    Page,
    decode_cursor,
    encode_cursor,
)

router = APIRouter(prefix="/api/agents", tags=["agents"])


async def agents_registry(request: Request) -> AgentRegistry:
    registry: AgentRegistry = request.app.state.agents
    return registry


AgentRegistryDep = Annotated[AgentRegistry, Depends(agents_registry)]


@router.get("", response_model=Page[AgentOut])
async def list_agents(
    principal: ThreadReader,
    registry: AgentRegistryDep,
    cursor: CursorParam = None,
    limit: LimitParam = DEFAULT_LIMIT,
) -> Page[AgentOut]:
    """The agents the caller may use, in configuration order."""
    # The set is small and fixed for the life of the process, so a position is a stable key.
    start = 0
    if cursor:
        (start,) = decode_cursor(cursor, length=1)
        if type(start) is not int or start < 0:
            raise InvalidCursor
    agents = registry.visible_to(principal)
    default_id = agents[0].id if agents else None
    if agents and registry.agents.default in agents:
        default_id = registry.agents.default.id
    items = [AgentOut.of(agent, default=agent.id == default_id) for agent in agents]
    end = start + limit
    next_cursor = encode_cursor([end]) if end < len(items) else None
    return Page[AgentOut](items=items[start:end], next_cursor=next_cursor)


@router.get(
    "/{agent_id}",
    response_model=AgentOut,
    responses={404: {"description": "No such agent, or not one the caller may use"}},
)
async def get_agent(agent_id: str, principal: ThreadReader, registry: AgentRegistryDep) -> AgentOut:
    """One agent the caller may use (`agent_not_found` otherwise)."""
    agent = registry.get_for(principal, agent_id)  # a usable agent: so there is a default
    return AgentOut.of(agent, default=agent.id == registry.default_for(principal).id)
