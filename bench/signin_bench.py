"""How long does a sign-in take, with and without MFA? One real `confide serve` on SQLite with
the default Argon2id cost (the cost a real deployment pays; the other benchmarks use a cheap
one), accounts made through the API, then sign-ins one after the other:

- **password only:** `POST /api/auth/login` for an account without MFA;
- **password + TOTP:** `POST /api/auth/login` (the MFA challenge) then `POST
  /api/auth/mfa/verify` with the authenticator's current code, for an account with TOTP on;
  each account signs in once, so no code is spent twice.

The two kinds alternate (plain, MFA, plain, MFA ...) so a slow moment of the machine lands on
both. Run with `.venv/bin/python bench/signin_bench.py` (about 1 minute; `--sign-ins 100`).
The figures are in README.md, "Sign-in".
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pyotp
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from common import BenchError, git_commit, machine, percentile, src_changed, start_server_under_test

console = Console()
PASSWORD = "plum-orchard-velvet-42"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Sign-in latency with and without MFA.")
    parser.add_argument(
        "--sign-ins", type=int, default=60, help="sign-ins of each kind (60), one account each"
    )
    parser.add_argument("--json", type=Path, help="write the figures to this JSON file")
    args = parser.parse_args(argv)
    if args.sign_ins < 2:
        parser.error("--sign-ins must be >= 2")
    return args


def make_accounts(base: str, count: int, *, mfa: bool, progress: Progress) -> list[Any]:
    """`count` accounts (with TOTP on, when `mfa`): (email, pyotp.TOTP | None) each."""
    made: list[Any] = []
    task = progress.add_task(f"accounts {'with' if mfa else 'without'} MFA", total=count)
    with httpx.Client(base_url=base, timeout=60) as client:
        for number in range(count):
            email = f"{'mfa' if mfa else 'plain'}-{number}-{time.time_ns()}@example.org"
            created = client.post("/api/auth/register", json={"email": email, "password": PASSWORD})
            if created.status_code != 201:
                raise BenchError(f"register: {created.status_code} {created.text[:200]}")
            totp = None
            if mfa:
                tokens = client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
                headers = {"Authorization": f"Bearer {tokens.json()['access_token']}"}
                secret = client.post("/api/auth/mfa/totp", headers=headers).json()["secret"]
                totp = pyotp.TOTP(secret)
                confirmed = client.post(
                    "/api/auth/mfa/totp/confirm", json={"code": totp.now()}, headers=headers
                )
                if confirmed.status_code != 200:
                    raise BenchError(f"confirm: {confirmed.status_code} {confirmed.text[:200]}")
            made.append((email, totp))
            progress.advance(task)
    return made


def sign_in(client: httpx.Client, email: str, totp: pyotp.TOTP | None) -> float:
    """One sign-in, in seconds (both steps with MFA)."""
    started = time.perf_counter()
    answer = client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    body = answer.json()
    if answer.status_code != 200:
        raise BenchError(f"login: {answer.status_code} {answer.text[:200]}")
    if totp is not None:
        if not body.get("mfa_required"):
            raise BenchError("an MFA account signed in without its second step")
        # The enrolment spent the step it was confirmed in: the next one is inside the window.
        code = totp.at(time.time() + 30)
        verified = client.post(
            "/api/auth/mfa/verify", json={"mfa_token": body["mfa_token"], "code": code}
        )
        if verified.status_code != 200 or "access_token" not in verified.json():
            raise BenchError(f"verify: {verified.status_code} {verified.text[:200]}")
    elif "access_token" not in body:
        raise BenchError(f"login answered no tokens: {answer.text[:200]}")
    return time.perf_counter() - started


def run(args: argparse.Namespace) -> int:
    with (
        tempfile.TemporaryDirectory(prefix="confide-signin-") as tmp,
        contextlib.ExitStack() as servers,
    ):
        # The default Argon2 cost: what a sign-in costs for real. Only the budgets for people
        # (sign-ins per IP, lockouts) are raised, by common.LOAD_LIMITS.
        server = start_server_under_test(
            servers,
            key="current",
            label="working tree",
            revision=None,
            data_dir=Path(tmp) / "data",
            cpu=None,
            timeout=60,
            extra_env={"CONFIDE_UNVERIFIED_USERS": "full"},
        )
        with Progress(console=console, transient=True) as progress:
            plain = make_accounts(server.base, args.sign_ins, mfa=False, progress=progress)
            mfa = make_accounts(server.base, args.sign_ins, mfa=True, progress=progress)
            times: dict[str, list[float]] = {"password": [], "password + TOTP": []}
            task = progress.add_task("sign-ins", total=2 * args.sign_ins)
            with httpx.Client(base_url=server.base, timeout=60) as client:
                for (p_email, _), (m_email, totp) in zip(plain, mfa, strict=True):
                    times["password"].append(sign_in(client, p_email, None))
                    times["password + TOTP"].append(sign_in(client, m_email, totp))
                    progress.advance(task, 2)
    table = Table(title=f"Sign-in, {args.sign_ins} of each, one after the other")
    for column in ("kind", "p50", "p90", "p99", "mean"):
        table.add_column(column, justify="right")
    figures: dict[str, Any] = {
        "benchmark": "signin",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": git_commit(),
        "src_changed_since_commit": src_changed(),
        "machine": machine(),
        "sign_ins": args.sign_ins,
        "results": {},
    }
    for kind, values in times.items():
        ordered = sorted(values)
        row = {
            "p50_ms": round(percentile(ordered, 50) * 1000, 1),
            "p90_ms": round(percentile(ordered, 90) * 1000, 1),
            "p99_ms": round(percentile(ordered, 99) * 1000, 1),
            "mean_ms": round(statistics.mean(ordered) * 1000, 1),
        }
        figures["results"][kind] = row
        table.add_row(
            kind, *(f"{row[k]:.0f} ms" for k in ("p50_ms", "p90_ms", "p99_ms", "mean_ms"))
        )
    console.print(table)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        return run(parse_args(argv))
    except BenchError as exc:
        console.print(f"[red]{exc}[/]", highlight=False)
        return 1


if __name__ == "__main__":
    sys.exit(main())
