"""Rows written straight into a running server's SQLite file (WAL mode allows it), shaped like
the rows the API makes: the chat benchmark's threads and messages, which through the API would
cost milliseconds each and tens of thousands of which may be needed.

Only columns every schema revision since 0003 has are written (no `messages.interrupted`, no
`runs.error_detail`: both have defaults), so the same seeding serves a --baseline server.
"""

from __future__ import annotations

import hashlib
import json
import random
import sqlite3
import uuid
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

from common import BenchError

# How SQLAlchemy's DateTime stores a value on SQLite (naive UTC, see confide.db.base).
SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S.%f"
# What both revisions store as the scripted model's name in `runs.model` (only a label).
SCRIPTED_MODEL = "confide-scripted"
TURN_SHAPE = ("user", "assistant", "tool", "assistant")  # a tool-using turn's messages


def sqlite_time(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).strftime(SQLITE_DATETIME)


def check_storage(database: Path, thread_id: str, owner: uuid.UUID) -> str:
    """The row the API made for `thread_id` is stored as the seeding below writes rows (ids as
    32 hex digits, naive UTC datetimes as text), so seeded rows read back like real ones.
    Returns its agent id (the default agent's)."""
    with closing(sqlite3.connect(database, timeout=30)) as db:
        row = db.execute(
            "SELECT owner_id, agent_id, created_at, message_count FROM threads WHERE id = ?",
            (uuid.UUID(thread_id).hex,),
        ).fetchone()
    if row is None or row[0] != owner.hex or row[3] != 0:
        raise BenchError(f"{database}: thread {thread_id} is not stored as expected ({row!r})")
    try:
        datetime.strptime(row[2], SQLITE_DATETIME)
    except (TypeError, ValueError) as exc:
        raise BenchError(f"{database}: unexpected datetime format {row[2]!r}") from exc
    agent_id: str = row[1]
    return agent_id


def seed_threads(
    database: Path,
    owner: uuid.UUID,
    agent_id: str,
    count: int,
    *,
    newest: datetime,
    titled: bool,
) -> list[str]:
    """`count` threads of `owner`, one millisecond apart in activity, from `newest` back.
    Titled ones look used (a title, two messages counted though none stored: the listing reads
    neither table); untitled ones are as POST /api/threads makes them. Returns their ids."""
    rows = []
    for number in range(count):
        moment = sqlite_time(newest - timedelta(milliseconds=number))
        title = f"Seeded thread {count - number}" if titled else None
        rows.append((uuid.uuid4(), owner.hex, agent_id, title, moment, moment, 2 if titled else 0))
    with closing(sqlite3.connect(database, timeout=30)) as db, db:
        db.executemany(
            "INSERT INTO threads (id, owner_id, agent_id, title, created_at, last_activity_at,"
            " message_count) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(row[0].hex, *row[1:]) for row in rows],
        )
    return [str(row[0]) for row in rows]


def seed_messages(database: Path, thread_id: str, count: int) -> None:
    """`count` messages (seq 1..count, user and assistant in turn) in an existing empty thread,
    and its message count to match."""
    thread = uuid.UUID(thread_id).hex
    first = datetime.now(UTC) - timedelta(hours=2)
    filler = (
        "Could you go over the figures once more and tell me which of them still look off to "
        "you, and why? I would like to understand the reasoning, not only the result."
    )
    rows = []
    for seq in range(1, count + 1):
        role = "user" if seq % 2 else "assistant"
        content = f"Message {seq}. {filler}"
        moment = sqlite_time(first + timedelta(milliseconds=seq))
        rows.append((uuid.uuid4().hex, thread, seq, role, content, moment))
    with closing(sqlite3.connect(database, timeout=30)) as db, db:
        db.executemany(
            "INSERT INTO messages (id, thread_id, seq, role, content, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )
        db.execute(
            "UPDATE threads SET message_count = ?, title = ? WHERE id = ?",
            (count, "Seeded long thread", thread),
        )


# Conversations: tool-using turns, as a real thread holds them ----------------------------------

# Sentences to pad messages to a realistic length; each is at most 100 characters, so `prose`
# lands inside its bounds.
_ASIDES = (
    "I am putting together the quarterly budget and want to be sure the totals hold up.",
    "This is for the spreadsheet I showed you last week, the one with the travel costs.",
    "My colleague got a different figure, so I would like a second opinion on it.",
    "Please keep it short; I only need the number and a word on how you got it.",
    "I will paste the result into the report, so exact figures matter more than rounding.",
    "No rush, but I do have a meeting about this later this afternoon.",
    "If anything looks odd about the question itself, tell me that as well.",
)
_EXPLANATIONS = (
    "I worked this out with the tool rather than in my head, so the figure is exact.",
    "If the inputs come from the spreadsheet, it is worth checking they were copied over as is.",
    "Rounding only at the end, not at each step, keeps the total from drifting.",
    "Should the figures change, send me the new ones and I will run the calculation again.",
    "For a report, I would quote the exact value and mention any rounding in a footnote.",
    "A quick sanity check: the result is in the range you would expect from the inputs.",
    "Let me know if you want the same calculation for the other quarters too.",
    "I can also break the total down by category if that helps the discussion.",
)
_ZONES = (  # (IANA name, UTC offset in hours, abbreviation): fixed, as in winter
    ("Asia/Tokyo", 9, "JST"),
    ("Europe/Paris", 1, "CET"),
    ("America/New_York", -5, "EST"),
    ("Australia/Sydney", 11, "AEDT"),
)


def prose(rng: random.Random, first: str, pool: tuple[str, ...], low: int, high: int) -> str:
    """`first` and sentences from `pool` until a length drawn from [low, high] is reached.
    With `first` and every sentence at most 100 characters and high - low >= 150, the result
    is never shorter than `low` nor longer than `high`."""
    target, parts = rng.randint(low, high), [first]
    size = len(first)
    while size < target:
        sentence = rng.choice(pool)
        if size + 1 + len(sentence) > high:
            break
        parts.append(sentence)
        size += 1 + len(sentence)
    return " ".join(parts)


class ToolTurn(NamedTuple):
    request: str  # what the user asks
    tool: str
    arguments: dict[str, object]
    result: str  # the tool message's content, as the tool returns it
    answer: str  # the first sentence of the assistant's answer


def tool_turn(rng: random.Random, number: int, asked_at: datetime) -> ToolTurn:
    """Turn `number`: a sum, an expression or the time somewhere, in turn."""
    kind = number % 3
    if kind == 0:
        a, b = rng.randint(10, 99_999), rng.randint(10, 99_999)
        total = str(a + b)
        return ToolTurn(
            f"Could you add {a} and {b} for me?",
            "add",
            {"a": a, "b": b},
            total,
            f"{a} + {b} = {total}.",
        )
    if kind == 1:
        a, b, c = rng.randint(2, 999), rng.randint(2, 999), rng.randint(2, 99)
        expression, value = f"({a} + {b}) * {c}", str((a + b) * c)
        return ToolTurn(
            f"What is {expression}? I keep getting a different answer on paper.",
            "calculator",
            {"expression": expression},
            value,
            f"{expression} = {value}.",
        )
    zone, offset, abbreviation = rng.choice(_ZONES)
    local = asked_at.astimezone(UTC) + timedelta(hours=offset)
    place = zone.split("/")[-1].replace("_", " ")
    display = f"{local:%H:%M} ({local:%A} {local.day} {local:%B %Y})"
    result = json.dumps(
        {
            "timezone": zone,
            "iso": f"{local:%Y-%m-%dT%H:%M:%S}{offset:+03d}:00",
            "display": display,
            "utc_offset": f"{offset:+03d}:00",
            "abbreviation": abbreviation,
        }
    )
    return ToolTurn(
        f"What time is it in {place} right now? I need to call a supplier there.",
        "current_time",
        {"timezone": zone},
        result,
        f"It is {display} in {place}.",
    )


def seed_conversations(
    database: Path, thread_ids: list[str], owner: uuid.UUID, agent_id: str, messages: int
) -> None:
    """`messages` messages (a multiple of 4) in each of the existing empty threads: tool-using
    turns of user, assistant with a tool call (OpenAI format), tool result and assistant answer,
    one completed run each, as `POST /api/threads/{id}/messages` stores them. Requests are 150 to
    300 characters, answers 300 to 800; the turns are two minutes apart, ending about an hour
    ago. The same content for the same arguments (a fixed random seed), so servers compared in
    one run get the same threads."""
    if messages < len(TURN_SHAPE) or messages % len(TURN_SHAPE):
        raise ValueError(f"{messages} messages: not whole turns of {len(TURN_SHAPE)}")
    turns = messages // len(TURN_SHAPE)
    rng = random.Random(1000)
    first = datetime.now(UTC) - timedelta(hours=1, minutes=2 * turns)
    message_rows: list[tuple[object, ...]] = []
    run_rows: list[tuple[object, ...]] = []
    thread_rows: list[tuple[object, ...]] = []
    for thread_id in thread_ids:
        thread, title = uuid.UUID(thread_id).hex, ""
        for number in range(1, turns + 1):
            asked = first + timedelta(minutes=2 * number)
            turn = tool_turn(rng, number, asked)
            title = title or turn.request  # the first request titles the thread
            seed = json.dumps([number, turn.tool, turn.arguments], sort_keys=True)
            call_id = f"call_{number}_{hashlib.sha256(seed.encode()).hexdigest()[:8]}"
            arguments = json.dumps(turn.arguments, separators=(",", ":"))
            call = {
                "id": call_id,
                "type": "function",
                "function": {"name": turn.tool, "arguments": arguments},
            }
            run_id, seq = uuid.uuid4().hex, (number - 1) * len(TURN_SHAPE)
            at = [sqlite_time(asked + timedelta(milliseconds=ms)) for ms in (0, 900, 905, 1800)]
            rows = (  # role, content, tool_calls, tool_call_id, name
                ("user", prose(rng, turn.request, _ASIDES, 150, 300), None, None, None),
                ("assistant", None, json.dumps([call], separators=(",", ":")), None, None),
                ("tool", turn.result, None, call_id, turn.tool),
                ("assistant", prose(rng, turn.answer, _EXPLANATIONS, 300, 800), None, None, None),
            )
            message_rows += [
                (uuid.uuid4().hex, thread, seq + n, *row, run_id, at[n - 1])
                for n, row in enumerate(rows, start=1)
            ]
            run_rows.append(
                (run_id, thread, owner.hex, agent_id, SCRIPTED_MODEL, "completed", at[0], at[-1])
            )
        created = sqlite_time(first - timedelta(minutes=1))
        thread_rows.append((turns * len(TURN_SHAPE), title, created, at[-1], thread))
    with closing(sqlite3.connect(database, timeout=30)) as db, db:
        db.executemany(
            "INSERT INTO runs (id, thread_id, user_id, agent_id, model, status, created_at,"
            " finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            run_rows,
        )
        db.executemany(
            "INSERT INTO messages (id, thread_id, seq, role, content, tool_calls, tool_call_id,"
            " name, run_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            message_rows,
        )
        db.executemany(
            "UPDATE threads SET message_count = ?, title = ?, created_at = ?,"
            " last_activity_at = ? WHERE id = ?",
            thread_rows,
        )
