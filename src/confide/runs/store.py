"""What a run writes, each step in its own short transaction (a run outlives any request).

Messages are stored as they complete, so whatever happens next the thread holds everything
that was finished; `close_thread` answers any tool call left without a result, so the thread
always follows OpenAI's rule: each assistant `tool_calls` entry is followed by exactly one
`tool` message with its id before any other message.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from confide.db.base import utcnow
from confide.db.engine import Database
from confide.errors import Conflict
from confide.runs.channel import TERMINAL, Event
from confide.runs.models import RUNNING, Run, RunEvent
from confide.storage.codec import ContentCodec, decode_json, encode_json
from confide.threads.models import Message, Thread
from confide.threads.schemas import MessageOut
from confide.threads.service import NewMessage, ThreadService

INTERRUPTED_TOOL_RESULT = "Cancelled: the run ended before this tool call finished."


class RunInProgress(Conflict):
    code = "run_in_progress"
    title = "A run is already in progress on this thread"


class RunStore:
    def __init__(self, database: Database, codec: ContentCodec) -> None:
        self.database = database
        self.codec = codec

    async def start(
        self, *, thread: Thread, user_id: uuid.UUID, agent_id: str, model: str, content: str
    ) -> tuple[Run, MessageOut]:
        """Create the run and store the user's message, before the model is ever called."""
        async with self.database.sessionmaker() as db:
            run = Run(
                id=uuid.uuid4(),
                thread_id=thread.id,
                user_id=user_id,
                agent_id=agent_id,
                model=model,
                status=RUNNING,
                created_at=utcnow(),
            )
            db.add(run)
            try:
                await db.flush()
            except IntegrityError:
                raise RunInProgress from None
            fresh = await db.get(Thread, thread.id)
            assert fresh is not None
            service = ThreadService(db, codec=self.codec)
            (row,) = await service.append(
                fresh, [NewMessage(role="user", content=content)], run_id=run.id
            )
            message = service.message_out(row)
            await db.commit()
            return run, message

    async def append(
        self,
        run: Run,
        messages: list[NewMessage],
        events: Sequence[Event] = (),
    ) -> list[MessageOut]:
        """Store completed messages (and the run's events so far) in one transaction."""
        async with self.database.sessionmaker() as db:
            thread = await db.get(Thread, run.thread_id)
            if thread is None:  # deleted while the run went on; nothing left to keep
                return []
            service = ThreadService(db, codec=self.codec)
            rows = await service.append(thread, messages, run_id=run.id)
            self._add_events(db, run.id, events)
            await db.commit()
            return [service.message_out(row) for row in rows]

    async def record_events(self, run_id: uuid.UUID, events: Sequence[Event]) -> None:
        if not events:
            return
        async with self.database.sessionmaker() as db:
            self._add_events(db, run_id, events)
            await db.commit()

    async def finish(
        self,
        run_id: uuid.UUID,
        *,
        status: str,
        error_code: str | None = None,
        error: str | None = None,
        events: Sequence[Event] = (),
        announce: bool = False,
    ) -> list[MessageOut]:
        """End a run: answer any tool call left open, record the outcome. Idempotent.

        `announce`: the run has no live task (its process died), so the events a client
        would have heard are written here, numbered after the run's stored ones.
        """
        async with self.database.sessionmaker() as db:
            run = await db.get(Run, run_id)
            if run is None:
                return []
            was_running = run.status == RUNNING
            # A completed run answered every call it made; anything else may have left some open.
            closing = (
                [] if status == "completed" else await self._close_thread(db, run.thread_id, run.id)
            )
            if was_running:
                run.status, run.error_code, run.error = status, error_code, error
                run.finished_at = utcnow()
            if announce and was_running:
                events = await self._closing_events(db, run, closing)
            self._add_events(db, run_id, events)
            await db.commit()
            return closing

    async def _closing_events(
        self, db: AsyncSession, run: Run, closing: list[MessageOut]
    ) -> list[Event]:
        last = (
            await db.execute(select(func.max(RunEvent.seq)).where(RunEvent.run_id == run.id))
        ).scalar_one_or_none() or 0
        base = {"run_id": str(run.id)}
        bodies: list[tuple[str, dict[str, Any]]] = []
        for message in closing:
            bodies.append(
                (
                    "tool.finished",
                    {
                        "tool_call_id": message.tool_call_id,
                        "name": message.name,
                        "status": "cancelled",
                        "result": message.content,
                    },
                )
            )
            bodies.append(("message.completed", {"message": message.model_dump(mode="json")}))
        bodies.append(
            (
                f"run.{run.status}",
                {"status": run.status, "code": run.error_code, "reason": run.error},
            )
        )
        return [
            Event(last + offset, type_, {**base, **data})
            for offset, (type_, data) in enumerate(bodies, start=1)
        ]

    async def _close_thread(
        self, db: AsyncSession, thread_id: uuid.UUID, run_id: uuid.UUID
    ) -> list[MessageOut]:
        thread = await db.get(Thread, thread_id)
        if thread is None:
            return []
        open_calls = await unanswered_calls(db, self.codec, thread_id)
        if not open_calls:
            return []
        service = ThreadService(db, codec=self.codec)
        rows = await service.append(
            thread,
            [
                NewMessage(
                    role="tool", content=INTERRUPTED_TOOL_RESULT, tool_call_id=call_id, name=name
                )
                for call_id, name in open_calls
            ],
            run_id=run_id,
        )
        return [service.message_out(row) for row in rows]

    def _add_events(self, db: AsyncSession, run_id: uuid.UUID, events: Sequence[Event]) -> None:
        for event in events:
            db.add(
                RunEvent(
                    run_id=run_id,
                    seq=event.id,
                    type=event.type,
                    data=encode_json(self.codec, event.data),
                    created_at=utcnow(),
                )
            )

    async def events_after(self, run_id: uuid.UUID, after: int) -> list[Event]:
        """Stored events after an id. The final event always comes last, even when its id is
        not above `after` (ids a client heard as in-memory deltas may have been reused by a
        restarted server): a replay always tells how the run ended."""
        async with self.database.sessionmaker() as db:
            rows = (
                await db.execute(
                    select(RunEvent)
                    .where(RunEvent.run_id == run_id, RunEvent.seq > after)
                    .order_by(RunEvent.seq)
                )
            ).scalars()
            events = [Event(r.seq, r.type, decode_json(self.codec, r.data)) for r in rows]
            if not any(e.type in TERMINAL for e in events):
                final = (
                    await db.execute(
                        select(RunEvent)
                        .where(RunEvent.run_id == run_id, RunEvent.type.in_(TERMINAL))
                        .order_by(RunEvent.seq.desc())
                        .limit(1)
                    )
                ).scalar_one_or_none()
                if final is not None:
                    events.append(Event(final.seq, final.type, decode_json(self.codec, final.data)))
            return events

    async def fail_interrupted(self) -> list[uuid.UUID]:
        """At start-up: runs left `running` by a process that died are failed, their threads
        closed validly."""
        async with self.database.sessionmaker() as db:
            ids = list((await db.execute(select(Run.id).where(Run.status == RUNNING))).scalars())
        for run_id in ids:
            await self.finish(
                run_id,
                status="failed",
                error_code="server_restarted",
                error="The server stopped while this run was in progress.",
                announce=True,
            )
        return ids


async def unanswered_calls(
    db: AsyncSession, codec: ContentCodec, thread_id: uuid.UUID
) -> list[tuple[str, str | None]]:
    """Tool calls of the thread's last assistant turn that have no tool message yet."""
    last_call_turn = (
        await db.execute(
            select(Message)
            .where(Message.thread_id == thread_id, Message.role == "assistant")
            .where(Message.tool_calls.is_not(None))
            .order_by(Message.seq.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    if last_call_turn is None:
        return []
    calls: list[dict[str, Any]] = decode_json(codec, last_call_turn.tool_calls or "[]")
    answered = set(
        (
            await db.execute(
                select(Message.tool_call_id).where(
                    Message.thread_id == thread_id,
                    Message.role == "tool",
                    Message.seq > last_call_turn.seq,
                )
            )
        ).scalars()
    )
    return [
        (call["id"], call.get("function", {}).get("name"))
        for call in calls
        if call["id"] not in answered
    ]
