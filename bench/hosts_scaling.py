"""Does chat throughput grow with `confide serve` processes until the cores are full?

`bench/hosts_bench.py` measures 1, 2 and 4 serve processes one configuration after the other,
minutes apart, on a machine whose speed drifts by 20-60 % over minutes: its rows disagree from
one run to the next (117 against 202 turns/s for the same code). This benchmark removes the
drift from the comparison instead of hoping it away. Every cluster is started first (a fresh
PostgreSQL database, a private redis-server and N `python -m confide serve` processes each),
then the measured rounds alternate: round 1 measures 1, 2, 4 serves, round 2 measures 2, 4, 1,
and so on, each configuration a short warm-up and one window per client count. A slow minute
of the machine then lands on every configuration alike, and the medians over the rounds are
compared.

With `--sqlite`, one serve process on SQLite (no Redis) joins the alternation, and the target
"one process on PostgreSQL + Redis keeps at least 80 % of one on SQLite" is judged on the
ratio of each round's pair, measured a minute apart at most (`hosts_bench.py` measures the two
configurations minutes apart and judges its best rounds).

Run with `.venv/bin/python bench/hosts_scaling.py` (about 7 minutes; `--quick`: about 2).
The figures are in README.md, "Chat on many hosts"; bench/README.md says how to read them.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.table import Table

from common import BenchError, git_commit, machine, src_changed, uvloop_factory
from hosts_bench import Display, Plan, Runner, console, raise_fd_limit, uninterrupted
from hosts_cluster import DEFAULT_POSTGRES, Cluster, Layout
from hosts_load import Measured, sign_up

# A step to more processes "grows" when the median throughput rises by at least this much.
GROWS_BY = 1.05
# The cores count as full from this share of the machine busy (the load generator included).
FULL_CORES_SHARE = 0.92
# One process on PostgreSQL + Redis keeps at least this share of one on SQLite (issue 9).
TARGET_PG_OVER_SQLITE = 0.80
SQLITE = 0  # the baseline's key among the series (0 serves on PostgreSQL)


@dataclass
class Series:
    """One configuration's measured windows, per client count."""

    serves: int  # on PostgreSQL + Redis; SQLITE (0) for the baseline of one serve on SQLite
    rounds: dict[int, list[Measured]] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return "1 (SQLite)" if self.serves == SQLITE else str(self.serves)

    def cpu_ms(self, clients: int) -> float | None:
        """Median CPU of the serve processes per turn."""
        values = [
            v for m in self.rounds.get(clients, []) if (v := m.server_cpu_ms_per_turn()) is not None
        ]
        return statistics.median(values) if values else None

    def rates(self, clients: int) -> list[float]:
        return [m.rate for m in self.rounds.get(clients, [])]

    def median_rate(self, clients: int) -> float:
        return statistics.median(self.rates(clients))

    def median_busy(self, clients: int) -> float | None:
        """Median cores busy on the whole machine during the windows."""
        values = [
            m.cpu["machine_busy_share"] * m.cpu["cpus"]
            for m in self.rounds.get(clients, [])
            if "machine_busy_share" in m.cpu
        ]
        return statistics.median(values) if values else None

    def median_p50_ms(self, clients: int) -> float:
        return statistics.median(m.ms(50) for m in self.rounds.get(clients, []))

    def errors(self, clients: int) -> int:
        return sum(m.error_count for m in self.rounds.get(clients, []))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Chat turns/s with 1, 2 and 4 `confide serve` processes on PostgreSQL + "
        "Redis, every cluster running at once and the rounds alternating between them."
    )
    parser.add_argument("--quick", action="store_true", help="about 2 minutes instead of 7")
    parser.add_argument(
        "--serves", type=int, nargs="+", default=[1, 2, 4], help="serve processes (1 2 4)"
    )
    parser.add_argument(
        "--clients", type=int, nargs="+", default=[32, 128], help="concurrent clients (32 128)"
    )
    parser.add_argument(
        "--sqlite",
        action="store_true",
        help="also one serve on SQLite in the alternation, and the PostgreSQL + Redis / "
        "SQLite ratio of each round",
    )
    parser.add_argument("--rounds", type=int, help="rounds over every configuration (5; quick 2)")
    parser.add_argument("--duration", type=float, help="seconds per measured window (6; quick 3)")
    parser.add_argument("--warmup", type=float, help="warm-up seconds per window (3; quick 1.5)")
    parser.add_argument(
        "--pg-connections",
        type=int,
        default=28,
        help="PostgreSQL connections one configuration's processes may hold in all (28: the "
        "three clusters run at once, within PostgreSQL's default max_connections of 100)",
    )
    parser.add_argument(
        "--postgres",
        default=os.environ.get("CONFIDE_BENCH_POSTGRES_URL", DEFAULT_POSTGRES),
        help=f"an admin URL of the PostgreSQL server (default {DEFAULT_POSTGRES})",
    )
    parser.add_argument("--json", type=Path, help="write the figures to this JSON file")
    args = parser.parse_args(argv)
    for name, (normal, short) in {
        "rounds": (5, 2),
        "duration": (6.0, 3.0),
        "warmup": (3.0, 1.5),
    }.items():
        if getattr(args, name) is None:
            setattr(args, name, short if args.quick else normal)
    if args.rounds < 1 or args.duration <= 0 or args.warmup < 0 or min(args.serves) < 1:
        parser.error("--rounds and --serves must be >= 1, --duration > 0, --warmup >= 0")
    # What hosts_bench's Runner reads: one window per call, no extra settings, no kept logs.
    args.env, args.keep = {}, False
    return args


async def measure(
    args: argparse.Namespace, clusters: dict[int, Cluster], display: Display
) -> dict[int, Series]:
    """Sign up each cluster's users, then the alternating rounds."""
    window_args = argparse.Namespace(**{**vars(args), "rounds": 1})
    runners: dict[int, Runner] = {}
    for serves, cluster in clusters.items():
        plan = Plan(cluster.layout, clients=tuple(args.clients))
        runner = Runner(plan, cluster, window_args, display)
        with display.phase(f"Signing up {max(args.clients)} users ({cluster.layout.label})", 1):
            runner.users = await sign_up(cluster.ports, max(args.clients))
            await runner.seeder.prepare(cluster.ports[0], runner.users[0])
        runners[serves] = runner
    series = {serves: Series(serves) for serves in clusters}
    order = list(clusters)
    try:
        for number in range(args.rounds):
            shift = number % len(order)
            for serves in order[shift:] + order[:shift]:
                display.config(f"round {number + 1}/{args.rounds}: {clusters[serves].layout.label}")
                runner = runners[serves]
                for clients in args.clients:
                    await runner.tool_turns(clients)
                    measured = runner.result.phases[f"turns_{clients}"][-1]
                    if measured.first_error:
                        console.print(
                            f"  [red]{clusters[serves].layout.label}, {clients} clients: "
                            f"{measured.first_error[:300]}[/]",
                            highlight=False,
                        )
                    series[serves].rounds.setdefault(clients, []).append(measured)
    finally:
        for runner in runners.values():
            await runner.seeder.close()
            await runner.counters.close()
    return series


def verdict(series: dict[int, Series], clients: int) -> tuple[bool, list[str]]:
    """Whether every step to more processes grew, or began with the cores already full."""
    ordered = [series[s] for s in sorted(series) if s != SQLITE]
    notes, met = [], True
    for smaller, larger in itertools.pairwise(ordered):
        ratio = larger.median_rate(clients) / smaller.median_rate(clients)
        busy = smaller.median_busy(clients)
        full = busy is not None and busy >= FULL_CORES_SHARE * (os.cpu_count() or 1)
        if ratio >= GROWS_BY:
            notes.append(f"{smaller.serves}->{larger.serves}: x{ratio:.2f} (grows)")
        elif full:
            notes.append(
                f"{smaller.serves}->{larger.serves}: x{ratio:.2f}, the cores already full "
                f"({busy:.2f} busy)"
            )
        else:
            met = False
            notes.append(
                f"{smaller.serves}->{larger.serves}: x{ratio:.2f} with cores free "
                f"({busy if busy is not None else float('nan'):.2f} busy): scaling stopped"
            )
    return met, notes


def ratio(series: dict[int, Series], clients: int) -> dict[str, Any]:
    """One serve on PostgreSQL + Redis against one on SQLite: the median of each round's ratio
    (the two measured in the same round, so the machine's drift cancels out)."""
    pg, sqlite = series[1].rounds.get(clients, []), series[SQLITE].rounds.get(clients, [])
    pairs = [a.rate / b.rate for a, b in zip(pg, sqlite, strict=False) if b.rate > 0]
    value = statistics.median(pairs) if pairs else 0.0
    cpu_pg, cpu_sqlite = series[1].cpu_ms(clients), series[SQLITE].cpu_ms(clients)
    cpu = round(cpu_sqlite / cpu_pg, 2) if cpu_pg and cpu_sqlite else None
    return {
        "ratio": round(value, 3),
        "rounds": [round(r, 3) for r in pairs],
        "cpu_ratio": cpu,
        "target": TARGET_PG_OVER_SQLITE,
        "met": value >= TARGET_PG_OVER_SQLITE,
    }


def report(args: argparse.Namespace, series: dict[int, Series], seconds: float) -> dict[str, Any]:
    table = Table(title="Chat turns/s by serve processes (median of the alternating rounds)")
    columns = ("clients", "serves", "turns/s", "rounds", "p50", "serve CPU/turn", "cores busy")
    for column in (*columns, "errors"):
        table.add_column(column, justify="right")
    figures: dict[str, Any] = {
        "benchmark": "hosts_scaling",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": git_commit(),
        "src_changed_since_commit": src_changed(),
        "machine": machine(),
        "rounds": args.rounds,
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "seconds": round(seconds),
        "results": {},
        "targets": {},
    }
    for clients in args.clients:
        for serves in sorted(series):
            s = series[serves]
            rates = s.rates(clients)
            busy, cpu = s.median_busy(clients), s.cpu_ms(clients)
            table.add_row(
                str(clients),
                s.label,
                f"{s.median_rate(clients):.0f}",
                f"{min(rates):.0f}-{max(rates):.0f}",
                f"{s.median_p50_ms(clients):.0f} ms",
                "-" if cpu is None else f"{cpu:.2f} ms",
                "-" if busy is None else f"{busy:.2f}",
                str(s.errors(clients)),
            )
            name = "sqlite" if serves == SQLITE else f"{serves}_serves"
            figures["results"][f"{name}_{clients}_clients"] = {
                "turns_per_s": round(s.median_rate(clients), 1),
                "rounds_turns_per_s": [round(r, 1) for r in rates],
                "p50_ms": round(s.median_p50_ms(clients), 1),
                "serve_cpu_ms_per_turn": None if cpu is None else round(cpu, 2),
                "machine_cores_busy": None if busy is None else round(busy, 2),
                "errors": s.errors(clients),
            }
        met, notes = verdict(series, clients)
        figures["targets"][f"{clients}_clients"] = {"met": met, "steps": notes}
        if SQLITE in series and 1 in series:
            figures["targets"][f"pg_over_sqlite_{clients}_clients"] = ratio(series, clients)
    console.print(table)
    for clients in args.clients:
        pair = figures["targets"].get(f"pg_over_sqlite_{clients}_clients")
        if pair is not None:
            colour = "green" if pair["met"] else "red"
            console.print(
                f"[{colour}]{clients} clients: one serve on PostgreSQL + Redis / one on SQLite: "
                f"{pair['ratio']:.2f} (median of the rounds' pairs "
                f"{', '.join(f'{r:.2f}' for r in pair['rounds'])}; target >= "
                f"{TARGET_PG_OVER_SQLITE:.2f}: {'met' if pair['met'] else 'MISSED'}); by serve "
                f"CPU per turn {pair['cpu_ratio']}[/]",
                highlight=False,
            )
        target = figures["targets"][f"{clients}_clients"]
        colour = "green" if target["met"] else "red"
        console.print(
            f"[{colour}]{clients} clients: throughput grows with processes until the cores are "
            f"full: {'met' if target['met'] else 'MISSED'}[/]  " + "; ".join(target["steps"]),
            highlight=False,
        )
    return figures


def run(args: argparse.Namespace) -> int:
    note = raise_fd_limit(max(args.clients) * 4 + 512)
    if note:
        console.print(note, highlight=False)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="confide-scaling-") as tmp:
        root = Path(tmp)
        clusters: dict[int, Cluster] = {}
        kinds = [*([SQLITE] if args.sqlite else []), *args.serves]
        with Display(len(kinds) * len(args.clients) * args.rounds) as display:
            try:
                for serves in kinds:
                    if serves == SQLITE:
                        layout = Layout("sqlite", "1 serve · SQLite", postgres=False, redis=False)
                    else:
                        layout = Layout(
                            f"pg-redis-{serves}", f"{serves} serves · PG+Redis", serves=serves
                        )
                    budget = args.pg_connections // max(1, serves)
                    cluster = Cluster(
                        layout,
                        root=root / layout.key,
                        admin_url=args.postgres,
                        pool=(max(2, min(32, budget)), 0),
                    )
                    clusters[serves] = cluster
                    with display.phase(f"Starting {layout.label}", 1):
                        cluster.start({})
                with asyncio.Runner(loop_factory=uvloop_factory()) as loop:
                    series = loop.run(measure(args, clusters, display))
                for cluster in clusters.values():
                    cluster.check_alive()
            except BenchError as exc:
                console.print(f"[red]{exc}[/]", highlight=False)
                return 1
            finally:
                with uninterrupted():
                    for cluster in clusters.values():
                        cluster.close()
    figures = report(args, series, time.perf_counter() - started)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
        console.print(f"figures written to {args.json}", highlight=False)
    return 0 if all(t["met"] for t in figures["targets"].values()) else 2


def main(argv: list[str] | None = None) -> int:
    return run(parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
