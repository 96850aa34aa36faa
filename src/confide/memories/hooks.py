"""What runs ask of memories: the block for a run's system prompt, and the extraction job
queued once a run completed (`extract_memories`, key `memory:<run id>`: queued once)."""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING, Any

from confide.agents.models.factory import ModelCatalog
from confide.agents.registry import AgentRegistry
from confide.db.base import utcnow
from confide.db.engine import Database
from confide.jobs import JobQueue
from confide.memories import repository
from confide.memories.extraction import model_facts
from confide.memories.facts import Fact, scripted_facts
from confide.memories.prompt import block_cost, memory_block, memory_line
from confide.memories.service import Source, remember, unseal
from confide.preferences.service import memory_enabled
from confide.runs import repository as runs_repository
from confide.storage.codec import Vault
from confide.threads.service import open_content

if TYPE_CHECKING:
    from confide.runs.runner import RunJob

log = logging.getLogger("confide.memories")

MEMORY_JOB = "extract_memories"
# Rows read for one prompt, at most: more than any budget of short facts holds.
PROMPT_ROWS = 200
# The longest one extraction request to a model may take.
EXTRACTION_SECONDS = 120.0


def memory_job_key(run_id: uuid.UUID) -> str:
    return f"memory:{run_id}"


class RunMemories:
    def __init__(
        self,
        *,
        database: Database,
        vault: Vault,
        agents: AgentRegistry,
        models: ModelCatalog,
        prompt_chars: int,
    ) -> None:
        self.database = database
        self.vault = vault
        self.agents = agents
        self.models = models
        self.prompt_chars = prompt_chars
        self.jobs: JobQueue | None = None  # set once the queue is built (it runs our job)

    async def prompt_for(self, user_id: uuid.UUID) -> str:
        """The memory block for a run of the user's (empty with memory off or nothing
        remembered): their active memories, most recently made, edited or used and then
        most used first, as many as fit CONFIDE_MEMORY_PROMPT_CHARS; those given are marked
        used. A failure here costs the run its memories, never the run."""
        if self.prompt_chars <= 0:
            return ""
        try:
            # The rows (none with memory off) in one statement outside a transaction, the
            # transaction only when there is something to mark used: a user without memories
            # costs a turn one round trip to PostgreSQL here, not four (BEGIN, the setting,
            # the rows, COMMIT; "A tool turn's round trips" in bench/README.md).
            async with self.database.read() as conn:
                rows = await repository.for_prompt(conn, user_id=user_id, limit=PROMPT_ROWS)
            if not rows:
                return ""
            async with self.database.begin() as conn:
                codec = await self.vault.codec(conn, user_id)
                lines: list[str] = []
                used: list[uuid.UUID] = []
                for row in rows:
                    line = memory_line(row.key, unseal(codec, row.content, row.id))
                    if block_cost([*lines, line]) <= self.prompt_chars:
                        lines.append(line)
                        used.append(row.id)
                await repository.mark_used(conn, user_id=user_id, memory_ids=used, now=utcnow())
        except Exception:
            log.exception("could not read memories for a run", extra={"user_id": str(user_id)})
            return ""
        return memory_block(lines)

    async def after_run(self, job: RunJob) -> None:
        """Queue the extraction of a completed run (never raises: the run is over). Not for
        a scripted agent's run in whose user messages its rules find nothing: the job would
        find nothing either, and on PostgreSQL + Redis the job took 14 % of the serve
        process's CPU in a tool turn (the shared queue's enqueue, take, heartbeat and finish,
        and the job's transaction: "A tool turn's round trips" in bench/README.md)."""
        if self.jobs is None:
            return
        if job.agent.model.provider == "scripted" and not _may_state_facts(job.history):
            return
        run_id = job.run.id
        try:
            await self.jobs.enqueue(MEMORY_JOB, key=memory_job_key(run_id), run_id=str(run_id))
        except Exception:
            log.exception("could not queue memory extraction", extra={"run_id": str(run_id)})

    async def extract(self, run_id: uuid.UUID) -> int:
        """The `extract_memories` job: remember the facts of a completed run's user messages;
        how many memories it stored. Nothing with the user's memory off; safe to run twice
        (`remember` finds what the first one stored). A model that errs or answers garbage
        is logged and leaves nothing behind."""
        async with self.database.begin() as conn:
            run = await runs_repository.get_run(conn, run_id, user_id=None)
            if run is None or run.status != "completed":
                return 0
            if not await memory_enabled(conn, run.user_id):
                return 0
            codec = await self.vault.codec(conn, run.user_id)
            messages = [
                (row, open_content(codec, row.id, bytes(row.content)))
                for row in await repository.run_user_messages(
                    conn, user_id=run.user_id, run_id=run_id
                )
            ]
        agent = self.agents.agents.get(run.agent_id)
        if agent is None or not messages:
            return 0
        found: list[tuple[Any, Fact]] = []
        for row, text in messages:
            try:
                facts = await self._facts(agent, text)
            except Exception as exc:
                # The kind only: what a model said may quote the user's message.
                log.warning(
                    f"memory extraction failed: {type(exc).__name__}",
                    extra={"run_id": str(run_id), "agent_id": agent.id},
                )
                return 0
            found.extend((row, fact) for fact in facts)
        if not found:
            return 0
        stored = 0
        async with self.database.begin() as conn:
            if not await memory_enabled(conn, run.user_id):  # switched off meanwhile
                return 0
            codec = await self.vault.codec(conn, run.user_id)
            for row, fact in found:
                source = Source(message_id=row.id, thread_id=row.thread_id)
                if await remember(conn, codec, fact, source=source) is not None:
                    stored += 1
        return stored

    async def _facts(self, agent: Any, text: str) -> list[Fact]:
        if agent.model.provider == "scripted":
            return scripted_facts(text)
        return await model_facts(
            self.models.for_agent(agent), text, timeout_seconds=EXTRACTION_SECONDS
        )


def _may_state_facts(history: list[dict[str, Any]]) -> bool:
    """Whether the scripted rules could find a fact in the run's user messages, told from
    the history the run was given: the newest messages of its path, from a user message on,
    so the run's own user message (the newest) is in it whenever any user message is. True
    when it cannot tell (no user message, content of a shape it does not know)."""
    texts: list[str] = []
    for entry in history:
        if entry.get("role") != "user":
            continue
        content = entry.get("content")
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list):  # a message with files: its text, then their parts
            for part in content:
                if not isinstance(part, dict) or not isinstance(part.get("type"), str):
                    return True
                if part["type"] == "text":
                    if not isinstance(part.get("text"), str):
                        return True
                    texts.append(part["text"])
        else:
            return True
    return not texts or any(scripted_facts(text) for text in texts)
