"""Branches on a long thread: how fast is a page of one path of a big tree?

One thread of --messages messages (5,000) with --branches branches (200), seeded through
`MessageLog.append` (encrypted, indexed for search, numbered: the one path messages take):
a main conversation of tool-using turns (user, assistant calling `add`, tool result, answer),
and every so often an edited question with a short conversation of its own beside the
original. Then, through httpx's ASGITransport (the whole request path: auth, access check,
audit, decryption), in alternating rounds:

- newest 50 of the active path: `GET /api/threads/{id}/messages?order=desc&limit=50`
  (what the chat shows first; target p50 under 20 ms, issue 14);
- newest 50 of another path: the same with `?path=<an early branch's message>`;
- the next page up: the same with the first page's `cursor`;
- switching paths: `PUT /api/threads/{id}/active` to a branch and back.

    .venv/bin/python bench/branches_bench.py
    .venv/bin/python bench/branches_bench.py --postgres postgresql+asyncpg://postgres@127.0.0.1/bench
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
import uuid
from pathlib import Path
from typing import Any

import httpx

from confide.app import create_app
from confide.crypto.keystore import load_key_ring
from confide.db.migrate import upgrade
from confide.threads import paths
from confide.threads.service import MessageLog, NewMessage
from search_bench import empty_postgres, percentile, settings_for, signed_up

TARGET_MS = 20.0
SEED = 14


def _turn(rng: random.Random, n: int) -> list[NewMessage]:
    a, b = rng.randint(1, 999), rng.randint(1, 999)
    call_id = f"call_{n}"
    words = " ".join(rng.choice(("alpha", "beta", "gamma", "delta", "sigma")) for _ in range(40))
    return [
        NewMessage(role="user", content=f"add {a} and {b}, then tell me about {words}"),
        NewMessage(
            role="assistant",
            tool_calls=[
                {
                    "id": call_id,
                    "type": "function",
                    "function": {"name": "add", "arguments": json.dumps({"a": a, "b": b})},
                }
            ],
        ),
        NewMessage(role="tool", content=str(a + b), tool_call_id=call_id, name="add"),
        NewMessage(role="assistant", content=f"{a} + {b} = {a + b}. About {words}: " * 3),
    ]


async def seed(
    app: Any, user_id: uuid.UUID, thread_id: uuid.UUID, args: argparse.Namespace
) -> dict[str, Any]:
    """The tree: its main leaf, a middle branch's leaf, counts."""
    rng = random.Random(SEED)
    log = MessageLog(app.state.vault)
    branch_turns = 2  # each branch: an edited question and one more turn (8 messages)
    main_messages = args.messages - args.branches * 4 * branch_turns
    main_turns = main_messages // 4
    every = max(main_turns // args.branches, 1)
    made = branches = 0
    main_tail: uuid.UUID | None = None
    branch_leaves: list[uuid.UUID] = []
    async with app.state.database.begin() as conn:
        for n in range(main_turns):
            questions_parent = main_tail
            stored = await log.append(
                conn,
                owner_id=user_id,
                thread_id=thread_id,
                messages=_turn(rng, n),
                run_id=None,
                parent_id=main_tail,
                activate=True,
            )
            assert stored
            main_tail = stored[-1].id
            made += len(stored)
            if n % every == every - 1 and branches < args.branches:
                # An edited version of this turn's question, with a conversation of its own.
                tail = questions_parent
                for k in range(branch_turns):
                    side = await log.append(
                        conn,
                        owner_id=user_id,
                        thread_id=thread_id,
                        messages=_turn(rng, 100_000 + branches * 10 + k),
                        run_id=None,
                        parent_id=tail,
                        branching=k == 0,
                    )
                    assert side
                    tail = side[-1].id
                    made += len(side)
                branches += 1
                assert tail is not None
                branch_leaves.append(tail)
        await paths.set_active(conn, thread_id=thread_id, leaf_id=main_tail)
    # Another path: a branch from the middle of the main conversation, as deep as it is.
    middle = branch_leaves[len(branch_leaves) // 2]
    return {
        "main_leaf": main_tail,
        "branch_leaf": middle,
        "messages": made,
        "branches": branches,
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="confide-branches-bench-") as tmp:
        settings = settings_for(Path(tmp) / "data", args.postgres)
        if args.postgres:
            await empty_postgres(args.postgres)
        await upgrade(settings.effective_database_url, key_ring=load_key_ring(settings))
        app = create_app(settings)
        transport = httpx.ASGITransport(app=app)
        try:
            async with httpx.AsyncClient(
                transport=transport, base_url="http://testserver"
            ) as client:
                user_id, headers = await signed_up(client)
                created = await client.post("/api/threads", json={}, headers=headers)
                thread_id = uuid.UUID(created.json()["id"])
                started = time.perf_counter()
                tree = await seed(app, user_id, thread_id, args)
                seeded = time.perf_counter() - started
                print(
                    f"seeded {tree['messages']:,} messages, {tree['branches']} branches "
                    f"in {seeded:.1f} s",
                    file=sys.stderr,
                )
                if args.postgres:
                    async with app.state.database.connect() as conn:
                        await conn.exec_driver_sql("ANALYZE")
                base = f"/api/threads/{thread_id}/messages"
                first = await client.get(
                    base, params={"order": "desc", "limit": 50}, headers=headers
                )
                first.raise_for_status()
                cursor = first.json()["next_cursor"]
                kinds: dict[str, tuple[str, str, dict[str, Any]]] = {
                    "newest 50 of the active path": ("GET", base, {"order": "desc", "limit": 50}),
                    "newest 50 of another path": (
                        "GET",
                        base,
                        {"order": "desc", "limit": 50, "path": str(tree["branch_leaf"])},
                    ),
                    "the next 50 up (cursor)": (
                        "GET",
                        base,
                        {"order": "desc", "limit": 50, "cursor": cursor},
                    ),
                }
                times: dict[str, list[float]] = {name: [] for name in [*kinds, "switch path"]}
                for _ in range(args.rounds):
                    for name, (_, url, params) in kinds.items():
                        for _ in range(args.requests):
                            gc.disable()
                            began = time.perf_counter()
                            response = await client.get(url, params=params, headers=headers)
                            times[name].append((time.perf_counter() - began) * 1000)
                            gc.enable()
                            assert response.status_code == 200, response.text
                            assert len(response.json()["items"]) == 50
                    for target in (tree["branch_leaf"], tree["main_leaf"]):
                        began = time.perf_counter()
                        switched = await client.put(
                            f"/api/threads/{thread_id}/active",
                            json={"leaf_id": str(target)},
                            headers=headers,
                        )
                        times["switch path"].append((time.perf_counter() - began) * 1000)
                        assert switched.status_code == 200, switched.text
        finally:
            await app.state.database.dispose()
    figures = {
        name: {
            "p50_ms": round(percentile(values, 0.5), 2),
            "p99_ms": round(percentile(values, 0.99), 2),
            "n": len(values),
        }
        for name, values in times.items()
    }
    return {
        "database": "postgresql" if args.postgres else "sqlite",
        "messages": tree["messages"],
        "branches": tree["branches"],
        "figures": figures,
        "target_met": figures["newest 50 of the active path"]["p50_ms"] < TARGET_MS,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--branches", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=40, help="requests per kind per round")
    parser.add_argument("--postgres", help="a PostgreSQL database URL to use (emptied first)")
    parser.add_argument("--json", type=Path, help="write the figures to this JSON file")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    for name, figure in result["figures"].items():
        print(f"{name:32} p50 {figure['p50_ms']:7.2f} ms   p99 {figure['p99_ms']:7.2f} ms")
    verdict = "met" if result["target_met"] else "MISSED"
    print(f"target: newest 50 of the active path p50 under {TARGET_MS:g} ms: {verdict}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
