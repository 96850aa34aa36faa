"""Background jobs: runs, and every job that must not depend on one request (docs/architecture.md,
"Jobs").

`JobQueue` is the small Protocol the rest of Confide uses; `build_queue` picks its backend:

- `InProcessQueue` (the default, no configuration): jobs are tasks of this process, retried on
  failure, cron jobs fired by a scheduler task. Nothing survives the process: a run it had
  started is closed by the next process to start (runs/sweeper.py).
- `SaqQueue` (with CONFIDE_REDIS_URL): SAQ's Redis queue, shared by every process; jobs are
  at-least-once, under a lease kept by heartbeats (CONFIDE_JOB_LEASE_SECONDS), swept and retried
  when their worker dies. `confide serve` executes jobs too unless CONFIDE_JOBS=external, when
  only `confide worker` processes do.

Every job must be safe to run twice: a run claims its row before it does anything, a purge
deletes what is already gone as happily as what is not.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

JobState = Literal["queued", "active", "missing"]


@dataclass(frozen=True, slots=True)
class JobDefinition:
    """A kind of job: its name, the coroutine that does it (called with the job's keyword
    arguments, all strings), and how it is retried or scheduled."""

    name: str
    function: Callable[..., Awaitable[object]]
    # Tries in all (a run: one, and one more that only closes it if its worker died).
    tries: int = 3
    # The longest one try may take (None: no limit; a run has its own limits).
    timeout_seconds: float | None = 300.0
    # A cron expression (UTC) for a scheduled job, e.g. "0 3 * * *".
    cron: str | None = None


class JobQueue(Protocol):
    """Where jobs are queued, and (if this process executes jobs) run."""

    @property
    def shared(self) -> bool:
        """Whether other processes see this queue (and may execute its jobs)."""

    async def start(self) -> None:
        """Begin executing jobs, scheduled ones included, if this process executes jobs."""

    async def aclose(self) -> None:
        """Stop executing, and let go of connections."""

    async def enqueue(self, name: str, *, key: str, **kwargs: str) -> None:
        """Queue a job once: while a job with the same key is queued or active, this is a
        no-op."""

    async def state(self, key: str) -> JobState:
        """Whether the job with this key is waiting, being executed, or gone."""

    async def abort(self, key: str) -> JobState:
        """Stop the job with this key wherever it executes (its task is cancelled) or take it
        out of the queue; returns the state it was in."""

    async def ping(self) -> None:
        """Raise when the queue cannot be reached."""


def definitions_by_name(jobs: list[JobDefinition]) -> dict[str, JobDefinition]:
    names: dict[str, JobDefinition] = {}
    for job in jobs:
        if job.name in names:
            raise ValueError(f"two jobs named {job.name!r}")
        names[job.name] = job
    return names


def describe(kwargs: dict[str, Any]) -> dict[str, str]:
    """A job's arguments for a log line: ids only. A job that must carry something else (the
    address a password-reset link goes to) has it replaced by `<hidden>`, so no log line holds
    an address or a link."""
    return {k: str(v) if k.endswith("id") else "<hidden>" for k, v in kwargs.items()}
