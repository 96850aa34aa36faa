"""Test data for search: threads and messages made as the app makes them."""

from __future__ import annotations

from typing import Any

import httpx

SEARCH = "/api/me/search"


async def search(
    client: httpx.AsyncClient, headers: dict[str, str], q: str, **params: Any
) -> dict[str, Any]:
    response = await client.get(SEARCH, params={"q": q, **params}, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def snippets(client: httpx.AsyncClient, headers: dict[str, str], q: str) -> list[str]:
    return [hit["snippet"] for hit in (await search(client, headers, q))["items"]]
