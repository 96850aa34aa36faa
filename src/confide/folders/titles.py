"""Titles by the agent's own model: after a thread's first completed run, the `title` job
(key `title:<thread id>`: queued once) asks the model for a short title and gives it to the
thread if its title is still the first words of its first message. A user's title always
wins, even one given while the job waits on the model (`repository.set_generated_title`).

The scripted model keeps its first-words titles: no job is queued for it."""

from __future__ import annotations

import logging
import uuid

from pydantic_ai import Agent
from pydantic_ai.models import Model

from confide.agents.models.factory import ModelCatalog
from confide.agents.registry import AgentRegistry
from confide.db.engine import Database
from confide.folders import repository
from confide.folders.title_rules import INSTRUCTIONS, clean_title, title_prompt
from confide.jobs import JobQueue
from confide.runs import repository as runs_repository
from confide.search import index as search_index
from confide.storage.codec import Vault
from confide.threads.models import TITLE_FIRST_WORDS
from confide.threads.service import open_content, seal_title

log = logging.getLogger("confide.folders")

TITLE_JOB = "title"
# The longest one title request to a model may take: a title is a nicety, never a wait.
TITLE_SECONDS = 30.0


def title_job_key(thread_id: uuid.UUID) -> str:
    return f"title:{thread_id}"


async def model_title(model: Model, prompt: str, *, timeout_seconds: float) -> str:
    """The model's title for a conversation's start, cleaned ("" for an unusable answer)."""
    agent: Agent[None, str] = Agent(model, instructions=INSTRUCTIONS, output_type=str)
    result = await agent.run(prompt, timeout=timeout_seconds)
    return clean_title(result.output)


class ThreadTitles:
    """What runs ask of titles: `after_run` queues the job, `generate` is the job."""

    def __init__(
        self,
        *,
        database: Database,
        vault: Vault,
        agents: AgentRegistry,
        models: ModelCatalog,
        enabled: bool = True,
    ) -> None:
        self.database = database
        self.vault = vault
        self.agents = agents
        self.models = models
        self.enabled = enabled
        self.jobs: JobQueue | None = None  # set once the queue is built (it runs our job)

    async def after_run(self, *, run_id: uuid.UUID, thread_id: uuid.UUID, agent_id: str) -> None:
        """Queue the title of a completed run's thread (never raises: the run is over).
        Nothing for the scripted model, or when generated titles are off."""
        agent = self.agents.agents.get(agent_id)
        if not self.enabled or self.jobs is None or agent is None:
            return
        if agent.model.provider == "scripted":
            return
        try:
            await self.jobs.enqueue(TITLE_JOB, key=title_job_key(thread_id), run_id=str(run_id))
        except Exception:
            log.exception("could not queue a thread's title", extra={"run_id": str(run_id)})

    async def generate(self, run_id: uuid.UUID) -> str | None:
        """The `title` job: the title it gave the run's thread (None: none given). Only
        after the thread's first completed run, only over a first-words title; a model
        that errs, is too slow or answers nothing usable is logged and changes nothing."""
        async with self.database.begin() as conn:
            run = await runs_repository.get_run(conn, run_id, user_id=None)
            if run is None or run.status != "completed":
                return None
            thread_id, owner_id = run.thread_id, run.user_id
            source = await repository.title_source(conn, thread_id=thread_id, owner_id=owner_id)
            if source != TITLE_FIRST_WORDS:
                return None
            if await repository.completed_runs(conn, thread_id=thread_id) != 1:
                return None  # not its first: the first one's job had its chance
            question = await repository.first_user_message(conn, thread_id=thread_id)
            answer = await repository.run_answer(conn, thread_id=thread_id, run_id=run_id)
            if question is None or answer is None:
                return None
            codec = await self.vault.codec(conn, owner_id)
            prompt = title_prompt(
                open_content(codec, question.id, bytes(question.content)),
                open_content(codec, answer.id, bytes(answer.content)),
            )
        agent = self.agents.agents.get(run.agent_id)
        if agent is None or agent.model.provider == "scripted":
            return None
        try:
            title = await model_title(
                self.models.for_agent(agent), prompt, timeout_seconds=TITLE_SECONDS
            )
        except Exception as exc:
            # The kind only: what a model said may quote the user's message.
            log.warning(
                f"title generation failed: {type(exc).__name__}",
                extra={"run_id": str(run_id), "agent_id": agent.id},
            )
            return None
        if not title:
            return None
        async with self.database.begin() as conn:
            codec = await self.vault.codec(conn, owner_id)
            given = await repository.set_generated_title(
                conn,
                thread_id=thread_id,
                owner_id=owner_id,
                sealed=seal_title(codec, thread_id, title),
            )
            if not given:  # renamed meanwhile: the user's title stands
                return None
            await search_index.set_title(conn, codec, thread_id=thread_id, title=title)
        return title
