"""What a title request says, how its answer is cleaned, and the mock model's answer to it
(`confide mock-llm`, agents/mockllm/choice.py): kept free of heavy imports for the mock."""

from __future__ import annotations

import re

from confide.threads.service import title_from

INSTRUCTIONS = """\
You name conversations. Read the start of one, between a user and an assistant, and reply \
with a title of at most 6 words that says what it is about, in the user's language. Reply \
with the title alone: no quotes, no "Title:", no full stop."""
# The request's first line, by which the mock model knows it (and a test finds it).
MARKER = "You name conversations."
# In a user's first message: the mock model refuses the title request (and that one only).
MOCK_TITLE_FAIL = "[[title:fail]]"
USER_LABEL, ANSWER_LABEL = "User:", "Assistant:"
# Characters of the question and of the answer sent, at most: the start says enough.
EXCERPT_CHARS = 1500
MAX_WORDS = 6

_PREFIX = re.compile(r"^\s*(?:title\s*:\s*)", re.IGNORECASE)
_WRAPPING = "\"'`*_#\u201c\u201d\u2018\u2019\u00ab\u00bb\u300c\u300d "
_TRAILING = ".!?:;,。"


def title_prompt(question: str, answer: str) -> str:
    """The request's user message: the conversation's start, each side cut short."""
    return f"{USER_LABEL} {question[:EXCERPT_CHARS]}\n\n{ANSWER_LABEL} {answer[:EXCERPT_CHARS]}"


def clean_title(raw: str) -> str:
    """A model's answer as a title: its first non-empty line, without a "Title:" prefix,
    quotes or markdown around it and a full stop after it, at most TITLE_LENGTH characters
    ("" when nothing is left)."""
    line = next((part for part in raw.splitlines() if part.strip()), "")
    line = _PREFIX.sub("", line).strip(_WRAPPING).rstrip(_TRAILING).strip(_WRAPPING)
    return title_from(line) if line.strip() else ""


def mock_title(prompt: str) -> str:
    """The mock model's title: the question's first words in title case, quoted (as models
    often do, so the cleaning is exercised)."""
    question = prompt.removeprefix(USER_LABEL).split(f"\n\n{ANSWER_LABEL}", 1)[0]
    words = question.split()[:MAX_WORDS]
    return '"' + " ".join(word[:1].upper() + word[1:] for word in words) + '"'
