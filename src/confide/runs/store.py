"""What a run writes, each step in its own short transaction (a run outlives any request).

Messages are stored as they complete, so whatever happens next the thread holds everything
that was finished; `close_thread` answers any tool call left without a result, so the thread
always follows OpenAI's rule: each assistant `tool_calls` entry is followed by exactly one
`tool` message with its id before any other message.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Text, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from confide.db.base import utcnow
from confide.db.engine import Database
from confide.errors import Conflict
from confide.runs.channel import TERMINAL, Event
from confide.runs.models import IS_RUNNING, RUNNING, Run, RunEvent, RunState
from confide.storage.codec import ContentCodec, decode_json, encode_json
from confide.threads.models import Message, Thread
from confide.threads.schemas import MessageOut, openai_message
from confide.threads.service import (
    NewMessage,
    ThreadNotFound,
    ThreadService,
    stored_message,
    title_from,
)

INTERRUPTED_TOOL_RESULT = "Cancelled: the run ended before this tool call finished."


class RunInProgress(Conflict):
    code = "run_in_progress"
    title = "A run is already in progress on this thread"


# The statements of a turn's hot path, built once: a statement's construction and cache key
# cost more than SQLite takes to run it.
_THREAD_OWNED = select(Thread.agent_id).where(
    Thread.id == bindparam("b_thread"), Thread.owner_id == bindparam("b_owner")
)
_HISTORY = (
    select(Message.role, Message.content, Message.tool_calls, Message.tool_call_id)
    .where(Message.thread_id == bindparam("b_thread"))
    .order_by(Message.seq)
)
_INSERT_RUN = insert(Run)
_INSERT_MESSAGES = insert(Message)
_INSERT_EVENTS = insert(RunEvent)
_FIRST_MESSAGE = (
    update(Thread)
    .where(Thread.id == bindparam("b_thread"))
    .values(
        message_count=Thread.message_count + 1,
        last_activity_at=bindparam("b_now"),
        title=func.coalesce(Thread.title, bindparam("b_title", type_=Text())),
    )
    .returning(Thread.message_count)
)
_MOVE_END = (
    update(Thread)
    .where(Thread.id == bindparam("b_thread"))
    .values(message_count=bindparam("b_count"), last_activity_at=bindparam("b_now"))
)
_COMPLETE_RUN = (
    update(Run)
    .where(Run.id == bindparam("b_run"), Run.status == RUNNING)
    .values(status="completed", finished_at=bindparam("b_now"))
)


@dataclass(frozen=True, slots=True)
class Started:
    """A run just created: its state, the user's stored message, the whole conversation."""

    run: RunState
    user_message: MessageOut
    history: list[dict[str, Any]]  # OpenAI's format, the user's message last


class RunStore:
    def __init__(self, database: Database, codec: ContentCodec) -> None:
        self.database = database
        self.codec = codec

    async def start(
        self,
        *,
        owner_id: uuid.UUID,
        thread_id: uuid.UUID,
        content: str,
        agent_for: Callable[[str], tuple[str, str]],
    ) -> Started:
        """Create the run and store the user's message, before the model is ever called.

        The hot path of every turn, so one connection and plain statements, no ORM unit of
        work: the owner's thread and its history (someone else's thread is a missing one),
        then the run, the thread's new count (and title, from its first message) and the
        message. `agent_for(thread's agent id)` names the agent and model that will answer."""
        now = utcnow()
        async with self.database.connect() as conn:
            agent_id = (
                await conn.execute(_THREAD_OWNED, {"b_thread": thread_id, "b_owner": owner_id})
            ).scalar_one_or_none()
            if agent_id is None:
                raise ThreadNotFound
            history = self._openai_messages(
                (await conn.execute(_HISTORY, {"b_thread": thread_id})).all()
            )
            agent_id, model = agent_for(agent_id)
            run = RunState(
                id=uuid.uuid4(),
                thread_id=thread_id,
                user_id=owner_id,
                agent_id=agent_id,
                model=model,
                created_at=now,
            )
            try:
                await conn.execute(
                    _INSERT_RUN,
                    {
                        "id": run.id,
                        "thread_id": thread_id,
                        "user_id": owner_id,
                        "agent_id": agent_id,
                        "model": model,
                        "status": RUNNING,
                        "created_at": now,
                    },
                )
            except IntegrityError:
                raise RunInProgress from None
            seq = (
                await conn.execute(
                    _FIRST_MESSAGE,
                    {
                        "b_thread": thread_id,
                        "b_now": now,
                        "b_title": self.codec.encode(title_from(content)),
                    },
                )
            ).scalar_one()
            row, message = stored_message(
                self.codec,
                NewMessage(role="user", content=content),
                thread_id=thread_id,
                seq=seq,
                run_id=run.id,
                now=now,
            )
            await conn.execute(_INSERT_MESSAGES, row)
            await conn.commit()
        history.append(message.openai())
        return Started(run=run, user_message=message, history=history)

    def _openai_messages(
        self, rows: Sequence[Row[str, str | None, str | None, str | None]]
    ) -> list[dict[str, Any]]:
        codec = self.codec
        return [
            openai_message(
                role,
                None if content is None else codec.decode(content),
                None if tool_calls is None else decode_json(codec, tool_calls),
                tool_call_id,
            )
            for role, content, tool_calls, tool_call_id in rows
        ]

    async def append(
        self,
        run: RunState,
        messages: list[NewMessage],
        events: Sequence[Event] = (),
        *,
        first_seq: int,
    ) -> list[MessageOut]:
        """Store completed messages (and the run's events so far) in one transaction.

        `first_seq`: the position of the first; while its run goes on, a thread gets messages
        from that run alone, which numbers them."""
        now = utcnow()
        async with self.database.begin() as conn:
            shown = await self._insert_messages(conn, run, messages, first_seq, now)
            if shown is None:  # deleted while the run went on; nothing left to keep
                return []
            await self._insert_events(conn, run.id, events, now)
        return shown

    async def complete(
        self,
        run: RunState,
        messages: list[NewMessage],
        events: Sequence[Event],
        closing: Callable[[list[MessageOut]], Sequence[Event]],
        *,
        first_seq: int,
    ) -> bool:
        """The end of a run that answered every call: its final messages, its events (those
        given, then those `closing` makes of the stored messages) and its outcome, in one
        transaction. False when the thread was deleted meanwhile."""
        now = utcnow()
        async with self.database.begin() as conn:
            shown = await self._insert_messages(conn, run, messages, first_seq, now)
            if shown is None:
                return False
            await conn.execute(_COMPLETE_RUN, {"b_run": run.id, "b_now": now})
            await self._insert_events(conn, run.id, [*events, *closing(shown)], now)
        run.status, run.finished_at = "completed", now
        return True

    async def _insert_messages(
        self,
        conn: AsyncConnection,
        run: RunState,
        messages: list[NewMessage],
        first_seq: int,
        now: datetime,
    ) -> list[MessageOut] | None:
        if not messages:
            return []
        last = first_seq + len(messages) - 1
        moved = await conn.execute(
            _MOVE_END, {"b_thread": run.thread_id, "b_count": last, "b_now": now}
        )
        if moved.rowcount == 0:
            return None
        rows, shown = [], []
        for offset, message in enumerate(messages):
            row, out = stored_message(
                self.codec,
                message,
                thread_id=run.thread_id,
                seq=first_seq + offset,
                run_id=run.id,
                now=now,
            )
            rows.append(row)
            shown.append(out)
        await conn.execute(_INSERT_MESSAGES, rows)
        return shown

    async def _insert_events(
        self,
        conn: AsyncConnection | AsyncSession,
        run_id: uuid.UUID,
        events: Sequence[Event],
        now: datetime,
    ) -> None:
        if events:
            await conn.execute(
                _INSERT_EVENTS,
                [
                    {
                        "run_id": run_id,
                        "seq": event.id,
                        "type": event.type,
                        "data": encode_json(self.codec, event.data),
                        "created_at": now,
                    }
                    for event in events
                ],
            )

    async def record_events(self, run_id: uuid.UUID, events: Sequence[Event]) -> None:
        if not events:
            return
        async with self.database.begin() as conn:
            await self._insert_events(conn, run_id, events, utcnow())

    async def finish(
        self,
        run_id: uuid.UUID,
        *,
        status: str,
        error_code: str | None = None,
        error: str | None = None,
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
                await self._insert_events(db, run_id, events, utcnow())
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
        return await ThreadService(db, codec=self.codec).append(
            thread,
            [
                NewMessage(
                    role="tool", content=INTERRUPTED_TOOL_RESULT, tool_call_id=call_id, name=name
                )
                for call_id, name in open_calls
            ],
            run_id=run_id,
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
            ids = list((await db.execute(select(Run.id).where(IS_RUNNING))).scalars())
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
