"""GET /api/threads/{id}/export: Markdown and JSON downloads, who may have them."""

from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI

from confide.imports.export import content_disposition, fenced
from tests.factories import assert_problem, signed_up
from tests.imports.helpers import branched_thread


async def test_markdown_of_the_active_path(app: FastAPI, client: httpx.AsyncClient) -> None:
    user, headers = await signed_up(client)
    thread_id, _ = await branched_thread(app, client, headers, user["id"])
    response = await client.get(f"/api/threads/{thread_id}/export", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/markdown; charset=utf-8"
    assert response.headers["content-disposition"] == (
        "attachment; filename=\"Sums.md\"; filename*=UTF-8''Sums.md"
    )
    assert response.headers["x-content-type-options"] == "nosniff"
    text = response.text
    assert text.startswith("# Sums\n\n_Exported from Confide on ")
    assert "a thread with Assistant._" in text
    assert "**You:** _" in text
    assert "What is 2 + 4?" in text
    assert "**Assistant:** _" in text
    assert "Six, stopped\n\n_(stopped before the end)_" in text
    assert "What is 2 + 3?" not in text  # the other branch


async def test_markdown_of_another_path_shows_tool_calls(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user, headers = await signed_up(client)
    thread_id, ids = await branched_thread(app, client, headers, user["id"])
    response = await client.get(
        f"/api/threads/{thread_id}/export", params={"path": ids["question"]}, headers=headers
    )
    text = response.text
    assert "What is 2 + 3?" in text
    assert 'Tool call `add` (call_1):\n\n```json\n{\n  "a": 2,\n  "b": 3\n}\n```' in text
    assert "**Result of `add`** (call_1):\n\n```text\n5\n```" in text
    assert "2 + 3 = **5**." in text
    assert text.index("Tool call") < text.index("Result of") < text.index("2 + 3 = **5**.")


async def test_json_of_the_active_path(app: FastAPI, client: httpx.AsyncClient) -> None:
    user, headers = await signed_up(client)
    thread_id, ids = await branched_thread(app, client, headers, user["id"])
    response = await client.get(
        f"/api/threads/{thread_id}/export", params={"format": "json"}, headers=headers
    )
    assert response.headers["content-disposition"].startswith('attachment; filename="Sums.json"')
    body = response.json()
    assert body["thread"] == {
        "title": "Sums",
        "agent_id": "assistant",
        "created_at": body["thread"]["created_at"],
    }
    assert body["active_leaf_id"] == ids["stopped"]
    assert [(m["id"], m["parent_id"]) for m in body["messages"]] == [
        (ids["edit"], None),
        (ids["stopped"], ids["edit"]),
    ]


async def test_only_readers_get_an_export(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner, headers = await signed_up(client)
    thread_id, ids = await branched_thread(app, client, headers, owner["id"])
    stranger, other = await signed_up(client)
    url = f"/api/threads/{thread_id}/export"
    assert_problem(await client.get(url, headers=other), 404, "thread_not_found")
    assert_problem(
        await client.get(f"/api/threads/{uuid.uuid4()}/export", headers=other),
        404,
        "thread_not_found",
    )
    shared = await client.post(
        f"/api/threads/{thread_id}/shares", json={"email": stranger["email"]}, headers=headers
    )
    assert shared.status_code == 202, shared.text
    assert (await client.get(url, headers=other)).status_code == 200
    # A message of another thread is not a path of this one.
    own, _ = await branched_thread(app, client, other, stranger["id"])
    other_ids = (await client.get(f"/api/threads/{own}/messages", headers=other)).json()["items"]
    response = await client.get(url, params={"path": other_ids[0]["id"]}, headers=headers)
    assert_problem(response, 404, "message_not_found")
    assert ids


async def test_markdown_is_one_path(app: FastAPI, client: httpx.AsyncClient) -> None:
    user, headers = await signed_up(client)
    thread_id, _ = await branched_thread(app, client, headers, user["id"])
    response = await client.get(
        f"/api/threads/{thread_id}/export", params={"format": "md", "all": "true"}, headers=headers
    )
    assert_problem(response, 422, "validation_error")


def test_the_filename_is_sanitised() -> None:
    assert content_disposition('../../etc/"passwd"\r\n', "md") == (
        "attachment; filename=\"etc passwd.md\"; filename*=UTF-8''etc%20passwd.md"
    )
    assert content_disposition(None, "json").startswith('attachment; filename="thread.json"')
    assert content_disposition("Café ☕ à Paris", "md") == (
        "attachment; filename=\"Cafe a Paris.md\"; filename*=UTF-8''Caf%C3%A9%20%C3%A0%20Paris.md"
    )
    assert content_disposition("x" * 300, "md").count("x") == 160


def test_a_fence_outlasts_the_backticks_inside() -> None:
    assert fenced("a ```b``` c", "text") == "````text\na ```b``` c\n````"
