"""Small helpers of the folders tests: folders, threads, and listings."""

from __future__ import annotations

from typing import Any

import httpx

FOLDERS = "/api/folders"
THREADS = "/api/threads"


async def new_folder(client: httpx.AsyncClient, headers: dict[str, str], name: str) -> str:
    response = await client.post(FOLDERS, json={"name": name}, headers=headers)
    assert response.status_code == 201, response.text
    folder_id: str = response.json()["id"]
    return folder_id


async def new_thread(client: httpx.AsyncClient, headers: dict[str, str], title: str) -> str:
    response = await client.post(THREADS, json={"title": title}, headers=headers)
    assert response.status_code == 201, response.text
    thread_id: str = response.json()["id"]
    return thread_id


async def patch_thread(
    client: httpx.AsyncClient, headers: dict[str, str], thread_id: str, **body: Any
) -> dict[str, Any]:
    response = await client.patch(f"{THREADS}/{thread_id}", json=body, headers=headers)
    assert response.status_code == 200, response.text
    out: dict[str, Any] = response.json()
    return out


async def titles(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> list[str]:
    """The titles of the caller's threads a listing gives, every page followed."""
    found: list[str] = []
    cursor = None
    for _ in range(100):
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await client.get(THREADS, params=query, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        found.extend(item["title"] for item in body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return found
    raise AssertionError("the listing did not end within 100 pages")


async def folder_names(client: httpx.AsyncClient, headers: dict[str, str]) -> list[str]:
    response = await client.get(FOLDERS, headers=headers)
    assert response.status_code == 200, response.text
    return [item["name"] for item in response.json()["items"]]
