"""Answering approvals: once, on any channel, then the run goes on (`RunService.resume`).

A decision locks the waiting run's row first, so two answers (two approvals of one run, or
one approval answered on two channels at once) are taken one after the other: the second
answer to one approval finds it decided (`ApprovalDecided`), and of two approvals only the
last answer resumes the run. The decision, its `approval.resolved` event, the audit row and
(for the last one) the run's return to `running` commit together.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime
from typing import Any

from confide.approvals import repository
from confide.approvals.hooks import ApprovalListener
from confide.approvals.models import PENDING, QUESTION
from confide.approvals.schemas import ApprovalOut, Channel, Decision, approval_out, seal
from confide.audit.service import Origin, record
from confide.db.base import utcnow
from confide.db.engine import Database
from confide.errors import Conflict, NotFound, ValidationFailed
from confide.runs import repository as runs_repository
from confide.runs.events import ApprovalResolved, EventBase
from confide.runs.service import RunService
from confide.storage.codec import Vault

log = logging.getLogger("confide.approvals")

DECIDED_ACTION = "approval.decided"
EXPIRED_REASON = "No answer came in time."
EXPIRE_JOB = "expire_approvals"
EXPIRE_CRON = "* * * * *"  # every minute
EXPIRE_BATCH = 100


class ApprovalNotFound(NotFound):
    code = "approval_not_found"
    title = "No such approval"


class ApprovalDecided(Conflict):
    code = "approval_decided"
    title = "This approval was already answered"


class InvalidDecision(ValidationFailed):
    code = "invalid_decision"
    title = "This answer does not fit the approval"


class ApprovalService:
    def __init__(self, *, database: Database, vault: Vault, runs: RunService) -> None:
        self.database = database
        self.vault = vault
        self.runs = runs
        self.listeners: list[ApprovalListener] = []
        runs.manager.on_pause = self._requested

    # Reading ---------------------------------------------------------------------------------

    async def get(self, user_id: uuid.UUID, approval_id: uuid.UUID) -> ApprovalOut:
        async with self.database.connect() as conn:
            row = await repository.get(conn, approval_id, user_id=user_id)
            if row is None:
                raise ApprovalNotFound
            return approval_out(await self.vault.codec(conn, user_id), row)

    async def listed(
        self,
        user_id: uuid.UUID,
        *,
        run_id: uuid.UUID | None = None,
        status: str | None = None,
        thread_id: uuid.UUID | None = None,
        after: tuple[datetime, uuid.UUID] | None = None,
        limit: int,
    ) -> list[ApprovalOut]:
        """A user's approvals, newest first (of one run, one thread, in one status)."""
        async with self.database.connect() as conn:
            codec = await self.vault.codec(conn, user_id)
            rows = await repository.listed(
                conn,
                user_id,
                run_id=run_id,
                status=status,
                thread_id=thread_id,
                after=after,
                limit=limit,
            )
            return [approval_out(codec, row) for row in rows]

    # Deciding --------------------------------------------------------------------------------

    async def decide(
        self,
        *,
        user_id: uuid.UUID,
        approval_id: uuid.UUID,
        decision: Decision,
        channel: Channel,
        run_id: uuid.UUID | None = None,
        origin: Origin | None = None,
    ) -> ApprovalOut:
        """Answer one approval of the user's; the run resumes once all of its are answered."""
        async with self.database.connect() as conn:  # which run: its row is locked first
            found = await repository.get(conn, approval_id, user_id=user_id)
        if found is None or (run_id is not None and found.run_id != run_id):
            raise ApprovalNotFound
        if found.status != PENDING:
            raise ApprovalDecided
        resume_key = None
        async with self.database.begin() as conn:
            if not await runs_repository.lock_waiting(conn, found.run_id):
                raise ApprovalDecided  # the run ended (cancelled) or the answer came already
            row = await repository.get(conn, approval_id, user_id=user_id)
            if row is None:
                raise ApprovalNotFound
            if row.status != PENDING:
                raise ApprovalDecided
            codec = await self.vault.codec(conn, user_id)
            values = self._values(codec, row, decision, channel)
            if not await repository.decide(conn, approval_id, values):
                raise ApprovalDecided
            decided = approval_out(codec, await repository.get(conn, approval_id, user_id=None))
            seq = await runs_repository.last_event_seq(conn, row.run_id) + 1
            event = ApprovalResolved(
                run_id=row.run_id,
                approval_id=approval_id,
                tool_call_id=row.tool_call_id,
                status=decided.status,
                channel=channel,
            )
            event.id = seq
            await self.runs.store.record_events_in(conn, row.run_id, user_id, [event])
            if not await repository.pending_count(conn, row.run_id):
                resume_key = f"run:{row.run_id}:{seq}"
                await runs_repository.resume(
                    conn,
                    row.run_id,
                    worker_id=None,
                    lease_until=utcnow() + self.runs.store.lease,
                    job_key=resume_key,
                )
            await record(
                conn,
                action=DECIDED_ACTION,
                actor_id=user_id if channel != "timeout" else None,
                actor="timeout" if channel == "timeout" else None,
                target_type="run",
                target_id=row.run_id,
                origin=origin,
                detail={
                    "approval_id": str(approval_id),
                    "tool": row.tool,
                    "server_id": row.server_id,
                    "status": decided.status,
                    "channel": channel,
                    "edited": decided.decided_arguments is not None,
                },
            )
        await self._publish(row.run_id, [event])
        if resume_key is not None:
            await self.runs.resume(row.run_id, resume_key)
        for listener in self.listeners:
            try:
                await listener.resolved(decided)
            except Exception:
                log.exception(
                    "an approval listener failed", extra={"approval_id": str(approval_id)}
                )
        return decided

    def _values(self, codec: Any, row: Any, decision: Decision, channel: Channel) -> dict[str, Any]:
        now = utcnow()
        values: dict[str, Any] = {"channel": channel, "decided_at": now}
        if decision.reason is not None and decision.reason.strip():
            values["reason"] = seal(codec, row.id, "reason", decision.reason.strip())
        if channel == "timeout":
            values["status"] = "expired"
            return values
        if decision.decision == "deny":
            if decision.arguments is not None or decision.answer is not None:
                raise InvalidDecision("A denial takes a reason only.")
            values["status"] = "denied"
            return values
        if row.kind == QUESTION:
            if decision.arguments is not None:
                raise InvalidDecision("A question is answered with `answer`, not arguments.")
            if decision.answer is None or not decision.answer.strip():
                raise InvalidDecision("Answer the question: `answer` is required.")
            values["status"] = "answered"
            values["answer"] = seal(codec, row.id, "answer", decision.answer.strip())
            return values
        if decision.answer is not None:
            raise InvalidDecision("An approval takes `arguments`, not an answer.")
        values["status"] = "approved"
        if decision.arguments is not None:
            edited = json.dumps(decision.arguments, ensure_ascii=False, separators=(",", ":"))
            original = codec.decode(
                row.arguments, table="approvals", column="arguments", row_id=str(row.id)
            )
            if _same_json(edited, original):
                return values
            values["decided_arguments"] = seal(codec, row.id, "decided_arguments", edited)
        return values

    async def expire(self) -> int:
        """Answer every approval past its time as expired (the scheduled job)."""
        count = 0
        while True:
            async with self.database.connect() as conn:
                due = await repository.expired(conn, now=utcnow(), limit=EXPIRE_BATCH)
            if not due:
                return count
            for approval_id, user_id in due:
                try:
                    await self.decide(
                        user_id=user_id,
                        approval_id=approval_id,
                        decision=Decision(decision="deny", reason=EXPIRED_REASON),
                        channel="timeout",
                    )
                    count += 1
                except (ApprovalDecided, ApprovalNotFound):
                    continue
            if len(due) < EXPIRE_BATCH:
                return count

    # Hearing of pauses -----------------------------------------------------------------------

    async def _requested(self, approvals: list[ApprovalOut]) -> None:
        for listener in self.listeners:
            try:
                await listener.requested(approvals)
            except Exception:
                log.exception("an approval listener failed")

    async def _publish(self, run_id: uuid.UUID, events: list[EventBase]) -> None:
        try:
            await self.runs.bus.publish(run_id, events)
        except Exception:  # followers read it from the database
            log.warning("could not publish an approval's answer", extra={"run_id": str(run_id)})


def _same_json(a: str, b: str) -> bool:
    try:
        return bool(json.loads(a) == json.loads(b))
    except ValueError:
        return False
