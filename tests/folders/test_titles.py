"""Titles by the agent's model (the `title` job), against `confide mock-llm` over real HTTP:
the title becomes what the model answers, cleaned; a user's title always wins, even one
given while the job waits on the model; a failing model leaves the first-words title; the
scripted model keeps its first-words rule."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart
from pydantic_ai.models import Model
from pydantic_ai.models.function import AgentInfo, FunctionModel
from starlette.applications import Starlette

from confide.folders.title_rules import MARKER, MOCK_TITLE_FAIL, clean_title
from confide.folders.titles import ThreadTitles
from tests.conftest import client_for, settle_jobs
from tests.factories import signed_up

QUESTION = "what is the best way to learn sailing on a small lake"


def title_requests(mock: Starlette, since: int) -> list[dict[str, Any]]:
    return [
        record.body
        for record in mock.state.received[since:]
        if record.body and MARKER in json.dumps(record.body.get("messages"))
    ]


async def turn(
    app: FastAPI, client: httpx.AsyncClient, headers: dict[str, str], thread_id: str, text: str
) -> dict[str, Any]:
    response = await client.post(
        f"/api/threads/{thread_id}/messages", json={"content": text}, headers=headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["run"]["status"] == "completed"
    await settle_jobs(app)  # the title job included
    body: dict[str, Any] = response.json()
    return body


async def new_thread(client: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> str:
    response = await client.post("/api/threads", json=body, headers=headers)
    assert response.status_code == 201, response.text
    thread_id: str = response.json()["id"]
    return thread_id


async def title_of(client: httpx.AsyncClient, headers: dict[str, str], thread_id: str) -> str:
    response = await client.get(f"/api/threads/{thread_id}", headers=headers)
    title: str = response.json()["title"]
    return title


async def test_the_title_is_what_the_model_answers_after_the_first_run_only(
    remote: FastAPI, mock_llm: tuple[str, Starlette]
) -> None:
    since = len(mock_llm[1].state.received)
    async with client_for(remote) as client:
        _, headers = await signed_up(client)
        thread = await new_thread(client, headers)
        await turn(remote, client, headers, thread, QUESTION)
        # The mock answers the question's first six words, title-cased and quoted.
        assert await title_of(client, headers, thread) == "What Is The Best Way To"
        (asked,) = title_requests(mock_llm[1], since)
        assert QUESTION in json.dumps(asked["messages"])
        assert not asked.get("stream")  # one short request, not streamed
        # Searchable by its new title (the blind index follows it).
        found = await client.get("/api/threads", params={"q": "best"}, headers=headers)
        assert [t["id"] for t in found.json()["items"]] == [thread]

        await turn(remote, client, headers, thread, "and on the sea?")
        assert await title_of(client, headers, thread) == "What Is The Best Way To"
        assert len(title_requests(mock_llm[1], since)) == 1  # never asked again


async def test_a_users_title_is_never_replaced(
    remote: FastAPI, mock_llm: tuple[str, Starlette]
) -> None:
    since = len(mock_llm[1].state.received)
    async with client_for(remote) as client:
        _, headers = await signed_up(client)
        given = await new_thread(client, headers, title="My own")
        await turn(remote, client, headers, given, QUESTION)
        assert await title_of(client, headers, given) == "My own"
        renamed = await new_thread(client, headers)
        await client.patch(f"/api/threads/{renamed}", json={"title": "Renamed"}, headers=headers)
        await turn(remote, client, headers, renamed, QUESTION)
        assert await title_of(client, headers, renamed) == "Renamed"
    assert title_requests(mock_llm[1], since) == []  # not even asked


async def test_a_failing_model_leaves_the_first_words(
    remote: FastAPI, mock_llm: tuple[str, Starlette], log_lines: Any
) -> None:
    since = len(mock_llm[1].state.received)
    async with client_for(remote) as client:
        _, headers = await signed_up(client)
        thread = await new_thread(client, headers)
        said = f"plan my week {MOCK_TITLE_FAIL}"
        result = await turn(remote, client, headers, thread, said)
        assert await title_of(client, headers, thread) == said
        run = await client.get(f"/api/runs/{result['run']['id']}", headers=headers)
        assert run.json()["status"] == "completed"
    assert len(title_requests(mock_llm[1], since)) == 1  # asked, and refused (a 400)
    logged = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    failures = [e for e in logged if e.get("msg", "").startswith("title generation failed")]
    assert [f["run_id"] for f in failures] == [result["run"]["id"]]


class RenamingModels:
    """A model catalog whose model renames the thread (as its user would, through the API)
    while the title request is in flight, then answers a title."""

    def __init__(self, client: httpx.AsyncClient, headers: dict[str, str], thread_id: str):
        self.client, self.headers, self.thread_id = client, headers, thread_id
        self.asked = 0

    def for_agent(self, agent: Any) -> Model:
        async def answer(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
            self.asked += 1
            renamed = await self.client.patch(
                f"/api/threads/{self.thread_id}", json={"title": "Mine"}, headers=self.headers
            )
            assert renamed.status_code == 200, renamed.text
            return ModelResponse(parts=[TextPart("The model's title")])

        return FunctionModel(answer)


async def test_a_rename_while_the_job_waits_on_the_model_wins(remote: FastAPI) -> None:
    titles: ThreadTitles = remote.state.titles
    titles.enabled = False  # the job is run by hand below, with a model that renames
    async with client_for(remote) as client:
        _, headers = await signed_up(client)
        thread = await new_thread(client, headers)
        result = await turn(remote, client, headers, thread, QUESTION)
        assert await title_of(client, headers, thread) == QUESTION  # no job: first words
        models = RenamingModels(client, headers, thread)
        titles.models = models  # type: ignore[assignment]
        assert await titles.generate(uuid.UUID(result["run"]["id"])) is None
        assert models.asked == 1
        assert await title_of(client, headers, thread) == "Mine"


async def test_the_scripted_model_keeps_first_words(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, headers = await signed_up(client)
    thread = await new_thread(client, headers)
    result = await turn(app, client, headers, thread, "add 5 and 3")
    assert await title_of(client, headers, thread) == "add 5 and 3"
    titles: ThreadTitles = app.state.titles
    assert await titles.generate(uuid.UUID(result["run"]["id"])) is None


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ('"Sailing on Small Lakes"', "Sailing on Small Lakes"),
        ("Title: **Weekly plan**.", "Weekly plan"),
        ("\n\n  “Trip to Lisbon”  \nsecond line", "Trip to Lisbon"),
        ("...", ""),
        ("word " * 40, ("word " * 40).strip()[:79].rsplit(" ", 1)[0] + "…"),
    ],
)
def test_answers_are_cleaned_into_titles(raw: str, clean: str) -> None:
    assert clean_title(raw) == clean
