"""`RunService`: start a run, follow its events from an id, cancel it, read it.

The JSON, SSE and WebSocket adapters (`endpoints.py`, `websocket.py`) are thin: they parse
input with the same schemas (`runs/schemas.py`), call this service and shape its answer.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date

from confide.agents.definitions import AgentDefinition, render_system_prompt
from confide.agents.models.factory import ModelCatalog
from confide.agents.registry import AgentRegistry
from confide.agents.tools import ToolRegistry
from confide.auth.cache import Principal
from confide.config import Settings
from confide.db.engine import Database
from confide.errors import NotFound
from confide.runs import repository
from confide.runs.channel import RunChannel
from confide.runs.events import EventBase
from confide.runs.model_step import ModelLimits
from confide.runs.models import RUNNING, RunState
from confide.runs.runner import CANCELLED, RunJob, RunManager, model_settings
from confide.runs.schemas import RunOut, RunResult
from confide.runs.store import Choice, RunStore
from confide.threads.schemas import MessageOut
from confide.threads.service import estimate_text_tokens

DEFAULT_CONTEXT_TOKENS = 32_768
# Room kept for the answer when the agent sets no max_tokens: an eighth of the context, at
# most this much.
ANSWER_RESERVE_TOKENS = 4096


class RunNotFound(NotFound):
    code = "run_not_found"
    title = "No such run"


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
        settings: Settings,
        agents: AgentRegistry,
        tools: ToolRegistry,
        models: ModelCatalog,
        manager: RunManager,
        store: RunStore,
    ) -> None:
        self.database = database
        self.settings = settings
        self.agents = agents
        self.tools = tools
        self.models = models
        self.manager = manager
        self.store = store
        self._fixed_costs: dict[str, int] = {}  # agent id: context less tools and answer

    async def start(self, principal: Principal, thread_id: uuid.UUID, content: str) -> Launched:
        """Store the user's message and start the agent's turn in the background."""
        chosen: list[AgentDefinition] = []
        system_prompt = ""

        def choose(agent_id: str) -> Choice:
            nonlocal system_prompt
            agent = self.agents.get_for(principal, agent_id)  # it may have been withdrawn
            chosen.append(agent)
            system_prompt = render_system_prompt(
                agent, display_name=principal.display_name, today=date.today()
            )
            return Choice(
                agent_id=agent.id,
                model=agent.model.name,
                history_budget=self.history_budget(agent, system_prompt),
            )

        started = await self.store.start(
            owner_id=principal.user_id, thread_id=thread_id, content=content, choose=choose
        )
        run, user_message, (agent,) = started.run, started.user_message, chosen
        channel = RunChannel(run.id)
        job = RunJob(
            run=run,
            agent=agent,
            model=self.models.for_agent(agent),
            system_prompt=system_prompt,
            history=started.history,
            tools=self.tools.select(agent.tools),
            channel=channel,
            max_steps=self.settings.run_max_steps,
            limits=self.limits(agent),
            tool_timeout=self.settings.tool_timeout_seconds,
            settings=model_settings(agent),
        )
        self.manager.launch(job)
        return Launched(
            run=run, channel=channel, user_message=user_message, new_messages=job.new_messages
        )

    def limits(self, agent: AgentDefinition) -> ModelLimits:
        model = agent.model
        return ModelLimits(
            silence_seconds=model.timeout_seconds or self.settings.model_timeout_seconds,
            max_duration_seconds=model.max_duration_seconds
            or self.settings.model_max_duration_seconds,
            silence_setting=f"agent {agent.id!r} timeout_seconds"
            if model.timeout_seconds
            else "CONFIDE_MODEL_TIMEOUT_SECONDS",
            duration_setting=f"agent {agent.id!r} max_duration_seconds"
            if model.max_duration_seconds
            else "CONFIDE_MODEL_MAX_DURATION_SECONDS",
        )

    def context_tokens(self, agent: AgentDefinition) -> int:
        """The agent's `context_tokens`, else what the model is known to take, else 32k."""
        if agent.model.context_tokens:
            return agent.model.context_tokens
        known = self.models.context_window(agent)
        return known or DEFAULT_CONTEXT_TOKENS

    def history_budget(self, agent: AgentDefinition, system_prompt: str) -> int:
        """Tokens of history a turn may send: the context, less the system prompt, the tool
        schemas and room for the answer."""
        fixed = self._fixed_costs.get(agent.id)
        if fixed is None:  # the same for every turn of the agent: counted once
            context = self.context_tokens(agent)
            answer = agent.generation.max_tokens or min(context // 8, ANSWER_RESERVE_TOKENS)
            tools = sum(
                estimate_text_tokens(spec.name + spec.description + json.dumps(spec.parameters))
                for spec in self.tools.select(agent.tools).specs()
            )
            fixed = self._fixed_costs[agent.id] = context - answer - tools
        return max(fixed - estimate_text_tokens(system_prompt), 0)

    async def get(self, principal: Principal, run_id: uuid.UUID) -> RunOut:
        """The caller's run; anyone else's is indistinguishable from a missing one. What a
        failing endpoint said (`error_detail`) is shown to admins only."""
        async with self.database.connect() as conn:
            row = await repository.get_run(conn, run_id, user_id=principal.user_id)
        if row is None:
            raise RunNotFound
        run = RunOut.model_validate(row, from_attributes=True)
        if not principal.is_admin:
            run.error_detail = None
        return run

    async def follow(
        self, principal: Principal, run_id: uuid.UUID, after: int
    ) -> AsyncIterator[EventBase]:
        """The run's events after `after`: live while this process runs it (deltas
        included), else replayed from the database. Checked before the first event."""
        await self.get(principal, run_id)
        channel = self.manager.channels.get(run_id)
        if channel is not None:
            return channel.follow(after)
        return _replay(await self.store.events_after(run_id, after))

    async def cancel(self, principal: Principal, run_id: uuid.UUID) -> RunOut:
        run = await self.get(principal, run_id)
        if run.status == RUNNING and not await self.manager.cancel(run_id):
            # Running in the database but in no task here: its process is gone.
            await self.store.finish(
                run_id, status="cancelled", error_code="cancelled", error=CANCELLED, announce=True
            )
        return await self.get(principal, run_id)

    async def result(self, principal: Principal, launched: Launched) -> RunResult:
        """Wait for a run's end (it goes on if the caller leaves); the run and its messages."""
        await launched.channel.ended()
        run = launched.run
        if run.status == "completed":  # known here as stored; any other ending is read back
            out = RunOut.model_validate(run, from_attributes=True)
            out.error_detail = None
        else:
            out = await self.get(principal, run.id)
        return RunResult(run=out, messages=[launched.user_message, *launched.new_messages])


async def _replay(events: list[EventBase]) -> AsyncIterator[EventBase]:
    for event in events:
        yield event
