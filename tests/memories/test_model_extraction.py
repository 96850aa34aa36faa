"""Extraction by the agent's own model, as structured output, against `confide mock-llm` over
real HTTP: the facts come back through pydantic-ai's output tool; a model that refuses or
answers garbage is logged, stores nothing, and the run stays completed."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.applications import Starlette

from confide.memories.facts import MEMORY_TOOL, MOCK_GARBAGE, MOCK_REFUSE
from tests.conftest import client_for
from tests.factories import signed_up
from tests.memories.helpers import answer, facts, memories, new_thread, turn
from tests.mockllm_server import serve_mock_llm_app

AGENTS_TOML = """
[[agents]]
id = "remote"
name = "Remote model"
default = true
tools = []
system_prompt = "You are Confide's assistant, talking with {{user_name}}."

[agents.model]
provider = "openai"
name = "confide-scripted"
base_url = "{base_url}"
"""


@pytest.fixture(scope="module")
def mock_llm() -> Iterator[tuple[str, Starlette]]:
    with serve_mock_llm_app(allow_faults=True) as served:
        yield served


@pytest.fixture
async def remote(
    app_factory: Callable[..., FastAPI], mock_llm: tuple[str, Starlette], tmp_path: Path
) -> AsyncIterator[FastAPI]:
    agents_file = tmp_path / "agents.toml"
    agents_file.write_text(AGENTS_TOML.format(base_url=mock_llm[0]), encoding="utf-8")
    # Titles off: these tests count the requests that hold a user's message (tests/folders
    # has the title job's own).
    app = app_factory(agents_file=agents_file, generated_titles=False)
    yield app
    await app.state.runs.models.aclose()  # the SDK client's pooled connections


def extraction_requests(mock: Starlette, marker: str, since: int) -> list[dict[str, Any]]:
    """The requests after the first `since` that offered the memory tool, for a message
    holding `marker`."""
    found = []
    for record in mock.state.received[since:]:
        body = record.body or {}
        tools = [t.get("function", {}).get("name") for t in body.get("tools") or []]
        if MEMORY_TOOL in tools and marker in json.dumps(body.get("messages")):
            found.append(body)
    return found


async def test_facts_come_from_the_models_structured_output(
    remote: FastAPI, mock_llm: tuple[str, Starlette]
) -> None:
    since = len(mock_llm[1].state.received)
    async with client_for(remote) as client:
        _, headers = await signed_up(client, display_name="Ada")
        thread = await new_thread(client, headers)
        said = "My name is Quill and I work on a lighthouse."
        result = await turn(remote, client, headers, thread, said)
        assert result["run"]["status"] == "completed"
        items = await memories(client, headers)
        assert sorted(facts(items)) == [("name", "Quill"), ("project", "a lighthouse")]
        assert {m["source_message_id"] for m in items} == {result["messages"][0]["id"]}
        (request,) = extraction_requests(mock_llm[1], "lighthouse", since)
        assert request["tool_choice"] == "required"  # the output tool: an answer must use it

        asked = await turn(
            remote, client, headers, await new_thread(client, headers), "What is my name?"
        )
        assert answer(asked) == "Your name is Quill."
        # The memory went to the model in the system prompt of the later run.
        asking = set(map(json.dumps, extraction_requests(mock_llm[1], "What is my name?", since)))
        prompts = [
            text
            for r in mock_llm[1].state.received[since:]
            if r.body and "What is my name?" in (text := json.dumps(r.body)) and text not in asking
        ]
        assert len(prompts) == 1
        assert "- name: Quill" in prompts[0]


@pytest.mark.parametrize("marker", [MOCK_GARBAGE, MOCK_REFUSE])
async def test_a_failing_extraction_stores_nothing_and_the_run_stands(
    remote: FastAPI, mock_llm: tuple[str, Starlette], marker: str, log_lines: Any
) -> None:
    since = len(mock_llm[1].state.received)
    async with client_for(remote) as client:
        _, headers = await signed_up(client)
        thread = await new_thread(client, headers)
        result = await turn(remote, client, headers, thread, f"My name is Quill. {marker}")
        assert result["run"]["status"] == "completed"
        assert await memories(client, headers, status="all") == []
        run = await client.get(f"/api/runs/{result['run']['id']}", headers=headers)
        assert run.json()["status"] == "completed"
    assert extraction_requests(mock_llm[1], marker, since)  # it was asked, over HTTP
    logged = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    failures = [e for e in logged if e.get("msg", "").startswith("memory extraction failed")]
    assert len(failures) == 1
    assert failures[0]["run_id"] == result["run"]["id"]
