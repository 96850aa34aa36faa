"""Drives one run: model step, tool calls, model step... storing each message as it completes.

A run is a job (jobs/), independent of the request that started it: a client that drops its
connection can resume the events, and only a cancel (or a failure) ends the run early.
Whatever ends it, `RunStore.finish` leaves the thread valid, and keeps the text the user saw
of an answer cut short. Why Confide drives pydantic-ai's `Model` itself rather than its
`Agent` graph: docs/architecture.md, "The run loop".
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from pydantic_ai.messages import (
    ModelRequest,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
)
from pydantic_ai.models import Model, ModelRequestParameters
from pydantic_ai.settings import ModelSettings
from pydantic_ai.tools import ToolDefinition

from confide.agents.conversation import to_model_messages
from confide.agents.definitions import AgentDefinition
from confide.agents.tools import ToolCallLog, ToolCallRecord, ToolContext, ToolOutcome, ToolRegistry
from confide.approvals.schemas import ApprovalOut
from confide.runs.channel import RunChannel
from confide.runs.events import (
    ApprovalRequested,
    EventBase,
    MessageCompleted,
    MessageDelta,
    RunStarted,
    RunWaiting,
    ToolFinished,
    ToolStarted,
    ending,
)
from confide.runs.model_step import ModelLimits, RunFailure, stream_response
from confide.runs.models import RunState
from confide.runs.store import PendingCall, RunLost, RunStore, closing_events, log_run_end
from confide.threads.schemas import MessageOut, ToolStatus
from confide.threads.schemas import ToolOutcome as CallOutcome  # as stored (agents': as run)
from confide.threads.service import NewMessage
from confide.usage.timing import RequestClock

log = logging.getLogger("confide.runs")

INTERNAL_ERROR = "Something went wrong on our side."
CANCELLED = "The run was cancelled."
DEFAULT_APPROVAL_TIMEOUT = timedelta(hours=48)


@dataclass
class RunJob:
    run: RunState
    agent: AgentDefinition
    model: Model
    system_prompt: str
    history: list[dict[str, Any]]
    tools: ToolRegistry
    channel: RunChannel
    max_steps: int
    limits: ModelLimits
    tool_timeout: float
    settings: ModelSettings
    clock: RequestClock = field(default_factory=RequestClock)  # the model request's timing
    new_messages: list[MessageOut] = field(default_factory=list)
    unsaved: list[EventBase] = field(default_factory=list)
    status: str = "running"
    error_code: str | None = None
    error: str | None = None
    error_detail: str | None = None  # what the upstream said: the log and admins only
    final: NewMessage | None = None  # the closing answer, stored with the run's outcome
    draft: list[str] = field(default_factory=list)  # text streamed in the current step
    started: float = field(default_factory=time.monotonic)
    writes: asyncio.Lock = field(default_factory=asyncio.Lock)  # one write at a time
    # A run resumed after a wait: the calls it paused on, and the user's answers by call id.
    open_calls: list[tuple[str, str | None]] = field(default_factory=list)
    answers: dict[str, ApprovalOut] = field(default_factory=dict)
    approval_timeout: timedelta = DEFAULT_APPROVAL_TIMEOUT

    def emit(self, event: EventBase) -> None:
        self.channel.publish(event)
        if not isinstance(event, MessageDelta):  # deltas live in memory; the message has all
            self.unsaved.append(event)

    def take_events(self) -> list[EventBase]:
        events, self.unsaved = self.unsaved, []
        return events

    def fail(self, code: str, reason: str, detail: str | None = None) -> None:
        self.status, self.error_code, self.error, self.error_detail = (
            "failed",
            code,
            reason,
            detail,
        )


class RunManager:
    """The runs this process executes."""

    def __init__(self, *, store: RunStore, tool_log: ToolCallLog) -> None:
        self.store = store
        self.tool_log = tool_log
        self.tasks: dict[uuid.UUID, asyncio.Task[object]] = {}
        # Told of the approvals a run paused on, once stored (approvals/: the channels).
        self.on_pause: Callable[[list[ApprovalOut]], Awaitable[None]] | None = None

    async def run(self, job: RunJob) -> None:
        """Execute a run in the calling task (a job's), until it has ended and every event
        has reached its followers."""
        run_id = job.run.id
        task = asyncio.current_task()
        assert task is not None
        self.tasks[run_id] = task
        try:
            job.emit(RunStarted(run_id=run_id, thread_id=job.run.thread_id, agent_id=job.agent.id))
            await self._execute(job)
            if task.cancelling():  # the cancel was this run's: it is handled, not the job's
                task.uncancel()
        finally:
            self.tasks.pop(run_id, None)
        await asyncio.shield(job.channel.drain())

    async def cancel(self, run_id: uuid.UUID) -> bool:
        """Cancel a run of this process and wait until its thread is closed."""
        task = self.tasks.get(run_id)
        if task is None:
            return False
        task.cancel()
        await asyncio.wait([task])  # the job's task ends once the run is closed
        return True

    async def shutdown(self) -> None:
        """Stop every run in progress, each closed as cancelled."""
        tasks = list(self.tasks.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)

    async def _execute(self, job: RunJob) -> None:
        try:
            await self._steps(job)
            if job.status != "waiting":
                job.status = "completed"
        except asyncio.CancelledError:
            job.status, job.error_code, job.error = "cancelled", "cancelled", CANCELLED
        except RunLost:  # another process closed it: nothing more is this process's to write
            job.status = "lost"
        except RunFailure as failure:
            job.fail(failure.code, failure.message, failure.detail)
        except Exception:
            log.exception("run failed unexpectedly", extra={"run_id": str(job.run.id)})
            job.fail("internal_error", INTERNAL_ERROR)
        # Shielded: a second cancel (shutdown) must not leave the thread half-closed.
        await asyncio.shield(self._finish(job))

    async def _finish(self, job: RunJob) -> None:
        """Close the thread, record the outcome, and only then announce it: a client that
        hears `run.completed` and sends its next message must not meet a run in progress."""
        try:
            if job.status == "lost":
                job.channel.close()  # its followers read the ending another process stored
                return
            if job.status == "waiting":  # paused: stored and told by `_pause`
                return
            if job.status == "completed":  # every call was answered: one transaction
                try:
                    await self._complete(job)
                    return
                except RunLost:
                    job.channel.close()
                    return
                except Exception:  # the answer could not be stored: the run failed
                    log.exception(
                        "could not store a run's answer", extra={"run_id": str(job.run.id)}
                    )
                    job.fail("internal_error", INTERNAL_ERROR)
            log_run_end(
                job.run.id,
                agent_id=job.agent.id,
                status=job.status,
                code=job.error_code,
                seconds=time.monotonic() - job.started,
                upstream=job.error_detail,
            )
            partial = "".join(job.draft) or (job.final.content if job.final else None)
            # What is known of the cut answer's request: its time so far, or all of it.
            final_usage = job.final.usage if job.final else None
            cut_usage = job.clock.so_far() if job.draft else final_usage
            async with job.writes:
                closed = await self.store.finish(
                    job.run.id,
                    status=job.status,
                    error_code=job.error_code,
                    error=job.error,
                    error_detail=job.error_detail,
                    partial=partial,
                    partial_usage=cut_usage,
                )
            if closed is None:  # another process closed it meanwhile
                job.channel.close()
                return
            closing = closed.messages
            job.new_messages.extend(closing)
            events = closing_events(job.run.id, closing, job.status, job.error_code, job.error)
            *told, terminal = events
            for event in told:
                job.emit(event)
            job.channel.prepare(terminal)
            await self.store.record_events(job.run, [*job.take_events(), terminal])
            job.channel.push(terminal)
        except Exception:
            log.exception("could not record the end of a run", extra={"run_id": str(job.run.id)})
            job.channel.close()

    async def _complete(self, job: RunJob) -> None:
        """Store the final answer, the events and the outcome together, then announce them."""
        shown: list[MessageOut] = []
        announced: list[EventBase] = []
        run_id = job.run.id

        def closing(stored: list[MessageOut]) -> list[EventBase]:
            # Numbered now, heard once stored: no client hears of what might not be kept.
            shown[:] = stored
            announced[:] = job.channel.prepare_many(
                [
                    *(MessageCompleted(run_id=run_id, message=m) for m in stored),
                    ending("completed", None, None, run_id=run_id),
                ]
            )
            return announced

        async with job.writes:
            final = [job.final] if job.final is not None else []
            events = job.take_events()
            try:
                kept = await self.store.complete(job.run, final, events, closing)
            except BaseException:
                job.unsaved[:0] = events  # still to be stored, by whatever ends the run
                raise
        if not kept:  # the thread was deleted meanwhile: only the ending is left to tell
            shown = []
            announced = [job.channel.prepare(ending("completed", None, None, run_id=run_id))]
        job.new_messages.extend(shown)
        for event in announced:
            job.channel.push(event)

    async def _store(self, job: RunJob, message: NewMessage) -> list[MessageOut]:
        """Store one completed message, with the events so far, at the thread's end."""
        async with job.writes:
            return await self.store.append(job.run, [message], job.take_events())

    async def _steps(self, job: RunJob) -> None:
        if job.open_calls:  # resumed after a wait: the calls the user answered, first
            await self._answer_open_calls(job)
        messages = to_model_messages(job.system_prompt, job.history)
        parameters = ModelRequestParameters(
            function_tools=[
                ToolDefinition(
                    name=spec.name,
                    description=spec.description,
                    parameters_json_schema=spec.parameters,
                )
                for spec in job.tools.specs()
            ]
        )
        run_id = job.run.id
        clock = job.clock

        def on_text(text: str) -> None:
            clock.heard()
            job.draft.append(text)
            job.emit(MessageDelta(run_id=run_id, delta=text))

        for _ in range(job.max_steps):
            job.draft = []
            clock.start()
            response = await stream_response(
                job.model, messages, job.settings, parameters, limits=job.limits, on_text=on_text
            )
            usage = clock.usage(response)
            messages.append(response)
            text = "".join(p.content for p in response.parts if isinstance(p, TextPart))
            calls = [p for p in response.parts if isinstance(p, ToolCallPart)]
            if not text.strip() and not calls:
                raise RunFailure(
                    "empty_answer", "The model gave an empty answer (no text and no tool call)."
                )
            answer = NewMessage(
                role="assistant",
                content=text or None,
                tool_calls=[
                    {
                        "id": call.tool_call_id,
                        "type": "function",
                        "function": {"name": call.tool_name, "arguments": call.args_as_json_str()},
                    }
                    for call in calls
                ]
                or None,
                usage=usage,
            )
            if not calls:  # the final answer: stored with the run's outcome (`_complete`)
                job.final, job.draft = answer, []
                return
            stored = await self._store(job, answer)
            job.draft = []
            self._completed(job, stored)
            asking = [call for call in calls if _waits_for_user(job, call)]
            now = [call for call in calls if call not in asking]
            outcomes = await asyncio.gather(*(self._tool_call(job, call) for call in now))
            if asking:  # the rest waits for the user, who may answer any time later
                await self._pause(job, asking)
                return
            messages.append(
                ModelRequest(
                    parts=[
                        ToolReturnPart(
                            call.tool_name, outcome.content, tool_call_id=call.tool_call_id
                        )
                        for call, outcome in zip(calls, outcomes, strict=True)
                    ]
                )
            )
        raise RunFailure(
            "max_steps_exceeded", f"The agent did not finish within {job.max_steps} model steps."
        )

    async def _tool_call(
        self, job: RunJob, call: ToolCallPart, *, edited: bool = False
    ) -> ToolOutcome:
        """Execute one call and store its result. `edited`: the user approved it with other
        arguments than the model's (`call` holds those), which the result tells the model."""
        arguments = call.args_as_json_str()
        run_id = job.run.id
        job.emit(
            ToolStarted(
                run_id=run_id,
                tool_call_id=call.tool_call_id,
                name=call.tool_name,
                arguments=arguments,
            )
        )
        context = ToolContext(
            run_id=str(run_id),
            thread_id=str(job.run.thread_id),
            user_id=str(job.run.user_id),
            agent_id=job.agent.id,
            model=job.run.model,
        )
        outcome = await job.tools.execute(
            call.tool_name, arguments, context=context, timeout_seconds=job.tool_timeout
        )
        spec = job.tools.get(call.tool_name)
        self.tool_log.record(
            ToolCallRecord.from_outcome(
                call.tool_name,
                outcome,
                context=context,
                server_id=spec.server_id if spec is not None else None,
            )
        )
        content = edited_result(arguments, outcome.content) if edited else outcome.content
        stored = await self._store(
            job,
            NewMessage(
                role="tool",
                content=content,
                tool_call_id=call.tool_call_id,
                name=call.tool_name,
                tool=CallOutcome(status=outcome.status, duration_ms=round(outcome.duration_ms, 3)),
            ),
        )
        job.emit(
            ToolFinished(
                run_id=run_id,
                tool_call_id=call.tool_call_id,
                name=call.tool_name,
                status=outcome.status,
                duration_ms=round(outcome.duration_ms, 3),
                result=content,
            )
        )
        self._completed(job, stored)
        return outcome

    async def _pause(self, job: RunJob, calls: list[ToolCallPart]) -> None:
        """Store the approvals these calls wait for and pause the run: no process holds it
        until its user answers (approvals/service.py resumes it)."""
        run_id = job.run.id
        pending = []
        for call in calls:
            spec = job.tools.get(call.tool_name)
            pending.append(
                PendingCall(
                    tool_call_id=call.tool_call_id,
                    tool=call.tool_name,
                    arguments=call.args_as_json_str(),
                    kind="question" if spec is not None and spec.asks_user else "approval",
                    server_id=spec.server_id if spec is not None else None,
                )
            )
        announced: list[EventBase] = []

        def waiting(approvals: list[ApprovalOut]) -> list[EventBase]:
            announced[:] = job.channel.prepare_many(
                [
                    *(
                        ApprovalRequested(
                            run_id=run_id,
                            approval_id=a.id,
                            tool_call_id=a.tool_call_id,
                            name=a.tool,
                            server_id=a.server_id,
                            arguments=a.arguments,
                            kind=a.kind,
                            question=a.question,
                            choices=a.choices,
                            expires_at=a.expires_at,
                        )
                        for a in approvals
                    ),
                    RunWaiting(run_id=run_id),
                ]
            )
            return announced

        async with job.writes:
            events = job.take_events()
            try:
                approvals = await self.store.pause(
                    job.run,
                    pending,
                    events,
                    waiting,
                    wait=job.approval_timeout,
                )
            except BaseException:
                job.unsaved[:0] = events
                raise
        job.status = "waiting"
        for event in announced:
            job.channel.push(event)
        if self.on_pause is not None:
            try:
                await self.on_pause(approvals)
            except Exception:  # the web app shows them all the same
                log.exception("could not tell of a run's approvals", extra={"run_id": str(run_id)})

    async def _answer_open_calls(self, job: RunJob) -> None:
        """Answer the calls a resumed run paused on, as its user decided, in the thread."""
        calls, job.open_calls = job.open_calls, []
        before = len(job.new_messages)
        await asyncio.gather(*(self._answered_call(job, call_id, name) for call_id, name in calls))
        # Taken once all are stored: the calls run at once, and store in any order.
        job.history.extend(message.openai() for message in job.new_messages[before:])

    async def _answered_call(self, job: RunJob, call_id: str, name: str | None) -> None:
        approval = job.answers.get(call_id)
        tool = name or (approval.tool if approval else "")
        if approval is not None and approval.status == "approved":
            arguments = approval.decided_arguments or approval.arguments
            part = ToolCallPart(tool, arguments, tool_call_id=call_id)
            await self._tool_call(job, part, edited=approval.decided_arguments is not None)
            return
        content = answered_content(approval)
        run_id = job.run.id
        job.emit(
            ToolStarted(
                run_id=run_id,
                tool_call_id=call_id,
                name=tool,
                arguments=approval.arguments if approval else "{}",
            )
        )
        answered = approval is not None and approval.status == "answered"
        status: ToolStatus = "ok" if answered else "denied"
        stored = await self._store(
            job,
            NewMessage(
                role="tool",
                content=content,
                tool_call_id=call_id,
                name=tool,
                tool=CallOutcome(status=status),
            ),
        )
        job.emit(
            ToolFinished(
                run_id=run_id,
                tool_call_id=call_id,
                name=tool,
                status=status,
                result=content,
            )
        )
        self._completed(job, stored)

    def _completed(self, job: RunJob, stored: list[MessageOut]) -> None:
        for message in stored:
            job.new_messages.append(message)
            job.emit(MessageCompleted(run_id=job.run.id, message=message))


def _waits_for_user(job: RunJob, call: ToolCallPart) -> bool:
    """A call the user answers first; one bound to fail (its arguments do not fit) fails now."""
    spec = job.tools.get(call.tool_name)
    return (
        spec is not None
        and (spec.requires_approval or spec.asks_user)
        and job.tools.accepts(call.tool_name, call.args_as_json_str())
    )


EDITED_PREFIX = "The user changed the arguments before approving, to: "


def edited_result(arguments: str, content: str) -> str:
    """The result of a call the user approved with other arguments: the model reads which."""
    return f"{EDITED_PREFIX}{arguments}\nResult: {content}"


def answered_content(approval: ApprovalOut | None) -> str:
    """What the model reads of a call the user denied, let expire, or answered (`ask_user`)."""
    if approval is None:
        return "Error: this call was never answered."
    if approval.status == "answered":
        return json.dumps({"answer": approval.answer}, ensure_ascii=False)
    if approval.status == "expired":
        if approval.kind == "question":
            return "The user did not answer in time."
        return "Denied: the user did not approve this call in time, so it was not made."
    if approval.kind == "question":
        said = f" They said: {approval.reason}" if approval.reason else ""
        return f"The user declined to answer.{said}"
    said = f" Reason: {approval.reason}" if approval.reason else ""
    return f"Denied by the user: the call was not made.{said}"


def model_settings(agent: AgentDefinition) -> ModelSettings:
    generation = agent.generation
    settings = ModelSettings()
    if generation.temperature is not None:
        settings["temperature"] = generation.temperature
    if generation.top_p is not None:
        settings["top_p"] = generation.top_p
    if generation.max_tokens is not None:
        settings["max_tokens"] = generation.max_tokens
    if generation.seed is not None:
        settings["seed"] = generation.seed
    return settings
