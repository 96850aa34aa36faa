"""The pydantic-ai model behind an agent: the built-in scripted model or any OpenAI-compatible
endpoint. Both are pydantic-ai `Model`s, so a run drives them the same way."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from urllib.parse import urlsplit

from openai import AsyncOpenAI, Timeout
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart
from pydantic_ai.models import Model
from pydantic_ai.models.function import AgentInfo, DeltaToolCall, DeltaToolCalls, FunctionModel
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.profiles.openai import OpenAIModelProfile
from pydantic_ai.providers.openai import OpenAIProvider
from pydantic_ai.usage import RequestUsage

from confide.agents.conversation import to_openai_messages
from confide.agents.definitions import AgentDefinition, MaxTokensField
from confide.agents.models.scripted import ScriptedReply, scripted_reply, stream_chunks
from confide.agents.registry import AgentRegistry
from confide.config import Settings

SCRIPTED_MODEL_NAME = "confide-scripted"
OPENAI_HOST = "api.openai.com"


def _reply(messages: list[ModelMessage], info: AgentInfo) -> ScriptedReply:
    return scripted_reply(to_openai_messages(messages), [t.name for t in info.function_tools])


# Async, though it never waits: pydantic-ai would run a plain function in a worker thread.
async def _respond(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    conversation = to_openai_messages(messages)
    reply = scripted_reply(conversation, [t.name for t in info.function_tools])
    parts: list[TextPart | ToolCallPart] = []
    if reply.text:
        parts.append(TextPart(reply.text))
    parts.extend(
        ToolCallPart(call.name, call.arguments, tool_call_id=call.id) for call in reply.tool_calls
    )
    # Usage given, so FunctionModel does not estimate it by splitting every word of the whole
    # conversation with a regex: that was 60% of a turn's CPU on a 1,000-message thread
    # (bench/chat_bench.py, "Turn, 1,000-message thread").
    usage = RequestUsage(
        input_tokens=_tokens(str(m.get("content") or "") for m in conversation),
        output_tokens=_tokens(
            [reply.text or "", *(json.dumps(c.arguments) for c in reply.tool_calls)]
        ),
    )
    return ModelResponse(parts=parts, model_name=SCRIPTED_MODEL_NAME, usage=usage)


def _tokens(texts: Iterable[str]) -> int:
    """About four characters a token, at least one."""
    return max(1, sum(len(text) for text in texts) // 4)


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


def openai_model(
    *,
    name: str,
    base_url: str,
    api_key: str | None,
    connect_seconds: float,
    max_duration_seconds: float,
    max_tokens_field: MaxTokensField | None = None,
) -> Model:
    """A Chat Completions endpoint. No SDK retries: a failing endpoint fails the run clearly
    and at once, rather than after minutes of hidden retries. The client's own read time-out
    is the whole request's cap: the run times silence itself (runs/model_step.py)."""
    client = AsyncOpenAI(
        base_url=base_url,
        # Local servers (Ollama, llama.cpp, vLLM) take any key; the SDK insists on one.
        api_key=api_key or "not-needed",
        max_retries=0,
        timeout=Timeout(max_duration_seconds, connect=connect_seconds),
    )
    field = max_tokens_field or default_max_tokens_field(base_url)
    return OpenAIChatModel(
        name,
        provider=OpenAIProvider(openai_client=client),
        profile=OpenAIModelProfile(
            openai_chat_supports_max_completion_tokens=field == "max_completion_tokens"
        ),
    )


def default_max_tokens_field(base_url: str) -> MaxTokensField:
    """OpenAI's own API takes `max_completion_tokens`; servers that copy its API (llama.cpp,
    older vLLM and Ollama builds) read only `max_tokens` and ignore the newer field."""
    host = (urlsplit(base_url).hostname or "").lower()
    return "max_completion_tokens" if host == OPENAI_HOST else "max_tokens"


class ModelCatalog:
    """One pydantic-ai model per agent, built on first use and reused (HTTP clients pooled)."""

    def __init__(self, settings: Settings, agents: AgentRegistry) -> None:
        self.settings = settings
        self.agents = agents
        self._models: dict[str, Model] = {}

    def for_agent(self, agent: AgentDefinition) -> Model:
        model = self._models.get(agent.id)
        if model is None:
            if agent.model.provider == "scripted":
                model = scripted_model()
            else:
                assert agent.model.base_url is not None
                model = openai_model(
                    name=agent.model.name,
                    base_url=agent.model.base_url,
                    api_key=self.agents.api_key(agent),
                    connect_seconds=agent.model.timeout_seconds
                    or self.settings.model_timeout_seconds,
                    max_duration_seconds=agent.model.max_duration_seconds
                    or self.settings.model_max_duration_seconds,
                    max_tokens_field=agent.model.max_tokens_field,
                )
            self._models[agent.id] = model
        return model

    def context_window(self, agent: AgentDefinition) -> int | None:
        """What pydantic-ai knows of the model's context window (None: unknown)."""
        return self.for_agent(agent).profile.get("context_window")

    async def aclose(self) -> None:
        """Close the HTTP clients of the remote models (their pooled connections)."""
        for model in self._models.values():
            if isinstance(model, OpenAIChatModel):
                await model.client.close()
