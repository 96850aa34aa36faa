"""The scripted model's rules about attached files (files/attachments.py gives each file to
the model as a text part headed `File <name> (N lines):`).

  "how many lines does the file have"   "The file notes.txt has 3 lines."
  "summarise the file" / "summarize"    its name, size in lines and words, and first line
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_HEADER = re.compile(
    r"File (?P<name>.+?) \((?:PDF, (?P<pages>\d+) pages?, )?(?P<lines>\d+) lines?\):\n(?P<body>.*)",
    re.S,
)
_TRUNCATED = "[... truncated:"
_LINES = re.compile(r"\bhow\s+many\s+lines\b", re.I)
_SUMMARISE = re.compile(
    r"\bsummari[sz]e\s+(?:the|this|my|these|those)\s+(?:files?|documents?|pdfs?|attachments?)",
    re.I,
)
_FIRST_LINE_LIMIT = 120
NO_FILE = "I don't see a file attached to your message."


@dataclass(frozen=True, slots=True)
class AttachedText:
    name: str
    lines: int
    pages: int | None
    body: str

    @property
    def truncated(self) -> bool:
        return _TRUNCATED in self.body


def user_text(message: dict[str, Any]) -> str:
    """What the user wrote: the first text part of a message with files, or its text."""
    content = message.get("content")
    if isinstance(content, list):
        for part in content:
            if isinstance(part, dict) and part.get("type") == "text":
                return str(part.get("text") or "")
        return ""
    return content if isinstance(content, str) else ""


def attached_texts(message: dict[str, Any]) -> list[AttachedText]:
    """The files given with a message as text parts, after the user's own text."""
    content = message.get("content")
    if not isinstance(content, list):
        return []
    found = []
    for part in content[1:]:
        if not isinstance(part, dict) or part.get("type") != "text":
            continue
        header = _HEADER.match(str(part.get("text") or ""))
        if header:
            found.append(
                AttachedText(
                    name=header["name"],
                    lines=int(header["lines"]),
                    pages=int(header["pages"]) if header["pages"] else None,
                    body=header["body"],
                )
            )
    return found


def file_answer(text: str, message: dict[str, Any]) -> str | None:
    """The answer to a question about the message's files (None: not such a question)."""
    if _LINES.search(text):
        files = attached_texts(message)
        if not files:
            return NO_FILE
        return " ".join(f"The file {f.name} has {f.lines} {_lines(f.lines)}." for f in files)
    if _SUMMARISE.search(text):
        files = attached_texts(message)
        if not files:
            return NO_FILE
        return " ".join(_summary(f) for f in files)
    return None


def _summary(file: AttachedText) -> str:
    body = file.body.split("\n" + _TRUNCATED)[0]
    words = len(body.split())
    first = next((line.strip() for line in body.splitlines() if line.strip()), "")
    if len(first) > _FIRST_LINE_LIMIT:
        first = first[: _FIRST_LINE_LIMIT - 1].rstrip() + "…"
    pages = "" if file.pages is None else f"{file.pages} page{'' if file.pages == 1 else 's'}, "
    summary = f"The file {file.name} ({pages}{file.lines} {_lines(file.lines)}, {words} words)"
    summary += f' begins: "{first}".' if first else " has no text I can read."
    if file.truncated:
        summary += " I was only given its beginning."
    return summary


def _lines(count: int) -> str:
    return "line" if count == 1 else "lines"
