"""Files attached to messages: the model gets them (scripted rules through real runs), the
messages show them, the context budget cuts long ones, images go only to vision agents, and
nobody attaches a file that is not theirs."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.applications import Starlette

from tests.conftest import client_for
from tests.factories import assert_problem, signed_up
from tests.files.helpers import FILES, PNG, tiny_pdf, uploaded
from tests.mockllm_server import serve_mock_llm_app

THREADS = "/api/threads"
AGENTS_TOML = """
[[agents]]
id = "assistant"
name = "Assistant"
default = true

[agents.model]
provider = "scripted"

[[agents]]
id = "seer"
name = "Sees images"
vision = true

[agents.model]
provider = "scripted"

[[agents]]
id = "remote-seer"
name = "A remote model that sees images"
vision = true

[agents.model]
provider = "openai"
name = "confide-scripted"
base_url = "{base_url}"
"""


@pytest.fixture(scope="module")
def mock_llm() -> Iterator[tuple[str, Starlette]]:
    with serve_mock_llm_app(allow_faults=False) as served:
        yield served


@pytest.fixture
async def files_app(
    app_factory: Callable[..., FastAPI], mock_llm: tuple[str, Starlette], tmp_path: Path
) -> Callable[..., FastAPI]:
    agents_file = tmp_path / "agents.toml"
    agents_file.write_text(AGENTS_TOML.format(base_url=mock_llm[0]), encoding="utf-8")

    def make(**settings: Any) -> FastAPI:
        return app_factory(agents_file=agents_file, **settings)

    return make


async def new_thread(
    client: httpx.AsyncClient, headers: dict[str, str], agent_id: str | None = None
) -> str:
    body = {"agent_id": agent_id} if agent_id else {}
    response = await client.post(THREADS, json=body, headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def send(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    thread_id: str,
    content: str,
    file_ids: list[str],
) -> httpx.Response:
    return await client.post(
        f"{THREADS}/{thread_id}/messages",
        json={"content": content, "file_ids": file_ids},
        headers=headers,
    )


async def answered(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    thread_id: str,
    content: str,
    file_ids: list[str],
) -> dict[str, Any]:
    """Send and wait for the run's end; the RunResult."""
    response = await send(client, headers, thread_id, content, file_ids)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    assert result["run"]["status"] == "completed", result
    return result


def answer_of(result: dict[str, Any]) -> str:
    (last,) = [m for m in result["messages"] if m["role"] == "assistant"][-1:]
    return str(last["content"])


async def messages(
    client: httpx.AsyncClient, headers: dict[str, str], thread_id: str
) -> list[dict[str, Any]]:
    response = await client.get(f"{THREADS}/{thread_id}/messages", headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_the_model_reads_a_text_file(files_app: Callable[..., FastAPI]) -> None:
    async with client_for(files_app()) as client:
        _, headers = await signed_up(client)
        file = await uploaded(client, headers, "notes.txt", b"alpha\nbeta\ngamma\n")
        thread = await new_thread(client, headers)
        result = await answered(
            client, headers, thread, "How many lines does the file have?", [file["id"]]
        )
        assert answer_of(result) == "The file notes.txt has 3 lines."
        user = result["messages"][0]
        assert user["role"] == "user"
        assert user["content"] == "How many lines does the file have?"
        assert [(f["id"], f["name"], f["truncated"]) for f in user["files"]] == [
            (file["id"], "notes.txt", False)
        ]
        stored = await messages(client, headers, thread)
        (shown,) = [m for m in stored if m["role"] == "user"]
        assert shown["files"] == [
            {
                "id": file["id"],
                "name": "notes.txt",
                "content_type": "text/plain",
                "size": 17,
                "kind": "text",
                "truncated": False,
                "deleted": False,
            }
        ]
        # A later turn's history still carries the file (the model sees it again).
        later = await answered(client, headers, thread, "Summarise the file", [])
        assert answer_of(later) == "I don't see a file attached to your message."


async def test_the_model_reads_a_pdf(files_app: Callable[..., FastAPI]) -> None:
    async with client_for(files_app()) as client:
        _, headers = await signed_up(client)
        pdf = await uploaded(
            client, headers, "report.pdf", tiny_pdf(["Sales rose in May", "Costs fell"], ["End"])
        )
        thread = await new_thread(client, headers)
        result = await answered(client, headers, thread, "Please summarise the file", [pdf["id"]])
        assert answer_of(result) == (
            'The file report.pdf (2 pages, 3 lines, 7 words) begins: "Sales rose in May".'
        )
        lines = await answered(
            client, headers, thread, "how many lines does the file have", [pdf["id"]]
        )
        assert answer_of(lines) == "The file report.pdf has 3 lines."


async def test_several_files_share_the_budget(files_app: Callable[..., FastAPI]) -> None:
    # 100 tokens: 400 characters of files' text per message.
    async with client_for(files_app(file_context_tokens=100)) as client:
        _, headers = await signed_up(client)
        small = await uploaded(client, headers, "small.txt", b"x" * 300)
        long = await uploaded(client, headers, "long.txt", ("word " * 100 + "\n").encode() * 3)
        thread = await new_thread(client, headers)
        result = await answered(
            client, headers, thread, "summarize the files", [small["id"], long["id"]]
        )
        files = result["messages"][0]["files"]
        assert [(f["name"], f["truncated"]) for f in files] == [
            ("small.txt", False),
            ("long.txt", True),
        ]
        answer = answer_of(result)
        assert 'The file small.txt (1 line, 1 words) begins: "' in answer
        assert answer.endswith("I was only given its beginning.")
        assert "long.txt (3 lines, 20 words)" in answer  # 100 characters of it were sent
        stored = await messages(client, headers, thread)
        assert [f["truncated"] for f in stored[0]["files"]] == [False, True]


async def test_attach_is_all_or_nothing(files_app: Callable[..., FastAPI]) -> None:
    async with client_for(files_app()) as client:
        _, owner = await signed_up(client)
        _, stranger = await signed_up(client)
        theirs = await uploaded(client, owner, "theirs.txt", b"not yours")
        mine = await uploaded(client, stranger, "mine.txt", b"mine")
        thread = await new_thread(client, stranger)
        for file_ids in ([theirs["id"]], [mine["id"], theirs["id"]], [str(uuid.uuid4())]):
            response = await send(client, stranger, thread, "read these", file_ids)
            assert_problem(response, 404, "file_not_found")
        deleted = await uploaded(client, stranger, "deleted.txt", b"deleted")
        await client.delete(f"{FILES}/{deleted['id']}", headers=stranger)
        assert_problem(
            await send(client, stranger, thread, "read it", [deleted["id"]]), 404, "file_not_found"
        )
        assert await messages(client, stranger, thread) == []


async def test_an_image_for_an_agent_without_vision_is_refused(
    files_app: Callable[..., FastAPI],
) -> None:
    async with client_for(files_app()) as client:
        _, headers = await signed_up(client)
        image = await uploaded(client, headers, "photo.png", PNG)
        thread = await new_thread(client, headers, "assistant")
        response = await send(client, headers, thread, "what is in it?", [image["id"]])
        body = assert_problem(response, 422, "vision_unsupported")
        assert "images" in body["detail"]
        assert await messages(client, headers, thread) == []

        seeing = await new_thread(client, headers, "seer")
        result = await answered(client, headers, seeing, "hello", [image["id"]])
        assert [f["kind"] for f in result["messages"][0]["files"]] == ["image"]


async def test_a_vision_model_receives_the_image(
    files_app: Callable[..., FastAPI], mock_llm: tuple[str, Starlette]
) -> None:
    _, mock = mock_llm
    marker = f"look at this {uuid.uuid4().hex}"
    app = files_app()
    async with client_for(app) as client:
        _, headers = await signed_up(client)
        image = await uploaded(client, headers, "photo.png", PNG)
        notes = await uploaded(client, headers, "notes.md", b"# Notes\n\none\n")
        thread = await new_thread(client, headers, "remote-seer")
        await answered(client, headers, thread, marker, [image["id"], notes["id"]])
    await app.state.runs.models.aclose()  # the SDK client's pooled connections

    def mine(record: Any) -> bool:
        return marker in str((record.body or {}).get("messages"))

    received = mock.state.wait_for(mine, 10.0)
    (user,) = [m for m in received.body["messages"] if m["role"] == "user"]
    assert isinstance(user["content"], list)
    kinds = [part["type"] for part in user["content"]]
    assert kinds == ["text", "image_url", "text"]
    assert user["content"][0]["text"] == marker
    expected = "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert user["content"][1]["image_url"]["url"] == expected
    assert user["content"][2]["text"] == "File notes.md (3 lines):\n# Notes\n\none\n"


async def test_a_deleted_file_stays_named_on_its_message(
    files_app: Callable[..., FastAPI],
) -> None:
    async with client_for(files_app()) as client:
        _, headers = await signed_up(client)
        file = await uploaded(client, headers, "notes.txt", b"one\ntwo\n")
        thread = await new_thread(client, headers)
        await answered(client, headers, thread, "how many lines does the file have", [file["id"]])
        assert (await client.delete(f"{FILES}/{file['id']}", headers=headers)).status_code == 204
        stored = await messages(client, headers, thread)
        assert [(f["name"], f["deleted"]) for f in stored[0]["files"]] == [("notes.txt", True)]
        assert_problem(
            await client.get(f"{FILES}/{file['id']}/content", headers=headers),
            404,
            "file_not_found",
        )
        # The thread goes on; the model is told the file is gone.
        result = await answered(client, headers, thread, "thanks", [])
        assert result["run"]["status"] == "completed"
