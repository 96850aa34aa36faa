"""Response bodies of /api/agents: what a user may know about an agent, and nothing more.

No base URL, key variable or system prompt: they describe the operator's set-up, not the agent.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from confide.agents.definitions import AgentDefinition


class AgentModelOut(BaseModel):
    provider: Literal["scripted", "openai"]
    name: str = Field(examples=["confide-scripted"])


class AgentOut(BaseModel):
    id: str = Field(examples=["assistant"])
    name: str = Field(examples=["Assistant"])
    description: str
    default: bool = Field(description="The agent a new thread gets unless another is picked.")
    tools: list[str] = Field(examples=[["add", "calculator", "current_time"]])
    model: AgentModelOut
    vision: bool = Field(default=False, description="The agent takes images attached to messages.")

    @classmethod
    def of(cls, agent: AgentDefinition, *, default: bool) -> AgentOut:
        return cls(
            id=agent.id,
            name=agent.name,
            description=agent.description,
            default=default,
            tools=list(agent.tools),
            model=AgentModelOut(provider=agent.model.provider, name=agent.model.name),
            vision=agent.vision,
        )
