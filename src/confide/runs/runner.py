"""Drives one run: model step, tool calls, model step... storing each message as it completes.

A run is a background task, independent of the request that started it: a client that drops
its connection can resume the events, and only a cancel (or a failure) ends the run early.
Whatever ends it, `RunStore.finish` leaves the thread valid.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from pydantic_ai.exceptions import (
    ModelAPIError,
    ModelConnectionError,
    ModelTimeoutError,
    UnexpectedModelBehavior,
)
from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    PartDeltaEvent,
    PartStartEvent,
    TextPart,
    TextPartDelta,
    ToolCallPart,
    ToolReturnPart,
)
from pydantic_ai.models import Model, ModelRequestParameters
from pydantic_ai.settings import ModelSettings
from pydantic_ai.tools import ToolDefinition

from confide.agents.conversation import to_model_messages
from confide.agents.definitions import AgentDefinition
from confide.agents.tools import ToolCallLog, ToolCallRecord, ToolContext, ToolOutcome, ToolRegistry
from confide.runs.channel import Event, RunChannel
from confide.runs.models import RunState
from confide.runs.store import RunStore
from confide.threads.schemas import MessageOut
from confide.threads.service import NewMessage

log = logging.getLogger("confide.runs")

# How long a finished run's live events (token deltas included) stay in memory for clients
# resuming late, and for how many runs at most; after that a replay comes from the database,
# which has every event but the deltas. Bounded: a busy server would otherwise hold minutes of
# runs, and the garbage collector would walk them all.
CHANNEL_KEEP_SECONDS = 60.0
CHANNEL_KEEP_MAX = 1000
# How much of a model endpoint's error message a failed run repeats.
UPSTREAM_MESSAGE_LENGTH = 200


class RunFailure(Exception):
    """Why a run failed, in words a user can act on."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class RunJob:
    run: RunState
    agent: AgentDefinition
    model: Model
    system_prompt: str
    history: list[dict[str, Any]]
    tools: ToolRegistry
    stream: bool
    channel: RunChannel
    max_steps: int
    model_timeout: float
    tool_timeout: float
    next_seq: int  # the thread's next position: while the run goes on, only it appends
    new_messages: list[MessageOut] = field(default_factory=list)
    unsaved: list[Event] = field(default_factory=list)
    status: str = "running"
    error_code: str | None = None
    error: str | None = None
    final: NewMessage | None = None  # the closing answer, stored with the run's outcome
    writes: asyncio.Lock = field(default_factory=asyncio.Lock)  # positions in commit order

    def emit(self, type_: str, data: dict[str, Any] | None = None) -> Event:
        event = self.channel.publish(type_, data)
        if type_ != "message.delta":  # deltas live in memory; message.completed has the whole
            self.unsaved.append(event)
        return event

    def outcome(self) -> dict[str, Any]:
        """The data of the run's final event."""
        data: dict[str, Any] = {"status": self.status}
        if self.error_code:
            data.update(code=self.error_code, reason=self.error)
        return data

    def take_events(self) -> list[Event]:
        events, self.unsaved = self.unsaved, []
        return events


class RunManager:
    """The runs in progress in this process."""

    def __init__(self, *, store: RunStore, tool_log: ToolCallLog) -> None:
        self.store = store
        self.tool_log = tool_log
        self.channels: dict[uuid.UUID, RunChannel] = {}
        self._finished: deque[tuple[float, uuid.UUID]] = deque()  # (when, run), oldest first
        self.tasks: dict[uuid.UUID, asyncio.Task[None]] = {}

    def launch(self, job: RunJob) -> None:
        run_id = job.run.id
        self.channels[run_id] = job.channel
        job.emit("run.started", {"thread_id": str(job.run.thread_id), "agent_id": job.agent.id})
        task = asyncio.create_task(self._execute(job), name=f"run-{run_id}")
        self.tasks[run_id] = task

        def done(_: asyncio.Task[None]) -> None:
            self.tasks.pop(run_id, None)
            self._finished.append((time.monotonic(), run_id))
            self._forget_old()

        task.add_done_callback(done)

    def _forget_old(self) -> None:
        """Drop the live events of runs finished long enough ago (or beyond the last N)."""
        cutoff = time.monotonic() - CHANNEL_KEEP_SECONDS
        finished = self._finished
        while finished and (finished[0][0] < cutoff or len(finished) > CHANNEL_KEEP_MAX):
            _, old = finished.popleft()
            self.channels.pop(old, None)

    async def cancel(self, run_id: uuid.UUID) -> bool:
        """Cancel a run of this process and wait until its thread is closed."""
        task = self.tasks.get(run_id)
        if task is None:
            return False
        task.cancel()
        await asyncio.wait([task])
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
            job.status = "completed"
        except asyncio.CancelledError:
            job.status, job.error_code, job.error = (
                "cancelled",
                "cancelled",
                "The run was cancelled.",
            )
        except RunFailure as failure:
            job.status, job.error_code, job.error = "failed", failure.code, failure.message
        except Exception:
            log.exception("run failed unexpectedly", extra={"run_id": str(job.run.id)})
            job.status, job.error_code, job.error = (
                "failed",
                "internal_error",
                "Something went wrong on our side.",
            )
        # Shielded: a second cancel (shutdown) must not leave the thread half-closed.
        await asyncio.shield(self._finish(job))

    async def _finish(self, job: RunJob) -> None:
        """Close the thread, record the outcome, and only then announce it: a client that
        hears `run.completed` and sends its next message must not meet a run in progress."""
        try:
            if job.status == "completed":  # every call was answered: one transaction
                try:
                    await self._complete(job)
                    return
                except Exception:  # the answer could not be stored: the run failed
                    log.exception(
                        "could not store a run's answer", extra={"run_id": str(job.run.id)}
                    )
                    job.status, job.error_code, job.error = (
                        "failed",
                        "internal_error",
                        "Something went wrong on our side.",
                    )
            closing = await self.store.finish(
                job.run.id, status=job.status, error_code=job.error_code, error=job.error
            )
            for message in closing:
                job.new_messages.append(message)
                job.emit(
                    "tool.finished",
                    {
                        "tool_call_id": message.tool_call_id,
                        "name": message.name,
                        "status": "cancelled",
                        "result": message.content,
                    },
                )
                job.emit("message.completed", {"message": message.model_dump(mode="json")})
            terminal = job.channel.prepare(f"run.{job.status}", job.outcome())
            await self.store.record_events(job.run.id, [*job.take_events(), terminal])
            job.channel.push(terminal)
        except Exception:
            log.exception("could not record the end of a run", extra={"run_id": str(job.run.id)})
            job.channel.close()

    async def _complete(self, job: RunJob) -> None:
        """Store the final answer, the events and the outcome together, then announce them."""
        shown: list[MessageOut] = []
        announced: list[Event] = []

        def closing(stored: list[MessageOut]) -> list[Event]:
            # Numbered now, heard once stored: no client hears of what might not be kept.
            shown[:] = stored
            announced[:] = job.channel.prepare_many(
                [
                    *(
                        ("message.completed", {"message": m.model_dump(mode="json")})
                        for m in stored
                    ),
                    ("run.completed", job.outcome()),
                ]
            )
            return announced

        async with job.writes:
            final = [job.final] if job.final is not None else []
            events = job.take_events()
            try:
                kept = await self.store.complete(
                    job.run, final, events, closing, first_seq=job.next_seq
                )
            except BaseException:
                job.unsaved[:0] = events  # still to be stored, by whatever ends the run
                raise
        if not kept:  # the thread was deleted meanwhile: only the ending is left to tell
            shown, announced = [], [job.channel.prepare("run.completed", job.outcome())]
        job.new_messages.extend(shown)
        for event in announced:
            job.channel.push(event)

    async def _store(self, job: RunJob, message: NewMessage) -> list[MessageOut]:
        """Store one completed message, with the events so far, at the thread's end."""
        async with job.writes:
            stored = await self.store.append(
                job.run, [message], job.take_events(), first_seq=job.next_seq
            )
            job.next_seq += len(stored)
        return stored

    async def _steps(self, job: RunJob) -> None:
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
        settings = model_settings(job.agent)
        for _ in range(job.max_steps):
            response = await self._model_step(job, messages, parameters, settings)
            messages.append(response)
            text = "".join(p.content for p in response.parts if isinstance(p, TextPart))
            calls = [p for p in response.parts if isinstance(p, ToolCallPart)]
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
            )
            if not calls:  # the final answer: stored with the run's outcome (`_complete`)
                job.final = answer
                return
            self._completed(job, await self._store(job, answer))
            outcomes = await asyncio.gather(*(self._tool_call(job, call) for call in calls))
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

    async def _model_step(
        self,
        job: RunJob,
        messages: list[ModelMessage],
        parameters: ModelRequestParameters,
        settings: ModelSettings,
    ) -> ModelResponse:
        try:
            async with asyncio.timeout(job.model_timeout):
                if not job.stream:
                    return await job.model.request(messages, settings, parameters)
                async with job.model.request_stream(messages, settings, parameters) as stream:
                    async for event in stream:
                        delta = _text_delta(event)
                        if delta:
                            job.emit("message.delta", {"delta": delta})
                    return stream.get()
        except TimeoutError:
            raise RunFailure(
                "model_timeout", f"The model did not answer within {job.model_timeout:g} s."
            ) from None
        except ModelTimeoutError:
            raise RunFailure("model_timeout", "The model endpoint timed out.") from None
        except ModelConnectionError:
            raise RunFailure("model_unreachable", "The model endpoint cannot be reached.") from None
        except ModelAPIError as exc:
            raise RunFailure("model_error", upstream_error(exc)) from None
        except UnexpectedModelBehavior as exc:
            raise RunFailure(
                "model_error", f"The model answered something unusable: {exc}"
            ) from None
        except (ValueError, KeyError, TypeError) as exc:  # malformed data from the endpoint
            raise RunFailure(
                "model_error", f"The model endpoint sent malformed data ({type(exc).__name__})."
            ) from None

    async def _tool_call(self, job: RunJob, call: ToolCallPart) -> ToolOutcome:
        arguments = call.args_as_json_str()
        job.emit(
            "tool.started",
            {"tool_call_id": call.tool_call_id, "name": call.tool_name, "arguments": arguments},
        )
        context = ToolContext(
            run_id=str(job.run.id),
            thread_id=str(job.run.thread_id),
            user_id=str(job.run.user_id),
            agent_id=job.agent.id,
            model=job.run.model,
        )
        outcome = await job.tools.execute(
            call.tool_name, arguments, context=context, timeout_seconds=job.tool_timeout
        )
        self.tool_log.record(ToolCallRecord.from_outcome(call.tool_name, outcome, context=context))
        stored = await self._store(
            job,
            NewMessage(
                role="tool",
                content=outcome.content,
                tool_call_id=call.tool_call_id,
                name=call.tool_name,
            ),
        )
        job.emit(
            "tool.finished",
            {
                "tool_call_id": call.tool_call_id,
                "name": call.tool_name,
                "status": outcome.status,
                "duration_ms": round(outcome.duration_ms, 3),
                "result": outcome.content,
            },
        )
        self._completed(job, stored)
        return outcome

    def _completed(self, job: RunJob, stored: list[MessageOut]) -> None:
        for message in stored:
            job.new_messages.append(message)
            job.emit("message.completed", {"message": message.model_dump(mode="json")})


def _text_delta(event: object) -> str | None:
    if isinstance(event, PartStartEvent) and isinstance(event.part, TextPart):
        return event.part.content or None
    if isinstance(event, PartDeltaEvent) and isinstance(event.delta, TextPartDelta):
        return event.delta.content_delta or None
    return None


def upstream_error(exc: ModelAPIError) -> str:
    """What a model endpoint's error says, for the user: its status and message, not its raw
    body (which may be long, or hold more than a user should read)."""
    status = getattr(exc, "status_code", None)
    said = _error_message(getattr(exc, "body", None))
    text = f"The model endpoint answered with HTTP {status}" if status else "The model failed"
    return f"{text}: {said}" if said else f"{text}."


def _error_message(body: object) -> str | None:
    if isinstance(body, dict):
        error = body.get("error", body)
        body = error.get("message") if isinstance(error, dict) else error
    if not isinstance(body, str):
        return None
    words = " ".join(body.split())
    if len(words) <= UPSTREAM_MESSAGE_LENGTH:
        return words or None
    return words[: UPSTREAM_MESSAGE_LENGTH - 1] + "…"


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
