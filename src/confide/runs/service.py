"""`RunService`: start a run, execute it (the `run` job), follow its events from an id, cancel
it, read it.

The JSON, SSE and WebSocket adapters (`endpoints.py`, `websocket.py`) are thin: they parse
input with the same schemas (`runs/schemas.py`), call this service and shape its answer.

A run's path (docs/architecture.md, "A run across processes"): `start` stores the user's
message and the run, and queues the run's job; whichever process executes the job
(`execute`) streams its events into the event bus (`bus.py`), from which any process serves
them (`follow`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING, Any, Protocol

from confide.access.permissions import RUNS_DIAGNOSE
from confide.agents.definitions import AgentDefinition, render_system_prompt
from confide.agents.models.factory import ModelCatalog
from confide.agents.registry import AgentRegistry
from confide.agents.tools import ToolRegistry, ToolSpec
from confide.audit.service import Origin
from confide.auth.cache import Principal
from confide.config import Settings
from confide.db.base import utcnow
from confide.db.engine import Database
from confide.errors import Conflict, NotFound
from confide.jobs import JobQueue
from confide.runs import repository
from confide.runs.bus import EventBus
from confide.runs.channel import RunChannel
from confide.runs.events import EventBase, MessageCompleted, RunWaiting, ends_stream
from confide.runs.lease import ProcessIdentity
from confide.runs.model_step import ModelLimits
from confide.runs.models import RUNNING, WAITING, RunState
from confide.runs.runner import CANCELLED, RunJob, RunManager, model_settings
from confide.runs.schemas import RunOut, RunResult
from confide.runs.store import Choice, RunStore, Turn, past_waits_dropped
from confide.shared.broadcast import Broadcast
from confide.shared.redis import key
from confide.threads.schemas import MessageOut
from confide.threads.service import ThreadNotFound, estimate_text_tokens
from confide.threads.visibility import (
    ThreadReadOnly,
    access_of,
    audit_read,
    reads_any,
    refuse_write,
)

if TYPE_CHECKING:
    from confide.folders.titles import ThreadTitles
    from confide.memories.hooks import RunMemories

DEFAULT_CONTEXT_TOKENS = 32_768
# Room kept for the answer when the agent sets no max_tokens: an eighth of the context, at
# most this much.
ANSWER_RESERVE_TOKENS = 4096
# How long a cancel waits for the process executing a run to close it, before closing it
# itself (that process is then fenced off: its next write fails, and it stops).
CANCEL_WAIT_SECONDS = 10.0
RUN_JOB = "run"
CANCEL_CHANNEL = key("runs", "cancel")  # pub/sub: run ids to cancel, heard by every process
WORKER_LOST = "worker_lost"
WORKER_LOST_REASON = "The server process running this run stopped."
SERVER_RESTARTED = "server_restarted"
SERVER_RESTARTED_REASON = "The server stopped while this run was in progress."
AGENT_UNAVAILABLE_REASON = "The agent of this thread is no longer available."

log = logging.getLogger("confide.runs")


class McpTools(Protocol):
    """What runs need of the MCP feature: the tools an agent's servers offer now."""

    def tools_for(self, agent: AgentDefinition) -> list[ToolSpec]: ...


def run_job_key(run_id: uuid.UUID) -> str:
    return f"run:{run_id}"


class RunNotFound(NotFound):
    code = "run_not_found"
    title = "No such run"


class NothingToContinue(Conflict):
    code = "nothing_to_continue"
    title = "This run's last message is not an answer that can be continued"


class CannotRegenerate(Conflict):
    code = "cannot_regenerate"
    title = "This run has no user message to answer again"


@dataclass(frozen=True, slots=True)
class Launched:
    run: RunState
    user_message: MessageOut | None  # None: a regenerated or continued run stores none
    job: RunJob | None  # when this process executes the run itself (the in-process queue)


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
        bus: EventBus,
        jobs: JobQueue,
        identity: ProcessIdentity,
        local_jobs: JobQueue | None = None,
    ) -> None:
        self.database = database
        self.settings = settings
        self.agents = agents
        self.tools = tools
        self.models = models
        self.manager = manager
        self.store = store
        self.bus = bus
        self.jobs = jobs
        # Where the runs this process starts go: this process's own queue when it executes
        # them itself (CONFIDE_JOBS=inprocess, with Redis or without), else the shared one.
        self.local_jobs = local_jobs
        self.identity = identity
        self._fixed_costs: dict[str, int] = {}  # agent id: context less tools and answer
        # Runs started here for this process to execute (the in-process queue), prepared in
        # full by `start`: the job takes them from here instead of reading them back.
        self._prepared: dict[uuid.UUID, RunJob] = {}
        self._taking: set[uuid.UUID] = set()
        self.broadcast: Broadcast | None = None  # with Redis: cancels reach every process
        self.memories: RunMemories | None = None  # the user's memories, in and out of runs
        self.titles: ThreadTitles | None = None  # a thread's title by its model, after a run
        self.mcp: McpTools | None = None  # tools of MCP servers (mcp/), when agents have some

    def agent_tools(self, agent: AgentDefinition) -> ToolRegistry:
        """The tools one agent's runs may call: its built-in tools (those it names in
        `requires_approval` marked so) and its MCP servers' tools as they are now."""
        approved = set(agent.requires_approval)
        specs = [
            replace(spec, requires_approval=True) if spec.name in approved else spec
            for spec in self.tools.select(agent.tools).specs()
        ]
        if self.mcp is not None:
            specs.extend(self.mcp.tools_for(agent))
        return ToolRegistry(specs)

    async def start(
        self,
        principal: Principal,
        thread_id: uuid.UUID,
        content: str,
        *,
        parent_id: uuid.UUID | None = None,
        file_ids: Sequence[uuid.UUID] = (),
    ) -> Launched:
        """Store the user's message (at the end of the thread's active path, or after
        `parent_id`: a new branch) and start the agent's turn in the background."""
        turn = Turn(content=content, parent_id=parent_id, file_ids=tuple(file_ids))
        return await self._launch(principal, thread_id, turn)

    async def edit(
        self,
        principal: Principal,
        thread_id: uuid.UUID,
        message_id: uuid.UUID,
        content: str,
        *,
        file_ids: Sequence[uuid.UUID] = (),
    ) -> Launched:
        """A new version of a user message, beside it (a new branch), answered by the agent."""
        turn = Turn(content=content, edit_of=message_id, file_ids=tuple(file_ids))
        return await self._launch(principal, thread_id, turn)

    async def regenerate(
        self, principal: Principal, run_id: uuid.UUID, *, agent_id: str | None = None
    ) -> Launched:
        """Another answer to the user message an ended run of the caller's own thread
        answered, beside that run's answer; by another agent if `agent_id` says so."""
        old = await self.owned(principal, run_id)
        async with self.database.connect() as conn:
            question = await repository.answered_message(conn, run_id)
        if question is None:
            raise CannotRegenerate
        return await self._launch(principal, old.thread_id, Turn(after=question), agent_id=agent_id)

    async def continue_(self, principal: Principal, run_id: uuid.UUID) -> Launched:
        """More of the answer an ended run of the caller's own thread gave (e.g. stopped
        midway): a new answer after it, the model asked to go on from where it stopped."""
        old = await self.owned(principal, run_id)
        async with self.database.connect() as conn:
            last = await repository.last_answer(conn, old.thread_id, run_id)
        if last is None:
            raise NothingToContinue
        return await self._launch(principal, old.thread_id, Turn(after=last))

    async def _launch(
        self,
        principal: Principal,
        thread_id: uuid.UUID,
        turn: Turn,
        *,
        agent_id: str | None = None,
    ) -> Launched:
        chosen: list[AgentDefinition] = []
        system_prompt = ""

        def choose(thread_agent_id: str) -> Choice:
            nonlocal system_prompt
            # The agent may have been withdrawn, or (another agent) not be the caller's.
            agent = self.agents.get_for(principal, agent_id or thread_agent_id)
            chosen.append(agent)
            system_prompt = render_system_prompt(
                agent, display_name=principal.display_name, today=date.today()
            )
            return Choice(
                agent_id=agent.id,
                model=agent.model.name,
                history_budget=self.history_budget(agent, system_prompt),
                vision=takes_images(agent),
            )

        # This process executes the run itself (and holds it from the start) unless runs go
        # to the workers (CONFIDE_JOBS=external). Executed here, a run costs no queue round
        # trips and no second read of its thread: about 4 ms of CPU less per turn on PostgreSQL
        # + Redis (bench/hosts_bench.py, "Redis extra per run"); it is as safe, since a run is
        # never moved to another process anyway, only closed if its process dies.
        queue = self.local_jobs or self.jobs
        here = not queue.shared
        try:
            started = await self.store.start(
                owner_id=principal.user_id,
                thread_id=thread_id,
                turn=turn,
                choose=choose,
                worker_id=self.identity.worker_id if here else None,
            )
        except ThreadNotFound:
            # Not the caller's: `read_only` if they may read it (asked only now, so a turn
            # of the owner's costs no query more).
            async with self.database.connect() as conn:
                raise await refuse_write(conn, principal, thread_id) from None
        run, user_message, (agent,) = started.run, started.user_message, chosen
        job = None
        if here:
            job = self._prepared[run.id] = self._job(
                run, agent, system_prompt, started.history, self.bus.open(run.id)
            )
        try:
            await queue.enqueue(RUN_JOB, key=run_job_key(run.id), run_id=str(run.id))
        except BaseException:
            # Not queued, so nobody would ever execute it: closed now, the thread left valid.
            self._prepared.pop(run.id, None)
            await self.store.finish(
                run.id,
                status="failed",
                error_code="unavailable",
                error="The run could not be queued.",
                announce=True,
            )
            raise
        return Launched(run=run, user_message=user_message, job=job)

    def _job(
        self,
        run: RunState,
        agent: AgentDefinition,
        system_prompt: str,
        history: list[dict[str, object]],
        channel: RunChannel,
    ) -> RunJob:
        return RunJob(
            run=run,
            agent=agent,
            model=self.models.for_agent(agent),
            system_prompt=system_prompt,
            history=history,
            tools=self.agent_tools(agent),
            channel=channel,
            max_steps=self.settings.run_max_steps,
            limits=self.limits(agent),
            tool_timeout=self.settings.tool_timeout_seconds,
            settings=model_settings(agent),
            approval_timeout=self.settings.approval_timeout,
        )

    async def execute(self, run_id: uuid.UUID) -> None:
        """The `run` job: execute a run to its end. Safe to run twice: a run is claimed
        before anything else, and a second delivery finds it claimed (or ended)."""
        job = self._prepared.pop(run_id, None)
        if job is None:
            self._taking.add(run_id)  # claimed but not yet running: not the sweeper's
            try:
                job = await self._take(run_id)
            finally:
                self._taking.discard(run_id)
        if job is not None:
            if self.memories is not None:
                job.system_prompt += await self.memories.prompt_for(job.run.user_id)
            await self.manager.run(job)
            if self.memories is not None and job.status == "completed":
                await self.memories.after_run(job)
            if self.titles is not None and job.status == "completed":
                await self.titles.after_run(
                    run_id=job.run.id, thread_id=job.run.thread_id, agent_id=job.agent.id
                )

    async def _take(self, run_id: uuid.UUID) -> RunJob | None:
        """Claim a queued run and prepare it; None when there is nothing to execute."""
        chosen: list[tuple[AgentDefinition, str]] = []

        def budget(run: RunState, display_name: str | None) -> tuple[int, bool] | None:
            agent = self.agents.agents.get(run.agent_id)
            if agent is None:  # withdrawn from the configuration since the run was queued
                return None
            prompt = render_system_prompt(agent, display_name=display_name, today=date.today())
            chosen.append((agent, prompt))
            return self.history_budget(agent, prompt), takes_images(agent)

        claim = await self.store.claim(run_id, self.identity.worker_id, budget)
        run = claim.run
        if run is None:
            # Delivered again: its first delivery's process holds it (nothing to do), or held
            # it and died (SAQ retries a job only once its heartbeats stopped).
            if claim.row is not None and self.abandoned(claim.row):
                await self.close_lost(run_id, WORKER_LOST, WORKER_LOST_REASON)
            return None
        if not chosen:
            await self.close_lost(run_id, "agent_unavailable", AGENT_UNAVAILABLE_REASON)
            return None
        ((agent, system_prompt),) = chosen
        job = self._job(
            run, agent, system_prompt, claim.history, self.bus.open(run_id, after=claim.after)
        )
        job.open_calls, job.answers = claim.open_calls, claim.approvals
        return job

    async def resume(self, run_id: uuid.UUID, job_key: str) -> None:
        """Go on with a run its user has answered (`approvals` set it running, queued under
        `job_key`). Executed here, it is taken now, so that a client following it from this
        process at once finds it live."""
        queue = self.local_jobs or self.jobs
        if not queue.shared:
            self._taking.add(run_id)
            try:
                job = await self._take(run_id)
            finally:
                self._taking.discard(run_id)
            if job is None:
                return
            self._prepared[run_id] = job
        try:
            await queue.enqueue(RUN_JOB, key=job_key, run_id=str(run_id))
        except BaseException:
            self._prepared.pop(run_id, None)
            await self.close_lost(run_id, "unavailable", "The run could not be queued.")
            raise

    def is_prepared(self, run_id: uuid.UUID) -> bool:
        """Started here, its job not yet begun."""
        return run_id in self._prepared or run_id in self._taking

    def abandoned(self, row: Any) -> bool:
        """Whether a running run's row says its process is gone: known dead on this host, or
        its lease ran out."""
        if row.status != RUNNING or row.worker_id is None:
            return False
        return self.identity.knows_gone(row.worker_id) or (
            row.lease_until is not None and row.lease_until < utcnow()
        )

    async def close_lost(
        self, run_id: uuid.UUID, code: str, reason: str, *, status: str = "failed"
    ) -> bool:
        """Close a run no process here executes (its own died, or it never started), and tell
        its followers wherever they are. False if it had already ended."""
        try:
            after = await self.bus.last_id(run_id)
        except Exception:  # Redis away: its stream is unknown, the database's ids are used
            after = 0
        closed = await self.store.finish(
            run_id, status=status, error_code=code, error=reason, announce=True, after=after
        )
        if closed is None:
            return False
        try:
            await self.bus.publish(run_id, closed.events)
        except Exception:  # the followers read the ending from the database instead
            log.warning("could not publish a run's ending", extra={"run_id": str(run_id)})
        return True

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
                for spec in self.agent_tools(agent).specs()
            )
            memories = -(-self.settings.memory_prompt_chars // 4)  # their block's room
            fixed = self._fixed_costs[agent.id] = context - answer - tools - memories
        return max(fixed - estimate_text_tokens(system_prompt), 0)

    async def get(
        self, principal: Principal, run_id: uuid.UUID, *, origin: Origin | None = None
    ) -> RunOut:
        """A run the caller may read: of their own thread, of one shared with them, or (with
        `threads:read:any`, audited) any; any other is indistinguishable from a missing one.
        What a failing endpoint said (`error_detail`) is shown to admins only."""
        if not reads_any(principal):
            async with self.database.connect() as conn:
                row = await repository.get_readable_run(
                    conn, run_id, user_id=principal.user_id, any_run=False
                )
        else:
            async with self.database.begin() as conn:  # the read and its audit row, together
                row = await repository.get_readable_run(
                    conn, run_id, user_id=principal.user_id, any_run=True
                )
                if row is not None:
                    access = access_of(principal, owner_id=row.user_id, shared=bool(row.shared))
                    await audit_read(
                        conn,
                        principal,
                        access,
                        thread_id=row.thread_id,
                        origin=origin,
                        detail={"run_id": str(run_id)},
                    )
        if row is None:
            raise RunNotFound
        return self._out(principal, row)

    async def owned(self, principal: Principal, run_id: uuid.UUID) -> RunOut:
        """A run of the caller's own thread, for a change: 403 `read_only` for one they may
        only read; anyone else's is indistinguishable from a missing one."""
        async with self.database.connect() as conn:
            row = await repository.get_run(conn, run_id, user_id=principal.user_id)
            if row is None:
                seen = await repository.get_readable_run(
                    conn, run_id, user_id=principal.user_id, any_run=reads_any(principal)
                )
                raise ThreadReadOnly() if seen is not None else RunNotFound()
        return self._out(principal, row)

    def _out(self, principal: Principal, row: Any) -> RunOut:
        run = RunOut.model_validate(row, from_attributes=True)
        if not principal.can(RUNS_DIAGNOSE):
            run.error_detail = None
        return run

    async def follow(
        self,
        principal: Principal,
        run_id: uuid.UUID,
        after: int,
        *,
        origin: Origin | None = None,
    ) -> AsyncIterator[EventBase]:
        """The run's events after `after`: live while it runs (deltas included), from this
        process's memory or the shared stream, else replayed. Checked (`get`) before the
        first event; a stream once open goes on to the run's end."""
        run = await self.get(principal, run_id, origin=origin)
        channel = self.bus.local(run_id)
        if channel is not None:
            return self._local(channel, run_id, after)
        if self.bus.shared:
            if run.status == RUNNING:
                return self._shared(run_id, after)
            published = past_waits_dropped(await self.bus.published(run_id, after))
            if any(ends_stream(event) for event in published):  # deltas included
                return _replay(published)
        return _replay(await self.store.events_after(run_id, after))

    def events(self, launched: Launched) -> AsyncIterator[EventBase]:
        """Every event of a run just started, as it comes."""
        if launched.job is not None:
            return self._local(launched.job.channel, launched.run.id, 0)
        return self._shared(launched.run.id, 0)

    async def _local(
        self, channel: RunChannel, run_id: uuid.UUID, after: int
    ) -> AsyncIterator[EventBase]:
        position = after
        if after < channel.base:  # resumed after a wait: what came before is in the database
            for event in await self.store.events_after(run_id, after):
                if event.id <= channel.base:
                    yield event
                    position = event.id
        async for event in channel.follow(position):
            yield event
            position = event.id
            if ends_stream(event):
                return
        if channel.events and ends_stream(channel.events[-1]):
            return
        # Closed without an ending (another process closed the run): the database has it.
        for event in await self.store.events_after(run_id, position):
            yield event

    async def _shared(self, run_id: uuid.UUID, after: int) -> AsyncIterator[EventBase]:
        position = after
        async for batch in self.bus.read(run_id, after):
            for index, event in enumerate(batch):
                if isinstance(event, RunWaiting) and (
                    index < len(batch) - 1 or await self.store.status(run_id) != WAITING
                ):
                    continue  # a wait the run has gone on from since
                yield event
                position = event.id
                if ends_stream(event):
                    return
            if not batch and await self.store.status(run_id) != RUNNING:
                # Ended, and the stream never said so (Redis lost it): the database has it.
                for event in await self.store.events_after(run_id, position):
                    yield event
                return

    async def cancel(self, principal: Principal, run_id: uuid.UUID) -> RunOut:
        """Stop a run of the caller's own thread."""
        run = await self.owned(principal, run_id)
        if run.status == WAITING:  # no process holds it: closed here, its approvals dropped
            await self.close_lost(run_id, "cancelled", CANCELLED, status="cancelled")
            return await self.owned(principal, run_id)
        if run.status != RUNNING or await self.manager.cancel(run_id):
            return await self.owned(principal, run_id)
        if self.broadcast is not None:  # the process executing it cancels it now
            await self.broadcast.publish(CANCEL_CHANNEL, str(run_id).encode())
        for queue in {id(q): q for q in (self.local_jobs, self.jobs) if q}.values():
            await queue.abort(run_job_key(run_id))
        self._prepared.pop(run_id, None)  # taken out of this process's queue before it began
        row = await self.store.row(run_id)
        if self.jobs.shared and row is not None and row.worker_id is not None:
            # A process holds it (the database says so, whatever the queue's record says):
            # that process closes it, keeping what it streamed. Wait for that, a while.
            try:
                async with asyncio.timeout(CANCEL_WAIT_SECONDS):
                    async for event in await self.follow(principal, run_id, 0):
                        if ends_stream(event):
                            break
            except TimeoutError:
                pass
        if await self.store.status(run_id) == RUNNING:
            # Queued and taken out of the queue, or its process is gone or did not answer.
            closed = await self.store.finish(
                run_id,
                status="cancelled",
                error_code="cancelled",
                error=CANCELLED,
                announce=True,
                after=await self.bus.last_id(run_id),
            )
            if closed is not None:
                await self.bus.publish(run_id, closed.events)
        return await self.owned(principal, run_id)

    async def result(self, principal: Principal, launched: Launched) -> RunResult:
        """Wait for a run's end (it goes on if the caller leaves); the run and its messages."""
        messages = [launched.user_message] if launched.user_message is not None else []
        async for event in self.events(launched):
            if isinstance(event, MessageCompleted):
                messages.append(event.message)
        run = launched.job.run if launched.job is not None else None
        if run is not None and run.status == "completed":  # known here as stored
            out = RunOut.model_validate(run, from_attributes=True)
            out.error_detail = None
        else:
            out = await self.owned(principal, launched.run.id)
        return RunResult(run=out, messages=messages)


def takes_images(agent: AgentDefinition) -> bool:
    """Whether the agent's model is declared to take images (`vision = true`)."""
    return bool(getattr(agent, "vision", False))


async def _replay(events: list[EventBase]) -> AsyncIterator[EventBase]:
    for event in events:
        yield event
