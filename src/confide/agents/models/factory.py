"""The pydantic-ai model behind an agent: the built-in scripted model or any OpenAI-compatible
endpoint. Both are pydantic-ai `Model`s, so a run drives them the same way."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from openai import AsyncOpenAI
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart
from pydantic_ai.models import Model
from pydantic_ai.models.function import AgentInfo, DeltaToolCall, DeltaToolCalls, FunctionModel
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.openai import OpenAIProvider

from confide.agents.conversation import to_openai_messages
from confide.agents.models.scripted import ScriptedReply, scripted_reply, stream_chunks

SCRIPTED_MODEL_NAME = "confide-scripted"


def _reply(messages: list[ModelMessage], info: AgentInfo) -> ScriptedReply:
    return scripted_reply(to_openai_messages(messages), [t.name for t in info.function_tools])


# Async, though it never waits: pydantic-ai would run a plain function in a worker thread.
async def _respond(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    reply = _reply(messages, info)
    parts: list[TextPart | ToolCallPart] = []
    if reply.text:
        parts.append(TextPart(reply.text))
    parts.extend(
        ToolCallPart(call.name, call.arguments, tool_call_id=call.id) for call in reply.tool_calls
    )
    return ModelResponse(parts=parts, model_name=SCRIPTED_MODEL_NAME)


async def _stream(
    messages: list[ModelMessage], info: AgentInfo
) -> AsyncIterator[str | DeltaToolCalls]:
    reply = _reply(messages, info)
    for chunk in stream_chunks(reply.text or ""):
        yield chunk
    for index, call in enumerate(reply.tool_calls, start=1):
        yield {
            index: DeltaToolCall(
                name=call.name, json_args=json.dumps(call.arguments), tool_call_id=call.id
            )
        }


def scripted_model() -> Model:
    """The deterministic built-in model (no network)."""
    return FunctionModel(_respond, stream_function=_stream, model_name=SCRIPTED_MODEL_NAME)


def openai_model(*, name: str, base_url: str, api_key: str | None, timeout_seconds: float) -> Model:
    """A Chat Completions endpoint. No SDK retries: a failing endpoint fails the run clearly
    and at once, rather than after minutes of hidden retries."""
    client = AsyncOpenAI(
        base_url=base_url,
        # Local servers (Ollama, llama.cpp, vLLM) take any key; the SDK insists on one.
        api_key=api_key or "not-needed",
        max_retries=0,
        timeout=timeout_seconds,
    )
    return OpenAIChatModel(name, provider=OpenAIProvider(openai_client=client))
