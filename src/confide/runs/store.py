"""What a run writes, each step in its own short transaction (a run outlives any request).

Messages go through the threads feature's `MessageLog` (the one path into a thread, with its
numbering rule and the codec); this module writes only the runs' own tables, through
`runs.repository`. Every write is `async with database.begin()`: the one way Confide reaches
the database outside a request.

Messages are stored as they complete, so whatever happens next the thread holds everything
that was finished; `finish` keeps what the user saw of an answer cut short (`interrupted`) and
answers any tool call left without a result, so the thread always follows OpenAI's rule: each
assistant `tool_calls` entry is followed by exactly one `tool` message with its id before any
other message.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from confide.approvals import repository as approvals_repository
from confide.approvals.models import PENDING
from confide.approvals.schemas import ApprovalOut, approval_out, seal
from confide.db.base import utcnow
from confide.db.engine import Database
from confide.errors import Conflict
from confide.runs import repository
from confide.runs.events import (
    EVENT_ADAPTER,
    TERMINAL,
    EventBase,
    MessageCompleted,
    ToolFinished,
    ending,
)
from confide.runs.models import RUNNING, WAITING, RunState
from confide.storage.codec import ContentCodec, Vault, decode_json
from confide.threads import paths
from confide.threads.attachments import Attachments
from confide.threads.repository import Executor, owned_head
from confide.threads.schemas import MessageOut, MessageUsage, ToolOutcome
from confide.threads.service import (
    MessageLog,
    MessageNotFound,
    NewMessage,
    ThreadNotFound,
    estimate_tokens,
)

log = logging.getLogger("confide.runs")

INTERRUPTED_TOOL_RESULT = "Cancelled: the run ended before this tool call finished."
# What the model is asked when the path it answers ends at an answer of its own (a continued
# run): not stored, so no path ever shows it.
CONTINUE_PROMPT = (
    "Continue your previous answer exactly where it stopped, without repeating any of it."
)


class RunInProgress(Conflict):
    code = "run_in_progress"
    title = "A run is already in progress on this thread"


class NotAUserMessage(Conflict):
    code = "not_a_user_message"
    title = "Only a user message can be edited"


class RunLost(Exception):
    """This process no longer holds the run: another one closed it (a cancel from another
    process, or a sweep that took this process for dead). Nothing more may be written."""


@dataclass(frozen=True, slots=True)
class Closed:
    """What `finish` stored: the messages that close the thread, and (when it announced the
    end itself) the events, numbered, that tell it."""

    messages: list[MessageOut]
    events: list[EventBase] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Claim:
    """A queued run taken by this process (`run`), or, when it could not be taken, the run's
    row as it is (None: the run is gone).

    A run resumed after a wait has events already (`after`: the last one's id), and calls of
    its last turn still to answer (`open_calls`: id and tool name) with their `approvals`."""

    run: RunState | None
    row: Any = None
    history: list[dict[str, Any]] = field(default_factory=list)
    after: int = 0
    open_calls: list[tuple[str, str | None]] = field(default_factory=list)
    approvals: dict[str, ApprovalOut] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PendingCall:
    """A tool call a run pauses on until its user answers."""

    tool_call_id: str
    tool: str
    arguments: str  # JSON text
    kind: str  # approval | question
    server_id: str | None = None


@dataclass(frozen=True, slots=True)
class Turn:
    """Where a run starts in its thread's tree, and with what.

    - a message (`content`) at the end of the active path, or after `parent_id` (a branch);
    - a new version of the user message `edit_of` (`content`), beside it;
    - no message (`after`): another answer after a user message (regenerate), or more of an
      answer (continue)."""

    content: str | None = None
    parent_id: uuid.UUID | None = None
    edit_of: uuid.UUID | None = None
    after: uuid.UUID | None = None
    file_ids: tuple[uuid.UUID, ...] = ()


@dataclass(frozen=True, slots=True)
class Started:
    """A run just created: its state, the user's stored message (None: a run that answers
    after an existing message), the conversation so far."""

    run: RunState
    user_message: MessageOut | None
    history: list[dict[str, Any]]  # OpenAI's format, the user's message last


@dataclass(frozen=True, slots=True)
class Choice:
    """What answers a thread: the agent and model, and how many tokens of history to send."""

    agent_id: str
    model: str
    history_budget: int
    vision: bool = False  # the model takes images


class RunStore:
    def __init__(
        self,
        database: Database,
        vault: Vault,
        *,
        lease_seconds: float = 30.0,
        attachments: Attachments | None = None,
    ) -> None:
        self.database = database
        self.vault = vault
        self.messages = MessageLog(vault, attachments)
        self.lease = timedelta(seconds=lease_seconds)

    @property
    def attachments(self) -> Attachments:
        return self.messages.attachments

    @attachments.setter
    def attachments(self, attachments: Attachments) -> None:
        self.messages.attachments = attachments

    async def start(
        self,
        *,
        owner_id: uuid.UUID,
        thread_id: uuid.UUID,
        turn: Turn,
        choose: Callable[[str], Choice],
        worker_id: str | None = None,
    ) -> Started:
        """Create the run and store the user's message (if the turn has one), before the model
        is ever called.

        One transaction: the owner's thread (someone else's is a missing one), where in its
        tree the run starts (`turn`), the newest history of that path that fits the agent's
        budget, the run row, the user's message and its files. `choose(thread's agent id)`
        names the agent and model that will answer.

        `worker_id`: this process will execute the run itself, so it holds it from the start
        (and reads the history now). None: the run's job is queued, and whichever process takes
        it claims it and reads the history then (`claim`, `history`)."""
        now = utcnow()
        async with self.database.begin() as conn:
            head = await owned_head(conn, owner_id=owner_id, thread_id=thread_id)
            if head is None:
                raise ThreadNotFound
            agent_id, active_leaf = head
            choice = choose(agent_id)
            parent, activate, branching = await self._place(
                conn, owner_id, thread_id, turn, active_leaf
            )
            user = None if turn.content is None else NewMessage(role="user", content=turn.content)
            history = (
                await self.messages.recent(
                    conn,
                    owner_id=owner_id,
                    thread_id=thread_id,
                    budget_tokens=choice.history_budget - (_estimate(user) if user else 0),
                    leaf_id=parent,
                    vision=choice.vision,
                )
                if worker_id is not None
                else []
            )
            user_id = uuid.uuid4() if user is not None else None
            run = RunState(
                id=uuid.uuid4(),
                thread_id=thread_id,
                user_id=owner_id,
                agent_id=choice.agent_id,
                model=choice.model,
                created_at=now,
                worker_id=worker_id,
                tail_id=user_id or parent,
                branching=user is None,
                parent_id=user_id or parent,
            )
            try:
                await repository.insert_run(
                    conn,
                    {
                        "id": run.id,
                        "thread_id": thread_id,
                        "user_id": owner_id,
                        "agent_id": run.agent_id,
                        "model": run.model,
                        "status": RUNNING,
                        "created_at": now,
                        "worker_id": worker_id,
                        "lease_until": now + self.lease if worker_id is not None else None,
                        "parent_id": run.tail_id,
                    },
                )
            except repository.ThreadBusy:
                raise RunInProgress from None
            message = None
            if user is not None:
                stored = await self.messages.append(
                    conn,
                    owner_id=owner_id,
                    thread_id=thread_id,
                    messages=[user],
                    run_id=run.id,
                    now=now,
                    parent_id=parent,
                    activate=activate,
                    branching=branching,
                    message_ids=[run.tail_id] if run.tail_id else None,
                )
                if not stored:
                    raise ThreadNotFound
                (message,) = stored
                if worker_id is not None:
                    history.append(message.openai())
                if turn.file_ids:
                    message.files = await self.attachments.attach(
                        conn,
                        owner_id=owner_id,
                        thread_id=thread_id,
                        message_id=message.id,
                        file_ids=turn.file_ids,
                        vision=choice.vision,
                    )
                    if worker_id is not None:  # what the model gets of them, as history has it
                        parts = await self.attachments.model_parts(
                            conn, owner_id=owner_id, message_ids=[message.id], vision=choice.vision
                        )
                        if message.id in parts:
                            text = {"type": "text", "text": message.content or ""}
                            history[-1]["content"] = [text, *parts[message.id]]
        return Started(run=run, user_message=message, history=asked_to_continue(history))

    async def _place(
        self,
        conn: Executor,
        owner_id: uuid.UUID,
        thread_id: uuid.UUID,
        turn: Turn,
        active_leaf: uuid.UUID | None,
    ) -> tuple[uuid.UUID | None, bool, bool]:
        """Where a turn's first message goes: (its parent, whether the thread's active path
        moves there whatever it was, whether the parent may have other replies)."""
        if turn.edit_of is not None:
            row = await paths.message_row(conn, thread_id=thread_id, message_id=turn.edit_of)
            if row is None:
                raise MessageNotFound
            if row.role != "user":
                raise NotAUserMessage
            return row.parent_id, True, True
        if turn.after is not None:
            if await paths.message_row(conn, thread_id=thread_id, message_id=turn.after) is None:
                raise MessageNotFound
            return turn.after, True, True
        if turn.parent_id is not None and turn.parent_id != active_leaf:
            await self.messages.check_parent(
                conn, owner_id=owner_id, thread_id=thread_id, parent_id=turn.parent_id
            )
            return turn.parent_id, True, True
        return active_leaf, False, False

    async def claim(
        self,
        run_id: uuid.UUID,
        worker_id: str,
        budget: Callable[[RunState, str | None], tuple[int, bool] | None],
    ) -> Claim:
        """Take a queued run for this process, which then holds it under a lease, and read
        what its turn needs, in one transaction: the user's display name, then the newest
        history of the path it writes that fits `budget(run, display name)`, which says how
        many tokens and whether the model takes images (None: nothing to read, the run cannot
        go on). Cancelled midway, the claim is rolled back with the rest."""
        now = utcnow()
        async with self.database.begin() as conn:
            row = await repository.claim(
                conn, run_id, worker_id=worker_id, lease_until=now + self.lease
            )
            if row is None:
                return Claim(run=None, row=await repository.get_run(conn, run_id, user_id=None))
            run = RunState(
                id=row.id,
                thread_id=row.thread_id,
                user_id=row.user_id,
                agent_id=row.agent_id,
                model=row.model,
                created_at=row.created_at,
                worker_id=worker_id,
                parent_id=row.parent_id,
            )
            stored = await paths.run_tail(conn, thread_id=run.thread_id, run_id=run.id)
            run.tail_id, run.branching = stored or row.parent_id, stored is None
            wanted = budget(run, await repository.display_name(conn, run.user_id))
            history = (
                []
                if wanted is None
                else asked_to_continue(
                    await self.messages.recent(
                        conn,
                        owner_id=run.user_id,
                        thread_id=run.thread_id,
                        budget_tokens=wanted[0],
                        leaf_id=run.tail_id,
                        vision=wanted[1],
                    )
                )
            )
            after = await repository.last_event_seq(conn, run_id)
            if not after:
                return Claim(run=run, history=history)
            # Resumed after a wait: the calls it paused on, and what the user answered.
            open_calls = await self.messages.unanswered_calls(
                conn, owner_id=run.user_id, thread_id=run.thread_id
            )
            codec = await self.vault.codec(conn, run.user_id)
            answers = {
                row.tool_call_id: approval_out(codec, row)
                for row in await approvals_repository.of_run(conn, run_id)
            }
        return Claim(
            run=run, history=history, after=after, open_calls=open_calls, approvals=answers
        )

    async def pause(
        self,
        run: RunState,
        approvals: list[PendingCall],
        events: Sequence[EventBase],
        waiting: Callable[[list[ApprovalOut]], Sequence[EventBase]],
        *,
        wait: timedelta,
    ) -> list[ApprovalOut]:
        """Pause a run before calls its user must answer: the approvals, the run's events
        (those given, then those `waiting` makes of the approvals) and its `waiting` status,
        in one transaction. From then on no process holds it."""
        now = utcnow()
        async with self.database.begin() as conn:
            await self._hold(conn, run, now)
            codec = await self.vault.codec(conn, run.user_id)
            rows = []
            for call in approvals:
                approval_id = uuid.uuid4()
                rows.append(
                    {
                        "id": approval_id,
                        "run_id": run.id,
                        "thread_id": run.thread_id,
                        "user_id": run.user_id,
                        "tool_call_id": call.tool_call_id,
                        "tool": call.tool,
                        "server_id": call.server_id,
                        "kind": call.kind,
                        "arguments": seal(codec, approval_id, "arguments", call.arguments),
                        "status": PENDING,
                        "created_at": now,
                        "expires_at": now + wait,
                    }
                )
            await approvals_repository.insert_approvals(conn, rows)
            if not await repository.pause(conn, run.id, worker_id=run.worker_id or ""):
                raise RunLost
            stored = [
                approval_out(codec, row) for row in await approvals_repository.of_run(conn, run.id)
            ]
            shown = [a for a in stored if a.status == PENDING]
            await self._insert_events(conn, run.id, run.user_id, [*events, *waiting(shown)])
        run.status, run.worker_id = WAITING, None
        return shown

    async def row(self, run_id: uuid.UUID) -> Any:
        """The run's row (any owner), or None."""
        async with self.database.connect() as conn:
            return await repository.get_run(conn, run_id, user_id=None)

    async def status(self, run_id: uuid.UUID) -> str | None:
        async with self.database.connect() as conn:
            row = await repository.get_run(conn, run_id, user_id=None)
        return None if row is None else str(row.status)

    async def running(self) -> Sequence[Any]:
        """Every run in progress: (id, worker_id, lease_until, created_at)."""
        async with self.database.connect() as conn:
            return await repository.running_runs(conn)

    async def renew(self, worker_id: str) -> int:
        """Renew the lease of every run this process executes."""
        async with self.database.begin() as conn:
            return await repository.renew(
                conn, worker_id=worker_id, lease_until=utcnow() + self.lease
            )

    async def _hold(self, conn: Executor, run: RunState, now: datetime) -> None:
        """The fence of a write: raises RunLost unless this process still holds the run."""
        if run.worker_id is not None and not await repository.hold(
            conn, run.id, worker_id=run.worker_id, lease_until=now + self.lease
        ):
            raise RunLost

    async def append(
        self, run: RunState, messages: list[NewMessage], events: Sequence[EventBase] = ()
    ) -> list[MessageOut]:
        """Store completed messages (and the run's events so far) in one transaction."""
        now = utcnow()
        async with self.database.begin() as conn:
            await self._hold(conn, run, now)
            shown = await self._extend(conn, run, messages, now)
            if shown is None:  # deleted while the run went on; nothing left to keep
                return []
            await self._insert_events(conn, run.id, run.user_id, events)
        self._moved_on(run, shown)
        return shown

    async def _extend(
        self, conn: Executor, run: RunState, messages: list[NewMessage], now: datetime
    ) -> list[MessageOut] | None:
        """Store a run's messages on the path it writes, after its last."""
        return await self.messages.append(
            conn,
            owner_id=run.user_id,
            thread_id=run.thread_id,
            messages=messages,
            run_id=run.id,
            now=now,
            parent_id=run.tail_id,
            # A regenerated or continued run's first answer: the thread shows its branch now
            # (not before: a run that stores nothing leaves the thread as it was).
            activate=run.branching,
            branching=run.branching,
        )

    @staticmethod
    def _moved_on(run: RunState, shown: list[MessageOut]) -> None:
        """Once stored (committed), a run's messages are where its path goes on from."""
        if shown:
            run.tail_id, run.branching = shown[-1].id, False

    async def complete(
        self,
        run: RunState,
        messages: list[NewMessage],
        events: Sequence[EventBase],
        closing: Callable[[list[MessageOut]], Sequence[EventBase]],
    ) -> bool:
        """The end of a run that answered every call: its final messages, its events (those
        given, then those `closing` makes of the stored messages) and its outcome, in one
        transaction. False when the thread was deleted meanwhile."""
        now = utcnow()
        async with self.database.begin() as conn:
            await self._hold(conn, run, now)
            shown = await self._extend(conn, run, messages, now)
            if shown is None:
                return False
            await repository.end_run(
                conn, run_id=run.id, status="completed", code=None, error=None, detail=None, now=now
            )
            await self._insert_events(conn, run.id, run.user_id, [*events, *closing(shown)])
        self._moved_on(run, shown)
        run.status, run.finished_at = "completed", now
        return True

    async def record_events_in(
        self, conn: Executor, run_id: uuid.UUID, user_id: uuid.UUID, events: Sequence[EventBase]
    ) -> None:
        """Store numbered events of a run in the caller's transaction."""
        await self._insert_events(conn, run_id, user_id, events)

    async def record_events(self, run: RunState, events: Sequence[EventBase]) -> None:
        if events:
            async with self.database.begin() as conn:
                await self._insert_events(conn, run.id, run.user_id, events)

    async def finish(
        self,
        run_id: uuid.UUID,
        *,
        status: str,
        error_code: str | None = None,
        error: str | None = None,
        error_detail: str | None = None,
        partial: str | None = None,
        partial_usage: MessageUsage | None = None,
        announce: bool = False,
        after: int = 0,
    ) -> Closed | None:
        """End a run that did not complete: answer any tool call left open, keep `partial`
        (the text the user saw of an answer cut short) as an interrupted assistant message,
        record the outcome. Idempotent: None when the run had already ended.

        `announce`: no task of this process ran it (its process died, or a cancel came to
        another process), so the events a client would have heard are written here,
        numbered after the run's stored ones and after `after` (what its live stream had)."""
        now = utcnow()
        async with self.database.begin() as conn:
            # Taken first: of two processes closing one run, the second sees it ended.
            if not await repository.lock_running(conn, run_id):
                return None
            run = await repository.get_run(conn, run_id, user_id=None)
            await approvals_repository.cancel_pending(conn, run_id, now=now)
            open_calls = await self.messages.unanswered_calls(
                conn, owner_id=run.user_id, thread_id=run.thread_id
            )
            new = [
                NewMessage(
                    role="tool",
                    content=INTERRUPTED_TOOL_RESULT,
                    tool_call_id=call_id,
                    name=name,
                    tool=ToolOutcome(status="cancelled"),
                )
                for call_id, name in open_calls
            ]
            if partial:
                new.append(
                    NewMessage(
                        role="assistant", content=partial, interrupted=True, usage=partial_usage
                    )
                )
            stored = await paths.run_tail(conn, thread_id=run.thread_id, run_id=run_id)
            closing = (
                await self.messages.append(
                    conn,
                    owner_id=run.user_id,
                    thread_id=run.thread_id,
                    messages=new,
                    run_id=run_id,
                    now=now,
                    parent_id=stored or run.parent_id,
                    activate=stored is None,
                    branching=stored is None,
                )
                or []
            )
            await repository.end_run(
                conn,
                run_id=run_id,
                status=status,
                code=error_code,
                error=error,
                detail=error_detail,
                now=now,
            )
            events: list[EventBase] = []
            if announce:  # no task of this process ran it: the line it would have left
                log_run_end(
                    run_id,
                    agent_id=run.agent_id,
                    status=status,
                    code=error_code,
                    seconds=(now - run.created_at).total_seconds(),
                )
                first = max(await repository.last_event_seq(conn, run_id), after) + 1
                events = closing_events(run_id, closing, status, error_code, error)
                for offset, event in enumerate(events):
                    event.id = first + offset
                await self._insert_events(conn, run_id, run.user_id, events)
        return Closed(messages=closing, events=events)

    async def events_after(self, run_id: uuid.UUID, after: int) -> list[EventBase]:
        """Stored events after an id. The final event always comes last, even when its id is
        not above `after` (ids a client heard as in-memory deltas may have been reused by a
        restarted server): a replay always tells how the run ended."""
        async with self.database.connect() as conn:
            run = await repository.get_run(conn, run_id, user_id=None)
            if run is None:
                return []
            codec = await self.vault.codec(conn, run.user_id)
            events = [
                _event(codec, run_id, row)
                for row in await repository.events_after(conn, run_id, after)
            ]
            if not any(event.type in TERMINAL for event in events):
                final = await repository.final_event(conn, run_id)
                if final is not None:
                    events.append(_event(codec, run_id, final))
        return past_waits_dropped(events)

    async def _insert_events(
        self, conn: Executor, run_id: uuid.UUID, user_id: uuid.UUID, events: Sequence[EventBase]
    ) -> None:
        if not events:
            return
        now = utcnow()
        codec = await self.vault.codec(conn, user_id)
        await repository.insert_events(
            conn,
            [
                {
                    "run_id": run_id,
                    "seq": event.id,
                    "type": event.type,
                    # Stored without what the row has in columns (id, type): the same JSON
                    # rows written before events were typed.
                    "data": codec.encode(
                        event.model_dump_json(exclude=_STORED_ELSEWHERE),
                        table="run_events",
                        column="data",
                        row_id=f"{run_id}:{event.id}",
                    ),
                    "created_at": now,
                }
                for event in events
            ],
        )


_STORED_ELSEWHERE = {"id", "type"}


def _event(codec: ContentCodec, run_id: uuid.UUID, row: Any) -> EventBase:
    seq, type_, data = row
    stored = decode_json(codec, data, table="run_events", column="data", row_id=f"{run_id}:{seq}")
    return EVENT_ADAPTER.validate_python({**stored, "id": seq, "type": type_})


def past_waits_dropped(events: list[EventBase]) -> list[EventBase]:
    """A replay without the waits a run has since gone on from: `run.waiting` ends a
    follower's stream, so only the last event may be one."""
    return [
        event
        for position, event in enumerate(events)
        if event.type != "run.waiting" or position == len(events) - 1
    ]


def log_run_end(
    run_id: uuid.UUID,
    *,
    agent_id: str,
    status: str,
    code: str | None,
    seconds: float,
    upstream: str | None = None,
) -> None:
    """The one server log line of a run that ended other than completed."""
    log.warning(
        f"run {status}: {code}",
        extra={
            "run_id": str(run_id),
            "agent_id": agent_id,
            "status": status,
            "error": code,
            "duration_ms": round(seconds * 1000, 1),
            "upstream": upstream,
        },
    )


def closing_events(
    run_id: uuid.UUID,
    closing: list[MessageOut],
    status: str,
    code: str | None,
    reason: str | None,
) -> list[EventBase]:
    """What a client hears of a run's end: the messages `finish` stored, then the outcome
    (not yet numbered)."""
    events: list[EventBase] = []
    for message in closing:
        if message.role == "tool":
            events.append(
                ToolFinished(
                    run_id=run_id,
                    tool_call_id=message.tool_call_id or "",
                    name=message.name,
                    status="cancelled",
                    result=message.content,
                )
            )
        events.append(MessageCompleted(run_id=run_id, message=message))
    events.append(ending(status, code, reason, run_id=run_id))
    return events


def asked_to_continue(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The history as the model gets it: a path that ends at an answer of the model's own (a
    continued run) ends with a request to go on from it, which no path stores."""
    if history and history[-1]["role"] == "assistant" and not history[-1].get("tool_calls"):
        return [*history, {"role": "user", "content": CONTINUE_PROMPT}]
    return history


def _estimate(message: NewMessage) -> int:
    return estimate_tokens({"content": message.content})
