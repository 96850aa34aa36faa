"""What does encryption at rest cost? p50 of the three reads it touches most, with encryption
on (the default `KeyVault`) and off (`PlainVault`, UTF-8 as it is), in the same run:

- thread fetch: `GET /api/threads/{id}/messages?order=desc&limit=50` (a chat's newest page);
- thread list: `GET /api/threads?limit=50` (the sidebar: 50 titles opened);
- search: `GET /api/me/search?q=` over the user's messages (blind tokens either way).

Each vault gets its own app and database, seeded alike (bench/search_bench.py's corpus: one
user, --messages messages in --threads threads, through `MessageLog.append`). The requests go
through httpx's ASGITransport in rounds that alternate on and off, so both see the same machine.
Targets (issue 12): fetch overhead under 15 %, search p50 under 50 ms over 10,000 messages.

    .venv/bin/python bench/at_rest_bench.py
    .venv/bin/python bench/at_rest_bench.py --messages 10000 --rounds 10 --requests 50
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx

from confide.app import create_app
from confide.crypto.keystore import load_key_ring
from confide.db.migrate import upgrade
from confide.storage.codec import PlainVault
from search_bench import SEED, Corpus, percentile, query_classes, seed, settings_for, signed_up

VAULTS = ("on", "off")
FETCH_TARGET = 0.15
SEARCH_TARGET_MS = 50.0


async def _prepared(
    stack: AsyncExitStack, vault: str, args: argparse.Namespace
) -> tuple[httpx.AsyncClient, dict[str, str], list[str]]:
    tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix=f"confide-at-rest-{vault}-"))
    settings = settings_for(Path(tmp) / "data", None)
    await upgrade(settings.effective_database_url, key_ring=load_key_ring(settings))
    app = create_app(settings)
    if vault == "off":
        app.state.vault = PlainVault()
    stack.push_async_callback(app.state.database.dispose)
    client = await stack.enter_async_context(
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
    )
    user_id, headers = await signed_up(client)
    corpus = Corpus(random.Random(SEED))
    await seed(app, user_id, corpus, threads=args.threads, messages=args.messages)
    listed = await client.get("/api/threads", params={"limit": 100}, headers=headers)
    listed.raise_for_status()
    thread_ids = [t["id"] for t in listed.json()["items"]]
    return client, headers, thread_ids


def _requests(thread_ids: list[str], queries: list[str]) -> dict[str, list[tuple[str, Any]]]:
    return {
        "thread fetch (newest 50)": [
            (f"/api/threads/{t}/messages", {"order": "desc", "limit": 50}) for t in thread_ids
        ],
        "thread list (50)": [("/api/threads", {"limit": 50})],
        "search": [("/api/me/search", {"q": q, "limit": 20}) for q in queries],
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    corpus = Corpus(random.Random(SEED))
    queries = [q for qs in query_classes(corpus).values() for q in qs[:20]]
    times: dict[tuple[str, str], list[float]] = {}
    async with AsyncExitStack() as stack:
        prepared = {vault: await _prepared(stack, vault, args) for vault in VAULTS}
        gc.collect()
        gc.freeze()
        for client, headers, thread_ids in prepared.values():  # warm-up
            for path, params in [r[0] for r in _requests(thread_ids, queries).values()]:
                (await client.get(path, params=params, headers=headers)).raise_for_status()
        for _ in range(args.rounds):
            for vault in VAULTS:
                client, headers, thread_ids = prepared[vault]
                for name, requests in _requests(thread_ids, queries).items():
                    bucket = times.setdefault((name, vault), [])
                    for i in range(args.requests):
                        path, params = requests[(len(bucket) + i) % len(requests)]
                        began = time.perf_counter()
                        response = await client.get(path, params=params, headers=headers)
                        elapsed = (time.perf_counter() - began) * 1000
                        response.raise_for_status()
                        bucket.append(elapsed)
    figures: dict[str, Any] = {"messages": args.messages, "threads": args.threads, "reads": {}}
    for name in _requests(["x"], ["x"]):
        on, off = (percentile(times[(name, v)], 0.5) for v in VAULTS)
        figures["reads"][name] = {
            "on_p50_ms": round(on, 2),
            "off_p50_ms": round(off, 2),
            "overhead": round(on / off - 1, 3),
            "on_p95_ms": round(percentile(times[(name, "on")], 0.95), 2),
        }
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=10, help="alternations of on and off")
    parser.add_argument("--requests", type=int, default=30, help="per read, vault and round")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    figures = asyncio.run(run(args))
    print(f"\n{figures['messages']} messages in {figures['threads']} threads, SQLite")
    print(f"  {'read':28} {'on p50':>8} {'off p50':>8} {'overhead':>9} {'on p95':>8}")
    for name, f in figures["reads"].items():
        print(
            f"  {name:28} {f['on_p50_ms']:>8} {f['off_p50_ms']:>8} "
            f"{f['overhead'] * 100:>8.1f}% {f['on_p95_ms']:>8}"
        )
    fetch = figures["reads"]["thread fetch (newest 50)"]["overhead"]
    search = figures["reads"]["search"]["on_p50_ms"]
    fetch_met = "met" if fetch < FETCH_TARGET else "MISSED"
    search_met = "met" if search < SEARCH_TARGET_MS else "MISSED"
    print(
        f"\ntarget fetch overhead < {FETCH_TARGET:.0%}: {fetch_met} ({fetch:.1%}); "
        f"search p50 < {SEARCH_TARGET_MS:g} ms: {search_met} ({search} ms)"
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    sys.exit(0)


if __name__ == "__main__":
    main()
