"""Runs whose process died are closed by another, once it is certain that process is gone.

Every process renews the lease of the runs it holds every third of CONFIDE_JOB_LEASE_SECONDS,
and looks at every other run in progress (web processes that only serve too: with every worker
gone, a run must still end rather than hang):

- held by this process but executed by no task here (its end could not be written while the
  database was away): closed, `internal_error`;
- held by a process of this host that no longer exists (runs/lease.py): closed at once,
  `worker_lost` (`server_restarted` when one process serves alone, with the in-process queue);
- held by a process whose lease ran out (it died, or lost the database for longer than the
  lease, on any host): closed, `worker_lost`;
- never taken (its job queued): with the in-process queue, its job died with the process that
  queued it (`server_restarted`); with the shared queue, closed only once its job is gone from
  the queue as well and the lease has passed (`worker_lost`).

No process touches a run another live process holds: a start-up is only the first sweep.
Closing is idempotent and fenced (`RunStore.finish`, `RunStore._hold`), so two processes
sweeping at once, or a process that was only slow, never leave a thread invalid.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from datetime import timedelta

from confide.db.base import utcnow
from confide.runs.runner import INTERNAL_ERROR
from confide.runs.service import (
    SERVER_RESTARTED,
    SERVER_RESTARTED_REASON,
    WORKER_LOST,
    WORKER_LOST_REASON,
    RunService,
    run_job_key,
)

log = logging.getLogger("confide.runs")

NO_WORKER_REASON = "No worker took this run in time."


class RunSweeper:
    def __init__(self, runs: RunService, *, lease_seconds: float) -> None:
        self.runs = runs
        self.lease_seconds = lease_seconds
        self._task: asyncio.Task[None] | None = None

    async def sweep(self) -> list[uuid.UUID]:
        """One look at every run in progress; the ids of those it closed."""
        runs, me = self.runs, self.runs.identity
        closed: list[uuid.UUID] = []
        now = utcnow()
        for row in await runs.store.running():
            run_id, worker_id, lease_until, created_at, job_key = row
            if worker_id == me.worker_id:
                # Ours, yet no task here runs it: its end could not be written (the database
                # was away). Not renewed for ever: closed, once it is older than a lease (a run
                # just started or claimed is between its row and its task for an instant).
                if (
                    run_id in runs.manager.tasks
                    or runs.is_prepared(run_id)
                    or created_at >= now - timedelta(seconds=self.lease_seconds)
                ):
                    continue
                code, reason = "internal_error", INTERNAL_ERROR
            elif worker_id is not None:
                if me.knows_gone(worker_id):
                    # One process serving alone was restarted; or one of many was lost.
                    code, reason = (
                        (WORKER_LOST, WORKER_LOST_REASON)
                        if runs.jobs.shared
                        else (SERVER_RESTARTED, SERVER_RESTARTED_REASON)
                    )
                elif lease_until is not None and lease_until < now:
                    code, reason = WORKER_LOST, WORKER_LOST_REASON
                else:
                    continue
            elif lease_until is not None and lease_until >= now:
                continue  # resumed after a wait, and queued: a process has a lease to take it
            elif not runs.jobs.shared:
                code, reason = SERVER_RESTARTED, SERVER_RESTARTED_REASON
            elif (
                lease_until is not None or created_at < now - timedelta(seconds=self.lease_seconds)
            ) and (await runs.jobs.state(job_key or run_job_key(run_id)) == "missing"):
                code, reason = WORKER_LOST, NO_WORKER_REASON
            else:
                continue
            if await runs.close_lost(run_id, code, reason):
                closed.append(run_id)
        return closed

    async def beat(self) -> None:
        """Renew this process's leases, then sweep."""
        await self.runs.store.renew(self.runs.identity.worker_id)
        await self.sweep()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._forever(), name="run-sweeper")

    async def _forever(self) -> None:
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            try:
                await self.beat()
            except Exception as exc:  # the database away for a moment: the next beat
                log.warning("could not renew or sweep runs", extra={"error": type(exc).__name__})

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
