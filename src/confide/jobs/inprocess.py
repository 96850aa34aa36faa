"""The zero-configuration job queue: every job is a task of this process.

Retried on failure like the shared queue's jobs (with a short back-off), cron jobs fired by one
scheduler task. Nothing is kept if the process stops; what a run leaves behind is closed by
the next process to start (runs/sweeper.py), and scheduled jobs simply fire at their next time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from typing import Any

from croniter import croniter

from confide.jobs import JobDefinition, JobState, definitions_by_name, describe

log = logging.getLogger("confide.jobs")

RETRY_DELAYS = (0.5, 2.0, 10.0)


class InProcessQueue:
    shared = False

    def __init__(self, jobs: list[JobDefinition]) -> None:
        self.jobs = definitions_by_name(jobs)
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self._scheduler: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if any(job.cron for job in self.jobs.values()) and self._scheduler is None:
            self._scheduler = asyncio.create_task(self._schedule(), name="job-scheduler")

    async def aclose(self) -> None:
        tasks = [t for t in (self._scheduler, *self.tasks.values()) if t is not None]
        self._scheduler = None
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def enqueue(self, name: str, *, key: str, **kwargs: str) -> None:
        job = self.jobs[name]
        if key in self.tasks:
            return
        task = asyncio.create_task(self._execute(job, kwargs), name=f"job-{key}")
        self.tasks[key] = task
        task.add_done_callback(lambda _: self.tasks.pop(key, None))

    async def state(self, key: str) -> JobState:
        return "active" if key in self.tasks else "missing"

    async def abort(self, key: str) -> JobState:
        task = self.tasks.get(key)
        if task is None:
            return "missing"
        task.cancel()
        await asyncio.wait([task])
        return "active"

    async def ping(self) -> None:
        return None

    async def _execute(self, job: JobDefinition, kwargs: dict[str, Any]) -> None:
        for attempt in range(1, job.tries + 1):
            try:
                async with asyncio.timeout(job.timeout_seconds):
                    await job.function(**kwargs)
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception(
                    "job failed",
                    extra={"job": job.name, "attempt": attempt, **describe(kwargs)},
                )
                if attempt < job.tries:
                    await asyncio.sleep(RETRY_DELAYS[min(attempt, len(RETRY_DELAYS)) - 1])

    async def _schedule(self) -> None:
        timed = [job for job in self.jobs.values() if job.cron]
        while True:
            now = datetime.now(UTC)
            due = [(croniter(job.cron, now).get_next(datetime), job) for job in timed]
            when = min(at for at, _ in due)
            await asyncio.sleep(max((when - datetime.now(UTC)).total_seconds(), 0))
            for at, job in due:
                if at <= when:
                    await self.enqueue(job.name, key=f"cron:{job.name}")
