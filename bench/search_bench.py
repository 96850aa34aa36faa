"""GET /api/me/search over one user's 10,000 messages: p50 and p95, in process.

The app is built as `confide serve` builds it (create_app), on SQLite in a temporary data
directory, or on PostgreSQL with --postgres URL (a database the benchmark may EMPTY). One user
gets --threads threads holding --messages messages in all, written through `MessageLog.append`
(the path a run takes: sealed by the codec, indexed by search/index.py) in batches, not through
HTTP. Then each query class is asked --requests times through httpx's ASGITransport, and each
request's wall time is recorded.

`--vault on` seals everything under the user's data key (the default app); `--vault off` puts
a `PlainVault` on the app (UTF-8 stored as it is; the blind index is the same), to show what
encryption costs; `--vault both` runs each on its own fresh database.

    .venv/bin/python bench/search_bench.py
    .venv/bin/python bench/search_bench.py --vault both --messages 10000 --requests 200
    .venv/bin/python bench/search_bench.py --postgres postgresql+asyncpg://postgres@127.0.0.1/x
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from confide.app import create_app
from confide.config import Settings
from confide.crypto.keystore import load_key_ring
from confide.db.base import utcnow
from confide.db.migrate import upgrade
from confide.search.models import SearchTerm
from confide.storage.codec import PlainVault
from confide.threads.models import Thread
from confide.threads.service import MessageLog, NewMessage

PASSWORD = "plum-orchard-velvet-42"
VOCABULARY = 20_000  # distinct words; their use follows Zipf's law, as in real text
BATCH = 50  # messages per append
SEED = 12


def settings_for(data_dir: Path, database_url: str | None) -> Settings:
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "secret_key": "bench-secret-key-that-is-long-enough-for-hs256-0123456789",
        "allowed_hosts": ["testserver"],
        "log_level": "WARNING",
        "argon2_time_cost": 1,
        "argon2_memory_kib": 256,
        "argon2_parallelism": 1,
        "rate_limit_api_per_user": "1000000/minute",
        "rate_limit_login_per_ip": "1000/minute",
        "rate_limit_register_per_ip": "1000/minute",
    }
    if database_url:
        values["database_url"] = database_url
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


async def empty_postgres(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    finally:
        await engine.dispose()


async def vacuum_analyze(url: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text("VACUUM ANALYZE"))
    finally:
        await engine.dispose()


class Corpus:
    """Pseudo-words with Zipf-distributed use: word 0 is the most common."""

    def __init__(self, rng: random.Random) -> None:
        letters = "abcdefghijklmnopqrstuvwxyz"
        seen: set[str] = set()
        self.words: list[str] = []
        while len(self.words) < VOCABULARY:
            word = "".join(rng.choice(letters) for _ in range(rng.randint(3, 9)))
            if word not in seen:
                seen.add(word)
                self.words.append(word)
        self.weights = [1 / (rank + 1) for rank in range(VOCABULARY)]
        self.rng = rng

    def sentence(self, length: int) -> str:
        return " ".join(self.rng.choices(self.words, weights=self.weights, k=length)).capitalize()


async def signed_up(client: httpx.AsyncClient) -> tuple[uuid.UUID, dict[str, str]]:
    """The bench's one user, registered and signed in: its id and bearer headers."""
    body = {"email": "bench@example.org", "password": PASSWORD}
    registered = await client.post("/api/auth/register", json=body)
    registered.raise_for_status()
    tokens = (await client.post("/api/auth/login", json=body)).json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    return uuid.UUID(registered.json()["id"]), headers


async def seed(
    app: Any, user_id: uuid.UUID, corpus: Corpus, *, threads: int, messages: int
) -> None:
    database = app.state.database
    log = MessageLog(app.state.vault)
    per_thread = -(-messages // threads)
    left = messages
    async with database.begin() as conn:
        thread_ids = [uuid.uuid4() for _ in range(threads)]
        await conn.execute(
            Thread.__table__.insert(),
            [
                {
                    "id": thread_id,
                    "owner_id": user_id,
                    "agent_id": "assistant",
                    "title": None,
                    "message_count": 0,
                    "created_at": utcnow(),
                    "last_activity_at": utcnow(),
                }
                for thread_id in thread_ids
            ],
        )
    for thread_id in thread_ids:
        count = min(per_thread, left)
        left -= count
        for start in range(0, count, BATCH):
            batch = [
                NewMessage(
                    role="user" if (start + i) % 2 == 0 else "assistant",
                    content=corpus.sentence(corpus.rng.randint(8, 60)),
                )
                for i in range(min(BATCH, count - start))
            ]
            async with database.begin() as conn:
                await log.append(
                    conn, owner_id=user_id, thread_id=thread_id, messages=batch, run_id=None
                )


async def frequency_attack(app: Any, user_id: uuid.UUID, corpus: Corpus) -> dict[str, Any]:
    """What ranking the tokens by frequency gives someone with the database who knows the
    language's word frequencies exactly (here: the corpus's own ranks, the best case for
    them): of the N most frequent tokens, how many they name correctly by rank alone."""
    async with app.state.database.begin() as conn:
        codec = await app.state.vault.codec(conn, user_id)
        rows = await conn.execute(
            select(SearchTerm.token, func.count())
            .where(SearchTerm.user_id == user_id, SearchTerm.seq > 0)
            .group_by(SearchTerm.token)
        )
        frequencies = {bytes(token): int(count) for token, count in rows.all()}
    by_frequency = sorted(frequencies, key=lambda token: -frequencies[token])
    word_of = {codec.blind_token(word): word for word in corpus.words}
    found: dict[str, Any] = {"distinct_tokens": len(frequencies)}
    for top in (10, 100, 1000):
        right = sum(
            1
            for rank, token in enumerate(by_frequency[:top])
            if word_of.get(token) == corpus.words[rank]
        )
        found[f"top_{top}_named"] = f"{right}/{top}"
    return found


def query_classes(corpus: Corpus) -> dict[str, list[str]]:
    """Queries by how common their words are (rank in the vocabulary)."""
    words = corpus.words
    return {
        "rare word (rank 5000+)": words[5000:5100],
        "medium word (rank 200-300)": words[200:300],
        "common word (rank 0-10)": words[0:10],
        "two words (medium + rare)": [f"{words[200 + i]} {words[5000 + i]}" for i in range(100)],
        "three words (common, medium, rare)": [
            f"{words[i % 10]} {words[300 + i]} {words[6000 + i]}" for i in range(100)
        ],
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run(args: argparse.Namespace, vault: str) -> dict[str, Any]:
    rng = random.Random(SEED)
    corpus = Corpus(rng)
    with tempfile.TemporaryDirectory(prefix="confide-search-bench-") as tmp:
        settings = settings_for(Path(tmp) / "data", args.postgres)
        if args.postgres:
            await empty_postgres(args.postgres)
        await upgrade(settings.effective_database_url, key_ring=load_key_ring(settings))
        app = create_app(settings)
        if vault == "off":
            app.state.vault = PlainVault()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            user_id, headers = await signed_up(client)
            started = time.perf_counter()
            await seed(app, user_id, corpus, threads=args.threads, messages=args.messages)
            seeded = time.perf_counter() - started
            if args.postgres:  # as autovacuum does after a load: statistics, visibility map
                await vacuum_analyze(args.postgres)
            # As the app's start-up does: what lives as long as the process leaves the
            # collector's sight (the seeding made millions of objects).
            gc.collect()
            gc.freeze()
            async with app.state.database.connect() as conn:
                rows = (await conn.execute(select(func.count()).select_from(SearchTerm))).scalar()
            leakage = await frequency_attack(app, user_id, corpus) if args.leakage else None
            results: dict[str, Any] = {
                "vault": vault,
                "database": "postgresql" if args.postgres else "sqlite",
                "messages": args.messages,
                "threads": args.threads,
                "index_rows": rows,
                "seed_seconds": round(seeded, 1),
                "classes": {},
                "leakage": leakage,
            }
            everything: list[float] = []
            all_cpu: list[float] = []
            for name, queries in query_classes(corpus).items():
                for q in queries[:5]:  # warm-up
                    warm = await client.get("/api/me/search", params={"q": q}, headers=headers)
                    warm.raise_for_status()
                times, cpu, hits = [], [], []
                for i in range(args.requests):
                    q = queries[i % len(queries)]
                    began, began_cpu = time.perf_counter(), time.process_time()
                    response = await client.get(
                        "/api/me/search", params={"q": q, "limit": 20}, headers=headers
                    )
                    times.append((time.perf_counter() - began) * 1000)
                    cpu.append((time.process_time() - began_cpu) * 1000)
                    response.raise_for_status()
                    hits.append(len(response.json()["items"]))
                everything += times
                all_cpu += cpu
                results["classes"][name] = {
                    "p50_ms": round(percentile(times, 0.50), 2),
                    "p95_ms": round(percentile(times, 0.95), 2),
                    "cpu_p50_ms": round(percentile(cpu, 0.50), 2),
                    "mean_hits": round(statistics.mean(hits), 1),
                }
            results["all"] = {
                "p50_ms": round(percentile(everything, 0.50), 2),
                "p95_ms": round(percentile(everything, 0.95), 2),
                "cpu_p50_ms": round(percentile(all_cpu, 0.50), 2),
            }
        await app.state.database.dispose()
    return results


def show(results: dict[str, Any]) -> None:
    print(
        f"\nvault {results['vault']}, {results['database']}: {results['messages']} messages in "
        f"{results['threads']} threads, {results['index_rows']} index rows "
        f"(seeded in {results['seed_seconds']} s)"
    )
    print(f"  {'query':38} {'p50 ms':>8} {'p95 ms':>8} {'CPU p50':>8} {'hits':>6}")
    for name, f in results["classes"].items():
        print(
            f"  {name:38} {f['p50_ms']:>8} {f['p95_ms']:>8} {f['cpu_p50_ms']:>8} "
            f"{f['mean_hits']:>6}"
        )
    a = results["all"]
    print(f"  {'all':38} {a['p50_ms']:>8} {a['p95_ms']:>8} {a['cpu_p50_ms']:>8}")
    if results["leakage"]:
        leak = results["leakage"]
        print(
            f"  frequency attack ({leak['distinct_tokens']} distinct tokens): named by rank "
            + ", ".join(
                f"{k.split('_')[1]} most frequent: {v}"
                for k, v in leak.items()
                if k.startswith("top")
            )
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=100)
    parser.add_argument("--requests", type=int, default=200, help="per query class")
    parser.add_argument("--vault", choices=["on", "off", "both"], default="on")
    parser.add_argument(
        "--postgres", metavar="URL", help="an asyncpg URL to a database to EMPTY and use"
    )
    parser.add_argument(
        "--leakage", action="store_true", help="also measure a frequency attack on the tokens"
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    figures = []
    for vault in ["on", "off"] if args.vault == "both" else [args.vault]:
        results = asyncio.run(run(args, vault))
        show(results)
        figures.append(results)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    target = max(r["all"]["p50_ms"] for r in figures)
    print(f"\ntarget p50 < 50 ms: {'met' if target < 50 else 'MISSED'} (worst p50 {target} ms)")
    sys.exit(0)


if __name__ == "__main__":
    main()
