"""The tool-call log: both files, redaction, truncation, file mode, whole lines under load."""

from __future__ import annotations

import json
import os
import stat
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from confide.agents.tools import (
    FileToolCallLog,
    NullToolCallLog,
    ToolCallRecord,
    ToolContext,
    builtin_tools,
    tool_call_log,
)
from confide.agents.tools.log import JSONL_FILE, TEXT_FILE, redact, truncate
from confide.config import Settings

MOMENT = datetime(2026, 11, 22, 5, 43, 58, 123000, tzinfo=UTC)


def record(**overrides: Any) -> ToolCallRecord:
    values: dict[str, Any] = {
        "timestamp": MOMENT,
        "run_id": "run-1",
        "thread_id": "thread-1",
        "user_id": "user-1",
        "agent_id": "helper",
        "tool_name": "add",
        "arguments": {"a": 5, "b": 3},
        "status": "ok",
        "duration_ms": 0.123,
        "result": "8",
        "model": "scripted",
    }
    values.update(overrides)
    return ToolCallRecord(**values)


def json_lines(data_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (data_dir / JSONL_FILE).read_text("utf-8").splitlines()]


def text_lines(data_dir: Path) -> list[str]:
    return (data_dir / TEXT_FILE).read_text("utf-8").splitlines()


def test_one_line_in_each_file(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    FileToolCallLog(data_dir, result_limit=100).record(record())

    assert json_lines(data_dir) == [
        {
            "timestamp": "2026-11-22T05:43:58.123Z",
            "run_id": "run-1",
            "thread_id": "thread-1",
            "user_id": "user-1",
            "agent_id": "helper",
            "tool_name": "add",
            "server_id": None,
            "arguments": {"a": 5, "b": 3},
            "status": "ok",
            "duration_ms": 0.123,
            "result": "8",
            "result_chars": 1,
            "model": "scripted",
        }
    ]
    assert text_lines(data_dir) == [
        "2026-11-22T05:43:58Z run=run-1 thread=thread-1 user=user-1 agent=helper model=scripted "
        'tool=add server=- status=ok 0.1 ms args={"a": 5, "b": 3} -> 8'
    ]


def test_lines_are_appended(tmp_path: Path) -> None:
    log = FileToolCallLog(tmp_path, result_limit=100)
    log.record(record(tool_name="add"))
    FileToolCallLog(tmp_path, result_limit=100).record(record(tool_name="calculator"))
    assert [line["tool_name"] for line in json_lines(tmp_path)] == ["add", "calculator"]
    assert len(text_lines(tmp_path)) == 2


def test_missing_identity_is_null_and_dash(tmp_path: Path) -> None:
    entry = record(run_id=None, thread_id=None, user_id=None, agent_id=None, model=None)
    FileToolCallLog(tmp_path, result_limit=100).record(entry)
    assert json_lines(tmp_path)[0]["user_id"] is None
    assert "run=- thread=- user=- agent=- model=- tool=add" in text_lines(tmp_path)[0]


def test_secret_looking_keys_are_redacted_at_any_depth(tmp_path: Path) -> None:
    arguments = {
        "query": "weather",
        "Password": "hunter2",
        "api_key": "sk-123",
        "nested": {"AccessToken": "t", "keep": 1, "items": [{"client_secret": "s", "n": 2}]},
        "headers": [{"Authorization": "Bearer x"}, {"Cookie": "sid=1"}],
        "passwd": "p",
        "credentials": {"token": {"value": "deep"}},
    }
    FileToolCallLog(tmp_path, result_limit=100).record(record(arguments=arguments))

    assert json_lines(tmp_path)[0]["arguments"] == {
        "query": "weather",
        "Password": "[redacted]",
        "api_key": "[redacted]",
        "nested": {
            "AccessToken": "[redacted]",
            "keep": 1,
            "items": [{"client_secret": "[redacted]", "n": 2}],
        },
        "headers": [{"Authorization": "[redacted]"}, {"Cookie": "[redacted]"}],
        "passwd": "[redacted]",
        "credentials": {"token": "[redacted]"},
    }
    both = (tmp_path / JSONL_FILE).read_text("utf-8") + (tmp_path / TEXT_FILE).read_text("utf-8")
    for secret in ("hunter2", "sk-123", "Bearer x", "sid=1", "deep"):
        assert secret not in both


def test_redact_leaves_the_input_alone() -> None:
    arguments = {"token": "t", "list": [{"secret": "s"}]}
    assert redact(arguments) == {"token": "[redacted]", "list": [{"secret": "[redacted]"}]}
    assert arguments == {"token": "t", "list": [{"secret": "s"}]}


def test_long_result_and_argument_are_truncated(tmp_path: Path) -> None:
    result = "r" * 1234 + "TAIL"
    entry = record(result=result, arguments={"text": "a" * 150})
    FileToolCallLog(tmp_path, result_limit=100).record(entry)

    line = json_lines(tmp_path)[0]
    assert line["result"] == "r" * 100 + "…[truncated 1138 chars]"
    assert line["result_chars"] == 1238
    assert line["arguments"]["text"] == "a" * 100 + "…[truncated 50 chars]"
    assert text_lines(tmp_path)[0].endswith("-> " + "r" * 100 + "…[truncated 1138 chars]")


def test_truncate_keeps_short_text() -> None:
    assert truncate("abc", 3) == "abc"
    assert truncate("abcd", 3) == "abc…[truncated 1 chars]"


def test_text_line_cannot_be_split_by_what_it_logs(tmp_path: Path) -> None:
    entry = record(
        tool_name="evil\nFAKE status=ok",
        result="line one\nline two\r\u2028three",
        arguments={"q": "a\nb"},
    )
    FileToolCallLog(tmp_path, result_limit=100).record(entry)

    [line] = text_lines(tmp_path)
    assert "tool=evil\\nFAKE_status=ok" in line
    assert line.endswith("-> line one\\nline two\\r\\u2028three")
    assert json_lines(tmp_path)[0]["result"] == "line one\nline two\r\u2028three"


def test_non_finite_numbers_still_make_valid_json(tmp_path: Path) -> None:
    FileToolCallLog(tmp_path, result_limit=100).record(record(arguments={"x": float("nan")}))
    raw = (tmp_path / JSONL_FILE).read_text("utf-8")
    assert json.loads(raw, parse_constant=lambda name: pytest.fail(name))["arguments"] == {
        "x": "nan"
    }


def test_files_are_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "fresh"
    FileToolCallLog(data_dir, result_limit=100).record(record())
    for name in (JSONL_FILE, TEXT_FILE):
        assert stat.S_IMODE((data_dir / name).stat().st_mode) == 0o600
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700


def test_an_existing_wider_file_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / JSONL_FILE
    path.write_text("")
    os.chmod(path, 0o644)
    FileToolCallLog(tmp_path, result_limit=100).record(record())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_write_failure_does_not_raise(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    FileToolCallLog(blocker, result_limit=100).record(record())
    assert "could not append" in caplog.text


def test_null_log_writes_nothing(tmp_path: Path) -> None:
    NullToolCallLog().record(record())
    assert list(tmp_path.iterdir()) == []


def test_factory_follows_the_setting(tmp_path: Path) -> None:
    off = tool_call_log(Settings(data_dir=tmp_path, tool_log=False))
    assert isinstance(off, NullToolCallLog)
    off.record(record())
    assert list(tmp_path.iterdir()) == []

    on = tool_call_log(Settings(data_dir=tmp_path, tool_log=True, tool_result_log_limit=150))
    assert isinstance(on, FileToolCallLog)
    assert on.result_limit == 150
    on.record(record())
    assert len(json_lines(tmp_path)) == 1


def test_result_limit_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="positive"):
        FileToolCallLog(tmp_path, result_limit=0)


def test_concurrent_appends_give_whole_lines(tmp_path: Path) -> None:
    # Two instances stand in for two processes: they share no lock, only O_APPEND.
    logs = [FileToolCallLog(tmp_path, result_limit=5000) for _ in range(2)]
    threads_per_log, records_per_thread = 4, 50
    barrier = threading.Barrier(len(logs) * threads_per_log)

    def write(log: FileToolCallLog, worker: int) -> None:
        barrier.wait()
        for index in range(records_per_thread):
            log.record(record(run_id=f"{worker}-{index}", result=str(worker) * 4000))

    threads = [
        threading.Thread(target=write, args=(log, n * threads_per_log + i))
        for n, log in enumerate(logs)
        for i in range(threads_per_log)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    total = len(threads) * records_per_thread
    lines = json_lines(tmp_path)
    assert len(lines) == total
    assert len({line["run_id"] for line in lines}) == total
    for line in lines:
        worker = line["run_id"].split("-")[0]
        assert line["result"] == worker * 4000
    texts = text_lines(tmp_path)
    assert len(texts) == total
    assert all(line.startswith("2026-11-22T05:43:58Z run=") for line in texts)


async def test_record_from_an_executed_call(tmp_path: Path) -> None:
    context = ToolContext(run_id="r", thread_id="t", user_id="u", agent_id="a", model="m")
    outcome = await builtin_tools().execute(
        "add", '{"a": 5, "b": 3, "token": "x"}', context=context, timeout_seconds=5
    )
    FileToolCallLog(tmp_path, result_limit=100).record(
        ToolCallRecord.from_outcome("add", outcome, context=context)
    )

    [line] = json_lines(tmp_path)
    assert line["status"] == "invalid_arguments"
    assert line["arguments"] == {"a": 5, "b": 3, "token": "[redacted]"}
    assert (line["run_id"], line["thread_id"], line["user_id"]) == ("r", "t", "u")
    assert (line["agent_id"], line["model"]) == ("a", "m")
    assert line["result"].startswith("Error: invalid arguments: token: Extra inputs")
    assert datetime.fromisoformat(line["timestamp"]).tzinfo is not None
