"""`confide mock-llm`: the scripted model behind an OpenAI-compatible HTTP API.

Endpoints: `GET /v1/models`, `GET /v1/models/{id}` and `POST /v1/chat/completions` (with `tools`,
`tool_choice`, `stream` and `stream_options.include_usage`). Any API key is accepted. Unknown
request fields are ignored; `tool_choice` "none" hides the tools and a named function limits them
to that one; `temperature`, `max_tokens` and the like change nothing, as the model is
deterministic. Streams send the role, then one chunk per word, then each tool call as a chunk
with its id and name followed by its arguments in two pieces, then the finish reason.

Fault markers, honoured only when the app is built with `allow_faults=True` (`--faults`), let
tests drive a real client down its failure paths. Put one in the last user message:

  [[mock:error500]]     HTTP 500 with an OpenAI-style error body
  [[mock:error400]]     HTTP 400 with an OpenAI-style error body
  [[mock:slow=N]]       wait N seconds (at most 30, fractions allowed) before answering
  [[mock:malformed]]    streamed: a chunk that is not JSON after a few good ones;
                        otherwise: a 200 response whose body is not JSON
  [[mock:hang-stream]]  streamed: a few chunks, then 30 seconds of silence before the rest
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

import typer
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from confide.agents.models.scripted import (
    ScriptedReply,
    message_text,
    scripted_reply,
    stream_chunks,
)

DEFAULT_MODEL = "confide-scripted"
MAX_DELAY_SECONDS = 30.0
HANG_SECONDS = 30.0
_FAULT = re.compile(r"\[\[mock:(error500|error400|malformed|hang-stream|slow=(\d+(?:\.\d+)?))\]\]")


class _Message(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]


class _Function(BaseModel):
    name: str = Field(min_length=1)


class _Tool(BaseModel):
    type: str = "function"
    function: _Function | None = None


class _StreamOptions(BaseModel):
    include_usage: bool = False


class _ChatRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str
    messages: list[_Message] = Field(min_length=1)
    tools: list[_Tool] | None = None
    tool_choice: str | dict[str, Any] | None = None
    stream: bool | None = False
    stream_options: _StreamOptions | None = None


def create_mock_llm_app(
    *, model_name: str = DEFAULT_MODEL, allow_faults: bool = False
) -> Starlette:
    """An ASGI app serving the scripted model as `model_name`."""
    created = int(time.time())
    model_card = {"id": model_name, "object": "model", "created": created, "owned_by": "confide"}

    async def list_models(request: Request) -> Response:
        return JSONResponse({"object": "list", "data": [model_card]})

    async def get_model(request: Request) -> Response:
        if request.path_params["model"] != model_name:
            return _model_not_found(request.path_params["model"])
        return JSONResponse(model_card)

    async def chat_completions(request: Request) -> Response:
        try:
            body = _ChatRequest.model_validate_json(await request.body())
        except ValidationError as exc:
            return _error(400, _validation_message(exc), "invalid_request_error")
        if body.model != model_name:
            return _model_not_found(body.model)
        messages = [message.model_dump() for message in body.messages]
        fault = _take_fault(messages) if allow_faults else None
        if fault == "error500":
            return _error(500, "The mock model failed on purpose.", "server_error", "mock_fault")
        if fault == "error400":
            return _error(400, "The mock model refused on purpose.", "invalid_request_error")
        if fault and fault.startswith("slow="):
            await asyncio.sleep(min(float(fault.removeprefix("slow=")), MAX_DELAY_SECONDS))
        reply = scripted_reply(messages, _tool_names(body))
        completion = _Completion(model=model_name, reply=reply, prompt_tokens=_words(messages))
        if body.stream:
            include_usage = body.stream_options is not None and body.stream_options.include_usage
            return StreamingResponse(
                _sse(completion.chunks(include_usage=include_usage), fault=fault),
                media_type="text/event-stream",
                headers={"cache-control": "no-cache"},
            )
        if fault == "malformed":
            return Response('{"id": "chatcmpl-broken", "choices": [', media_type="application/json")
        return JSONResponse(completion.body())

    return Starlette(
        routes=[
            Route("/v1/models", list_models, methods=["GET"]),
            Route("/v1/models/{model:path}", get_model, methods=["GET"]),
            Route("/v1/chat/completions", chat_completions, methods=["POST"]),
        ]
    )


class _Completion:
    """One scripted reply rendered as a chat.completion or as chat.completion.chunk objects."""

    def __init__(self, *, model: str, reply: ScriptedReply, prompt_tokens: int) -> None:
        self.id = f"chatcmpl-{secrets.token_hex(12)}"
        self.created = int(time.time())
        self.model = model
        self.reply = reply
        self.finish_reason = "tool_calls" if reply.tool_calls else "stop"
        self.calls: list[dict[str, Any]] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
            }
            for call in reply.tool_calls
        ]
        completion_tokens = len((reply.text or "").split()) + sum(
            1 + len(call["function"]["arguments"].split()) for call in self.calls
        )
        self.usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }

    def body(self) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": self.reply.text}
        if self.calls:
            message["tool_calls"] = self.calls
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": self.finish_reason,
                }
            ],
            "usage": self.usage,
        }

    def chunks(self, *, include_usage: bool) -> list[dict[str, Any]]:
        deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
        deltas.extend({"content": piece} for piece in stream_chunks(self.reply.text or ""))
        for index, call in enumerate(self.calls):
            name, arguments = call["function"]["name"], call["function"]["arguments"]
            head = {"index": index, "id": call["id"], "type": "function"}
            deltas.append({"tool_calls": [{**head, "function": {"name": name, "arguments": ""}}]})
            # Two pieces, so a client has to assemble the arguments as it would from a real API.
            middle = len(arguments) // 2
            for piece in (arguments[:middle], arguments[middle:]):
                deltas.append({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
        chunks = [self._chunk(delta, None, include_usage) for delta in deltas]
        chunks.append(self._chunk({}, self.finish_reason, include_usage))
        if include_usage:
            chunks.append(
                {**self._chunk({}, None, include_usage), "choices": [], "usage": self.usage}
            )
        return chunks

    def _chunk(
        self, delta: dict[str, Any], finish_reason: str | None, include_usage: bool
    ) -> dict[str, Any]:
        chunk: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [
                {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
            ],
        }
        if include_usage:
            chunk["usage"] = None
        return chunk


async def _sse(chunks: list[dict[str, Any]], *, fault: str | None) -> AsyncIterator[str]:
    misbehave_at = min(3, len(chunks) - 1)  # after the role chunk and a couple more
    for number, chunk in enumerate(chunks):
        if number == misbehave_at and fault == "malformed":
            yield 'data: {"id": "chatcmpl-broken", "choices": [\n\n'
        if number == misbehave_at and fault == "hang-stream":
            await asyncio.sleep(HANG_SECONDS)
        yield f"data: {json.dumps(chunk)}\n\n"
    yield "data: [DONE]\n\n"


def _tool_names(body: _ChatRequest) -> set[str]:
    names = {tool.function.name for tool in body.tools or () if tool.function is not None}
    choice = body.tool_choice
    if choice == "none":
        return set()
    if isinstance(choice, dict):
        chosen = (choice.get("function") or {}).get("name")
        return names & {chosen} if isinstance(chosen, str) else names
    return names


def _take_fault(messages: list[dict[str, Any]]) -> str | None:
    """The fault asked for in the last user message, with every marker removed from the thread."""
    last_user = next((m for m in reversed(messages) if m["role"] == "user"), None)
    match = _FAULT.search(message_text(last_user)) if last_user else None
    for message in messages:
        content = message.get("content")
        if isinstance(content, str):
            message["content"] = _FAULT.sub("", content).strip()
        elif isinstance(content, list):
            for part in content:
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    part["text"] = _FAULT.sub("", part["text"]).strip()
    return match.group(1) if match else None


def _words(messages: list[dict[str, Any]]) -> int:
    return sum(1 + len(message_text(message).split()) for message in messages)


def _error(status: int, message: str, kind: str, code: str | None = None) -> Response:
    return JSONResponse(
        {"error": {"message": message, "type": kind, "param": None, "code": code}},
        status_code=status,
    )


def _model_not_found(model: str) -> Response:
    return _error(
        404,
        f"The model `{model}` does not exist or you do not have access to it.",
        "invalid_request_error",
        "model_not_found",
    )


def _validation_message(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors(include_url=False)[:5]:
        where = ".".join(str(part) for part in error["loc"]) or "body"
        problems.append(f"{where}: {error['msg']}")
    return "Invalid request: " + "; ".join(problems)


def register_cli(app: typer.Typer) -> None:
    """Add the `mock-llm` command to the `confide` command line."""
    app.command("mock-llm")(mock_llm)


def mock_llm(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8001,
    model: Annotated[str, typer.Option(help="Model name to serve.")] = DEFAULT_MODEL,
    faults: Annotated[
        bool, typer.Option("--faults", help="Honour [[mock:...]] fault markers (for tests).")
    ] = False,
) -> None:
    """Serve the scripted model as an OpenAI-compatible API at http://HOST:PORT/v1."""
    import uvicorn

    typer.echo(f"Mock LLM serving {model!r} on http://{host}:{port}/v1")
    uvicorn.run(
        create_mock_llm_app(model_name=model, allow_faults=faults),
        host=host,
        port=port,
        log_level="warning",
        server_header=False,
    )


if __name__ == "__main__":
    cli = typer.Typer(add_completion=False)
    register_cli(cli)
    cli()
