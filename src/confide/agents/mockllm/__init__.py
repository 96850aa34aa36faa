"""`confide mock-llm`: the scripted model behind an OpenAI-compatible HTTP API.

Endpoints: `GET /v1/models`, `GET /v1/models/{id}` and `POST /v1/chat/completions`; with faults
on, also `GET /mock/requests` (what the server received, see below). Any API key is accepted. Any
other path is an OpenAI-style 404 with code `unknown_url`; a known path with the wrong method is
a 405 of the same shape (code `method_not_allowed`). A model other than the one served is a 404
`model_not_found`; a body that is not a valid request is a 400.

Chat completions honour `tools`, `tool_choice`, `response_format`, `stream` and
`stream_options.include_usage`; other fields are ignored (`temperature`, `max_tokens` and the like
change nothing, as the model is deterministic).
- The scripted model calls `add`, `calculator` and `current_time`; a client offering only another
  spelling of one (`Add`, `CALCULATOR`) gets calls to its own spelling.
- `tool_choice`: "auto" (the default) lets the model choose and "none" hides the tools. "required",
  a named function, or `allowed_tools` in "required" mode force a call: the model's own calls if
  it made any to an allowed tool, otherwise one call to the named tool (for "required": the first
  allowed one not already called since the last user message) with arguments read from the last
  user message where the scripted model can, else the smallest object the tool's parameter schema
  accepts (`schema.minimal_value`). A choice naming a tool that is not offered, "required" without
  tools, or parameters no object can satisfy are a 400.
- `response_format`: "text" is the plain answer; "json_object" answers `{"answer": "<text>"}`;
  "json_schema" answers the smallest value its `schema` accepts. Any other format, or a schema
  that cannot be satisfied, is a 400 with `param: "response_format"`. Tool calls stay tool calls.
Streams send the role, then one chunk per word, then each tool call as a chunk with its id and
name followed by its arguments in two pieces, then the finish reason (then, with `include_usage`,
a chunk with the usage) and `data: [DONE]`.

Fault markers, honoured only when the app is built with `allow_faults=True` (`--faults`), let
tests drive a real client down its failure paths. Put one in the last paragraph of the last user
message (Confide sends two user messages in a row as one, joined by a blank line, and the earlier
one's marker must not fail the retry too); if there are several there, the first counts. All
markers, anywhere in the conversation, are removed before the model reads it:

  [[mock:error500]]       HTTP 500 with an OpenAI-style error body
  [[mock:error400]]       HTTP 400 with an OpenAI-style error body
  [[mock:slow=N]]         wait N seconds (at most 30, fractions allowed) before answering
  [[mock:malformed]]      streamed: a chunk that is not JSON after a few good ones;
                          otherwise: a 200 response whose body is not JSON
  [[mock:hang-stream]]    streamed: a few chunks, then 30 seconds of silence before the rest
  [[mock:hang-stream=S]]  the same, silent for S seconds (at most 30, fractions allowed)
  [[mock:drip=MS]]        a fixed 40-word answer (`DRIP_TEXT`), streamed a word every MS
                          milliseconds (at most 5000); otherwise: the whole answer after the
                          same total wait
  [[mock:empty]]          an answer with no text and no tool call (finish reason "stop")

What it received: `app.state.received` lists the last 100 chat completion requests, oldest first,
as `ReceivedRequest` records (`body`, `stream`, `outcome`, `chunks_sent`, `status`, and `usage`,
the token counts of its answer), updated as each answer goes out. `outcome` is "pending", then
"streaming" while a stream is open, and ends as "completed", "error" (an error status or a
malformed answer) or "disconnected" (the client left before the answer ended, also while a
`slow` or `drip` wait was running).
`app.state.wait_for(predicate, timeout)` blocks the calling thread (never call it on the app's own
event loop) until a record matches. With faults on, `GET /mock/requests` lists them as JSON.

Modules: `app` (routes, request handling, errors), `request` (the request's pydantic models),
`choice` (what the model answers: tool_choice, tool names, response_format), `completion`
(rendering and streaming the answer), `faults` (the markers), `received` (the request log),
`schema` (the smallest value a JSON schema accepts), `cli` (the command; `python -m` runs it).
"""

from confide.agents.mockllm.app import DEFAULT_MODEL, create_mock_llm_app
from confide.agents.mockllm.cli import mock_llm, register_cli
from confide.agents.mockllm.faults import DRIP_TEXT, HANG_SECONDS, MAX_DELAY_SECONDS, MAX_DRIP_MS
from confide.agents.mockllm.received import RECEIVED_LIMIT, Outcome, ReceivedRequest, RequestLog
from confide.agents.mockllm.schema import SchemaError, minimal_value

__all__ = [
    "DEFAULT_MODEL",
    "DRIP_TEXT",
    "HANG_SECONDS",
    "MAX_DELAY_SECONDS",
    "MAX_DRIP_MS",
    "RECEIVED_LIMIT",
    "Outcome",
    "ReceivedRequest",
    "RequestLog",
    "SchemaError",
    "create_mock_llm_app",
    "minimal_value",
    "mock_llm",
    "register_cli",
]
