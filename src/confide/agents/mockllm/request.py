"""A chat completion request as the mock LLM reads it, and the 400 for one it will not honour."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Message(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]


class Function(BaseModel):
    name: str = Field(min_length=1)
    parameters: dict[str, Any] | None = None


class Tool(BaseModel):
    type: str = "function"
    function: Function | None = None


class StreamOptions(BaseModel):
    include_usage: bool = False


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str
    messages: list[Message] = Field(min_length=1)
    tools: list[Tool] | None = None
    tool_choice: str | dict[str, Any] | None = None
    response_format: Any = None
    stream: bool | None = False
    stream_options: StreamOptions | None = None


class Refusal(Exception):
    """A request this server understands but will not pretend to honour: a 400 naming `param`."""

    def __init__(self, message: str, param: str) -> None:
        super().__init__(message)
        self.param = param
