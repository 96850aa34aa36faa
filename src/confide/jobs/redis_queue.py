"""The shared job queue: SAQ on Redis (why SAQ: docs/architecture.md, "Jobs").

At-least-once: a worker takes a job, heartbeats it every third of CONFIDE_JOB_LEASE_SECONDS,
and when the heartbeats stop (the worker died) any worker's sweep aborts it and queues it again
while it has tries left. Cancelling from any process is SAQ's abort: the worker executing the
job sees it within `ABORT_POLL_SECONDS` and cancels the job's task.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from typing import Any, cast

from redis.exceptions import RedisError
from saq import CronJob, Status, Worker
from saq.queue.redis import RedisQueue
from saq.types import PartialTimersDict

from confide.jobs import JobDefinition, JobState, definitions_by_name, describe

log = logging.getLogger("confide.jobs")
# SAQ logs every job it takes at INFO: a line per run is the access log's job, not SAQ's.
logging.getLogger("saq").setLevel(logging.WARNING)

QUEUE_NAME = "confide"
ABORT_POLL_SECONDS = 0.5
DEQUEUE_RETRY_SECONDS = 1.0
DEQUEUE_TIMEOUT_SECONDS = 1.0


# SAQ's own (saq/queue/redis.py): under a lock, every job of the active list with its record.
_SWEEP_SCRIPT = """
local id_jobs = {}
if redis.call('EXISTS', KEYS[1]) == 0 then
    redis.call('SETEX', KEYS[1], ARGV[1], 1)
    for i, v in ipairs(redis.call('LRANGE', KEYS[2], 0, -1)) do
        id_jobs[i] = {v, redis.call('GET', v)}
    end
end
return id_jobs
"""


class _Queue(RedisQueue):
    """SAQ's Redis queue, sweeping as often as the lease needs.

    SAQ takes a sweep lock for 60 s by default (one sweep a minute across all workers): a dead
    worker's job would wait up to a minute past its lease. Here the lock lasts a third of the
    lease, and a sweep waits at most a second for a dead worker to acknowledge an abort."""

    sweep_lock_seconds = 10

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._fresh: set[str] = set()  # taken but not yet marked active, at the last sweep

    async def sweep(self, lock: int = 60, abort: float = 5.0) -> list[str]:
        """SAQ's sweep (saq/queue/redis.py), with one change: a job in the active list still
        marked queued is swept only if it was so at the previous sweep too.

        A worker moves a job to the active list (BLMOVE) and marks it active a moment later;
        SAQ's sweep takes every job in between for stuck, aborts it and queues it again, so a
        run would be cancelled (or left half-started) by no one. One still queued a whole sweep
        later was left by a worker that died in that moment."""
        if not self._cleanup_script:
            self._cleanup_script = self.redis.register_script(_SWEEP_SCRIPT)
        id_jobs = await self._cleanup_script(
            keys=[self._sweep, self._active], args=[self.sweep_lock_seconds], client=self.redis
        )
        swept: list[str] = []
        fresh: set[str] = set()
        for job_id, job_bytes in id_jobs:
            job = self.deserialize(job_bytes)
            name = job_id.decode()
            if job is None:
                swept.append(name)
                async with self.redis.pipeline(transaction=True) as pipe:
                    pipe.lrem(self._active, 0, job_id)
                    pipe.zrem(self._incomplete, job_id)
                    await pipe.execute()
                continue
            if job.status == Status.QUEUED and name not in self._fresh:
                fresh.add(name)
                continue
            if job.status != Status.ACTIVE or job.stuck:
                swept.append(name)
                await self.abort(job, error=self.swept_error_message)
                with contextlib.suppress(asyncio.TimeoutError):
                    await job.refresh(1.0)
                if job.retryable:
                    await self.retry(job, error=self.swept_error_message)
                else:
                    await self.finish(job, Status.ABORTED, error=self.swept_error_message)
        self._fresh = fresh
        return swept

    async def dequeue(self, timeout: float = 0.0, poll_interval: float = 0.0) -> Any:  # noqa: ASYNC109 - SAQ's signature
        # With Redis away, SAQ's workers would try again at once, forever, at full speed: each
        # failed take waits a moment first.
        try:
            return await super().dequeue(timeout, poll_interval)
        except (RedisError, OSError):
            await asyncio.sleep(DEQUEUE_RETRY_SECONDS)
            raise


class _EmbeddedWorker(Worker):  # type: ignore[type-arg]
    # The process (uvicorn, or `confide worker`) owns the signals and stops the worker itself.
    SIGNALS = []  # noqa: RUF012


class SaqQueue:
    shared = True

    def __init__(
        self,
        url: str,
        jobs: list[JobDefinition],
        *,
        execute: bool,
        concurrency: int,
        lease_seconds: float,
        shutdown_grace_seconds: float = 0,
    ) -> None:
        self.jobs = definitions_by_name(jobs)
        self.execute = execute
        self.lease = max(int(lease_seconds), 1)
        self.queue = cast(_Queue, _Queue.from_url(url, name=QUEUE_NAME))
        self.queue.sweep_lock_seconds = max(self.lease // 3, 1)
        self.concurrency = concurrency
        self.shutdown_grace_seconds = shutdown_grace_seconds
        self.worker: Worker | None = None  # type: ignore[type-arg]
        self._worker_task: asyncio.Task[None] | None = None

    # What a queued job of each kind looks like in SAQ.
    def _options(self, job: JobDefinition) -> dict[str, Any]:
        return {
            "timeout": int(job.timeout_seconds) if job.timeout_seconds else 0,
            "heartbeat": self.lease,
            "retries": job.tries,
            "ttl": 600,
        }

    async def start(self) -> None:
        await self.queue.connect()
        if not self.execute or self.worker is not None:
            return
        functions = [(name, self._wrap(job)) for name, job in self.jobs.items()]
        cron_jobs = [
            CronJob(self._wrap(job), cron=job.cron, **self._options(job))
            for job in self.jobs.values()
            if job.cron
        ]
        self.worker = _EmbeddedWorker(
            self.queue,
            functions=functions,
            cron_jobs=cron_jobs,
            concurrency=self.concurrency,
            id=f"{socket.gethostname()}:{os.getpid()}",
            # SAQ sleeps these as given: a fraction of a second works.
            timers=cast(
                PartialTimersDict,
                {"sweep": max(self.lease // 3, 1), "abort": ABORT_POLL_SECONDS},
            ),
            shutdown_grace_period_s=int(self.shutdown_grace_seconds) or None,
            # An idle slot looks again every second: a stopping worker is done with its idle
            # slots within a second, rather than waiting out the whole grace period.
            dequeue_timeout=DEQUEUE_TIMEOUT_SECONDS,
        )
        self._worker_task = asyncio.create_task(self.worker.start(), name="saq-worker")

    def _wrap(self, job: JobDefinition) -> Any:
        lease = self.lease

        async def execute(ctx: dict[str, Any], **kwargs: str) -> None:
            saq_job = ctx["job"]

            async def heartbeat() -> None:
                while True:
                    await asyncio.sleep(lease / 3)
                    try:
                        await saq_job.update()
                    except Exception as exc:  # Redis away for a moment: the next beat
                        log.warning("job heartbeat failed", extra={"error": type(exc).__name__})

            beating = asyncio.create_task(heartbeat())
            try:
                await job.function(**kwargs)
            except Exception:
                log.exception("job failed", extra={"job": job.name, **describe(kwargs)})
                raise
            finally:
                beating.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await beating

        # SAQ names cron jobs by their function's __qualname__.
        execute.__qualname__ = execute.__name__ = job.name
        return execute

    async def aclose(self) -> None:
        worker, task = self.worker, self._worker_task
        self.worker = self._worker_task = None
        if worker is not None:
            await worker.stop()
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.queue.disconnect()

    async def enqueue(self, name: str, *, key: str, **kwargs: str) -> None:
        job = self.jobs[name]
        await self.queue.enqueue(name, key=key, **self._options(job), **kwargs)

    async def state(self, key: str) -> JobState:
        job = await self.queue.job(key)
        if job is None:
            return "missing"
        if job.status == Status.QUEUED:
            return "queued"
        if job.status == Status.ACTIVE:
            return "active"
        return "missing"

    async def abort(self, key: str) -> JobState:
        job = await self.queue.job(key)
        if job is None or job.status not in (Status.QUEUED, Status.ACTIVE):
            return "missing"
        state: JobState = "queued" if job.status == Status.QUEUED else "active"
        await self.queue.abort(job, error="cancelled")
        return state

    async def ping(self) -> None:
        await self.queue.redis.execute_command("PING")  # type: ignore[no-untyped-call]
