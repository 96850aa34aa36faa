"""The web app's page of a share link (`/s/<token>`): the app's index.html, kept by no cache
and indexed by no search engine, with the app's strict policy and no referrer."""

from __future__ import annotations

import httpx

from confide.web import WEB_CSP
from tests.web.test_serving import ClientFactory, client, dist, web_client

__all__ = ["ClientFactory", "client", "dist", "web_client"]  # the serving tests' fixtures


async def test_the_link_page_is_not_cached_nor_indexed(client: httpx.AsyncClient) -> None:
    response = await client.get("/s/some-token_value")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-robots-tag"] == "noindex, nofollow"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["content-security-policy"] == WEB_CSP
    # Every other page of the app is still revalidated as before.
    assert (await client.get("/chat/x")).headers["cache-control"] == "no-cache"
