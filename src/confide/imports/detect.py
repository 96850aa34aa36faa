"""Which export a file is, from its top level: decided when it is uploaded (a file that is
neither is refused then), and again by the job, which reads the same stored text."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from confide.imports import chatgpt, confide_format
from confide.imports.errors import InvalidImport
from confide.imports.plan import ThreadPlan

Format = Literal["chatgpt", "confide"]


@dataclass(frozen=True, slots=True)
class Parsed:
    format: Format
    items: list[Any]  # one per conversation (thread), planned one at a time by the job

    def plan(self, index: int) -> ThreadPlan:
        planner: Callable[[Any, int], ThreadPlan] = (
            chatgpt.plan_conversation if self.format == "chatgpt" else confide_format.plan_thread
        )
        return planner(self.items[index], index)


def parse(text: str) -> Parsed:
    """The file's format and conversations; InvalidImport when it is neither export."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise InvalidImport("The file is not JSON.") from exc
    return detect(data)


def detect(data: Any) -> Parsed:
    if isinstance(data, dict):
        if isinstance(data.get("mapping"), dict):  # one ChatGPT conversation on its own
            return Parsed("chatgpt", [data])
        if confide_format.is_thread(data):
            return Parsed("confide", [data])
        if data.get("format") == confide_format.ACCOUNT_EXPORT_FORMAT and isinstance(
            data.get("threads"), list
        ):
            threads = [confide_format.from_account_export(t) for t in data["threads"]]
            if not threads:
                raise InvalidImport("The account export holds no threads.")
            return Parsed("confide", threads)
        raise InvalidImport(
            "The file is neither a ChatGPT export (conversations.json) nor a Confide export."
        )
    if not isinstance(data, list):
        raise InvalidImport("The file is neither a ChatGPT nor a Confide export.")
    if not data:
        raise InvalidImport("The file holds no conversations.")
    if all(isinstance(item, dict) and isinstance(item.get("mapping"), dict) for item in data):
        return Parsed("chatgpt", data)
    if all(confide_format.is_thread(item) for item in data):
        return Parsed("confide", data)
    raise InvalidImport(
        "The list is neither ChatGPT conversations (each with a `mapping`) nor Confide threads "
        "(each with `format: confide.thread`)."
    )
