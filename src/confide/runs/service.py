"""Starting, following and cancelling runs for a signed-in user."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from pydantic_ai.models import Model
from pydantic_ai.models.openai import OpenAIChatModel
from sqlalchemy import select

from confide.agents.definitions import AgentDefinition, render_system_prompt
from confide.agents.models.factory import openai_model, scripted_model
from confide.agents.registry import AgentRegistry
from confide.agents.tools import ToolRegistry
from confide.auth.cache import Principal
from confide.config import Settings
from confide.db.engine import Database
from confide.errors import NotFound
from confide.runs.channel import Event, RunChannel
from confide.runs.models import RUNNING, Run, RunState
from confide.runs.runner import RunJob, RunManager
from confide.runs.store import RunStore
from confide.storage.codec import ContentCodec
from confide.threads.schemas import MessageOut


class RunNotFound(NotFound):
    code = "run_not_found"
    title = "No such run"


class ModelCatalog:
    """One pydantic-ai model per agent, built on first use and reused (HTTP clients pooled)."""

    def __init__(self, settings: Settings, agents: AgentRegistry) -> None:
        self.settings = settings
        self.agents = agents
        self._models: dict[str, Model] = {}

    def for_agent(self, agent: AgentDefinition) -> Model:
        model = self._models.get(agent.id)
        if model is None:
            if agent.model.provider == "scripted":
                model = scripted_model()
            else:
                assert agent.model.base_url is not None
                model = openai_model(
                    name=agent.model.name,
                    base_url=agent.model.base_url,
                    api_key=self.agents.api_key(agent),
                    timeout_seconds=agent.model.timeout_seconds
                    or self.settings.model_timeout_seconds,
                )
            self._models[agent.id] = model
        return model

    async def aclose(self) -> None:
        """Close the HTTP clients of the remote models (their pooled connections)."""
        for model in self._models.values():
            if isinstance(model, OpenAIChatModel):
                await model.client.close()


@dataclass(frozen=True, slots=True)
class Launched:
    run: RunState
    channel: RunChannel
    user_message: MessageOut
    new_messages: list[MessageOut]  # the run's, as they are stored


class RunService:
    def __init__(
        self,
        *,
        database: Database,
        codec: ContentCodec,
        settings: Settings,
        agents: AgentRegistry,
        tools: ToolRegistry,
        models: ModelCatalog,
        manager: RunManager,
        store: RunStore,
    ) -> None:
        self.database = database
        self.codec = codec
        self.settings = settings
        self.agents = agents
        self.tools = tools
        self.models = models
        self.manager = manager
        self.store = store

    async def send(
        self, principal: Principal, thread_id: uuid.UUID, content: str, *, stream: bool
    ) -> Launched:
        """Store the user's message and start the agent's turn in the background."""
        chosen: list[AgentDefinition] = []

        def agent_for(agent_id: str) -> tuple[str, str]:
            agent = self.agents.get_for(principal, agent_id)  # it may have been withdrawn
            chosen.append(agent)
            return agent.id, agent.model.name

        started = await self.store.start(
            owner_id=principal.user_id, thread_id=thread_id, content=content, agent_for=agent_for
        )
        run, user_message, (agent,) = started.run, started.user_message, chosen
        model = self.models.for_agent(agent)
        channel = RunChannel(run.id)
        job = RunJob(
            run=run,
            agent=agent,
            model=model,
            system_prompt=render_system_prompt(
                agent, display_name=principal.display_name, today=date.today()
            ),
            history=started.history,
            tools=self.tools.select(agent.tools),
            stream=stream,
            channel=channel,
            max_steps=self.settings.run_max_steps,
            model_timeout=agent.model.timeout_seconds or self.settings.model_timeout_seconds,
            tool_timeout=self.settings.tool_timeout_seconds,
            next_seq=user_message.seq + 1,
        )
        self.manager.launch(job)
        return Launched(
            run=run, channel=channel, user_message=user_message, new_messages=job.new_messages
        )

    async def get(self, principal: Principal, run_id: uuid.UUID) -> Run:
        """The caller's run; anyone else's is indistinguishable from a missing one."""
        async with self.database.sessionmaker() as db:
            run = (
                await db.execute(
                    select(Run).where(Run.id == run_id, Run.user_id == principal.user_id)
                )
            ).scalar_one_or_none()
        if run is None:
            raise RunNotFound
        return run

    async def events(self, principal: Principal, run_id: uuid.UUID, after: int) -> list[Event]:
        """Stored events after `after` (for a run that is not live in this process)."""
        await self.get(principal, run_id)
        return await self.store.events_after(run_id, after)

    def live_channel(self, run_id: uuid.UUID) -> RunChannel | None:
        return self.manager.channels.get(run_id)

    async def cancel(self, principal: Principal, run_id: uuid.UUID) -> Run:
        run = await self.get(principal, run_id)
        if run.status == RUNNING and not await self.manager.cancel(run_id):
            # Running in the database but in no task here: its process is gone.
            await self.store.finish(
                run_id,
                status="cancelled",
                error_code="cancelled",
                error="The run was cancelled.",
                announce=True,
            )
        return await self.get(principal, run_id)
