"""Facts asked of the agent's own model, as structured output (pydantic-ai, `output_type`).

The model gets the user's message and must answer by calling the `save_memories` tool with
a list of {key, content}; pydantic-ai validates the call against `ExtractedFacts` and asks
again once when it does not fit. Anything else (an error, garbage twice) is the caller's to
log: extraction never fails a run.
"""

from __future__ import annotations

from pydantic import BaseModel, Field
from pydantic_ai import Agent, ToolOutput
from pydantic_ai.models import Model

from confide.memories.facts import MAX_CONTENT, MEMORY_TOOL, Fact, MemoryKey, clean_content

MAX_FACTS = 20

INSTRUCTIONS = """\
You read one message a user sent to an assistant and pick out durable facts about the user \
worth remembering in later conversations: their name (key "name"), where they live \
("location"), their preferences ("preference"), the projects they work on ("project"), and \
other lasting facts about them ("note"). Skip questions, requests, passing moods and \
anything about other people. Write each fact as a short phrase, without "the user". Call \
the save_memories tool once, with an empty list when there is nothing to remember."""


class ExtractedFact(BaseModel):
    key: MemoryKey
    content: str = Field(min_length=1, max_length=MAX_CONTENT)


class ExtractedFacts(BaseModel):
    facts: list[ExtractedFact] = Field(max_length=MAX_FACTS)


def extraction_agent(model: Model) -> Agent[None, ExtractedFacts]:
    return Agent(
        model,
        output_type=ToolOutput(
            ExtractedFacts,
            name=MEMORY_TOOL,
            description="Save the durable facts about the user found in the message.",
        ),
        instructions=INSTRUCTIONS,
        retries=1,
    )


async def model_facts(model: Model, text: str, *, timeout_seconds: float) -> list[Fact]:
    """The facts the model finds in one user message."""
    result = await extraction_agent(model).run(text, timeout=timeout_seconds)
    facts = []
    for found in result.output.facts:
        content = clean_content(found.content)
        if content:
            facts.append(Fact(key=found.key, content=content))
    return facts
