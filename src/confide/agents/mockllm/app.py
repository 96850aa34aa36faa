"""The mock LLM's Starlette app: routes, request parsing and OpenAI-style errors."""

from __future__ import annotations

import json
import time
from typing import Any

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from confide.agents.mockllm.choice import model_reply
from confide.agents.mockllm.completion import (
    Completion,
    RecordedStream,
    client_left_during,
    sse_events,
)
from confide.agents.mockllm.faults import FAULT_ERRORS, answer_delay, take_fault
from confide.agents.mockllm.received import Outcome, ReceivedRequest, RequestLog
from confide.agents.mockllm.request import ChatRequest, Refusal
from confide.agents.models.scripted import message_text

DEFAULT_MODEL = "confide-scripted"


def create_mock_llm_app(
    *, model_name: str = DEFAULT_MODEL, allow_faults: bool = False
) -> Starlette:
    """An ASGI app serving the scripted model as `model_name`."""
    created = int(time.time())
    model_card = {"id": model_name, "object": "model", "created": created, "owned_by": "confide"}
    log = RequestLog()

    async def list_models(request: Request) -> Response:
        return JSONResponse({"object": "list", "data": [model_card]})

    async def get_model(request: Request) -> Response:
        if request.path_params["model"] != model_name:
            return _model_not_found(request.path_params["model"])
        return JSONResponse(model_card)

    async def chat_completions(request: Request) -> Response:
        raw = await request.body()
        body = _json_object(raw)
        record = log.add(body, stream=bool(body and body.get("stream") is True))
        outcome: Outcome = "error"
        status = 500
        try:
            response, outcome = await answer(request, raw, record)
            status = response.status_code
            return response
        finally:
            log.update(record, outcome, status=status)

    async def answer(
        request: Request, raw: bytes, record: ReceivedRequest
    ) -> tuple[Response, Outcome]:
        try:
            body = ChatRequest.model_validate_json(raw)
        except ValidationError as exc:
            return _error(400, _validation_message(exc), "invalid_request_error"), "error"
        if body.model != model_name:
            return _model_not_found(body.model), "error"
        messages = [message.model_dump() for message in body.messages]
        fault = take_fault(messages) if allow_faults else None
        try:
            reply = model_reply(messages, body, fault)
        except Refusal as exc:
            return _error(400, str(exc), "invalid_request_error", param=exc.param), "error"
        if fault and fault.kind in FAULT_ERRORS:
            return _error(*FAULT_ERRORS[fault.kind]), "error"
        wait = answer_delay(fault, stream=bool(body.stream))
        if wait and await client_left_during(request, wait):
            return Response(status_code=499), "disconnected"  # nobody is left to read it
        completion = Completion(model=model_name, reply=reply, prompt_tokens=_words(messages))
        record.usage = completion.usage  # set before a byte of the answer is sent
        if body.stream:
            include_usage = body.stream_options is not None and body.stream_options.include_usage
            events = sse_events(completion.chunks(include_usage=include_usage), fault=fault)
            broken = fault is not None and fault.kind == "malformed"
            stream = RecordedStream(events, request=request, log=log, record=record, ok=not broken)
            return stream, "streaming"
        if fault and fault.kind == "malformed":
            broken_body = '{"id": "chatcmpl-broken", "choices": ['
            return Response(broken_body, media_type="application/json"), "error"
        return JSONResponse(completion.body()), "completed"

    async def received(request: Request) -> Response:
        return JSONResponse({"object": "list", "data": log.snapshot()})

    routes = [
        Route("/v1/models", list_models, methods=["GET"]),
        Route("/v1/models/{model:path}", get_model, methods=["GET"]),
        Route("/v1/chat/completions", chat_completions, methods=["POST"]),
    ]
    if allow_faults:
        routes.append(Route("/mock/requests", received, methods=["GET"]))
    app = Starlette(routes=routes, exception_handlers={404: _unknown_url, 405: _unknown_url})
    app.state.received = log.records
    app.state.wait_for = log.wait_for
    return app


def _json_object(raw: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _words(messages: list[dict[str, Any]]) -> int:
    return sum(1 + len(message_text(message).split()) for message in messages)


def _error(
    status: int,
    message: str,
    kind: str,
    code: str | None = None,
    *,
    param: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    return JSONResponse(
        {"error": {"message": message, "type": kind, "param": param, "code": code}},
        status_code=status,
        headers=headers,
    )


async def _unknown_url(request: Request, exc: Exception) -> Response:
    where = f"{request.method} {request.url.path}"
    if isinstance(exc, HTTPException) and exc.status_code == 405:
        message = f"Invalid method ({where}): this path does not take {request.method}."
        headers = dict(exc.headers or {})
        return _error(405, message, "invalid_request_error", "method_not_allowed", headers=headers)
    return _error(404, f"Invalid URL ({where}).", "invalid_request_error", "unknown_url")


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
