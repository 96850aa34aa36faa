"""What a memory is (a key and a short text) and the scripted model's extraction rules.

The rules are deterministic sentence patterns ("my name is ...", "call me ...", "I prefer
...", "I work on ...", "I live in ..."); the mock LLM answers an extraction request with them
too, so a model-backed extraction is tested on the same facts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

MemoryKey = Literal["name", "location", "preference", "project", "note"]
MEMORY_KEYS: tuple[MemoryKey, ...] = ("name", "location", "preference", "project", "note")
# A user has one of each: a new one supersedes the old. Other keys hold many facts.
SINGLE_VALUED: frozenset[str] = frozenset({"name", "location"})
MAX_CONTENT = 500
# The tool a model answers an extraction request with (memories/extraction.py); the mock LLM
# answers it with `scripted_facts` (agents/mockllm/choice.py).
MEMORY_TOOL = "save_memories"
# In a user's message, these make the mock LLM answer an extraction request with arguments
# that fit no schema, or refuse it, while the run itself answers as usual.
MOCK_GARBAGE = "[[memory:garbage]]"
MOCK_REFUSE = "[[memory:refuse]]"


@dataclass(frozen=True, slots=True)
class Fact:
    key: MemoryKey
    content: str


def normalised(text: str) -> str:
    """How two facts are compared: case and spacing ignored, end punctuation dropped."""
    return " ".join(text.split()).strip(" .!").casefold()


def clean_content(text: str) -> str:
    return " ".join(text.split()).strip(" .!,;:")[:MAX_CONTENT]


_END = r"(?=\s+(?:and|but|so|because)\s+(?:i|my|i'm|call)\b|[,;:.!?\n]|$)"
_NAME = r"(?P<value>[^\W\d_][\w'\u2019-]*(?:\s+[^\W\d_][\w'\u2019-]*){0,3}?)"
_PHRASE = r"(?P<value>[^,;:.!?\n]{1,200}?)"
_RULES: tuple[tuple[MemoryKey, re.Pattern[str]], ...] = (
    ("name", re.compile(rf"\bmy\s+name\s+is\s+{_NAME}{_END}", re.I)),
    ("name", re.compile(rf"\bcall\s+me\s+{_NAME}{_END}", re.I)),
    ("location", re.compile(rf"\bi\s+live\s+in\s+{_PHRASE}{_END}", re.I)),
    ("preference", re.compile(rf"\bi\s+prefer\s+{_PHRASE}{_END}", re.I)),
    ("project", re.compile(rf"\bi(?:'m|\s+am)?\s+work(?:ing)?\s+on\s+{_PHRASE}{_END}", re.I)),
)
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")
_NOT_A_NAME = frozenset({"not", "no", "never", "what", "who", "whatever"})


def scripted_facts(text: str) -> list[Fact]:
    """The facts the scripted rules find in a user's message, in order, without repeats.
    Questions are skipped ("do I live in Paris?" states nothing)."""
    found: list[Fact] = []
    seen: set[tuple[str, str]] = set()
    for sentence in _SENTENCE.findall(text):
        if sentence.rstrip().endswith("?"):
            continue
        hits: list[tuple[int, Fact]] = []
        for key, pattern in _RULES:
            for match in pattern.finditer(sentence):
                value = clean_content(match.group("value"))
                if not value or (key == "name" and value.split()[0].lower() in _NOT_A_NAME):
                    continue
                hits.append((match.start(), Fact(key=key, content=value)))
        for _, fact in sorted(hits, key=lambda hit: hit[0]):
            marker = (fact.key, normalised(fact.content))
            if marker not in seen:
                seen.add(marker)
                found.append(fact)
    return found
