"""The scripted extraction rules and the prompt format the scripted model reads back."""

from __future__ import annotations

import pytest

from confide.agents.models.scripted import scripted_reply
from confide.memories.facts import scripted_facts
from confide.memories.prompt import memory_block, memory_line, remembered


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("My name is Zed and I live in Lisbon.", [("name", "Zed"), ("location", "Lisbon")]),
        ("Hi! Call me Ada Lovelace.", [("name", "Ada Lovelace")]),
        ("I prefer tea over coffee, thanks", [("preference", "tea over coffee")]),
        ("I work on a compiler in Rust", [("project", "a compiler in Rust")]),
        ("I'm working on Confide.", [("project", "Confide")]),
        (
            "my name is Zed, I live in New York City",
            [("name", "Zed"), ("location", "New York City")],
        ),
        ("I live in Porto. I live in Porto!", [("location", "Porto")]),
    ],
)
def test_statements_give_facts(text: str, expected: list[tuple[str, str]]) -> None:
    assert [(f.key, f.content) for f in scripted_facts(text)] == expected


@pytest.mark.parametrize(
    "text",
    ["what is my name?", "Do I live in Paris?", "my name is not important", "add 5 and 3", ""],
)
def test_questions_and_chatter_give_nothing(text: str) -> None:
    assert scripted_facts(text) == []


def test_the_prompt_block_reads_back() -> None:
    lines = [memory_line("name", "Zed"), memory_line("preference", "short\nanswers")]
    prompt = "You are an assistant." + memory_block(lines)
    assert remembered(prompt) == [("name", "Zed"), ("preference", "short answers")]
    assert memory_block([]) == ""
    assert remembered("You are an assistant.") == []


def _ask(question: str, prompt: str) -> str | None:
    reply = scripted_reply(
        [{"role": "system", "content": prompt}, {"role": "user", "content": question}], []
    )
    return reply.text


def test_the_scripted_model_answers_from_memory() -> None:
    prompt = "You are Confide's assistant, talking with Ada." + memory_block(
        [memory_line("name", "Zed"), memory_line("location", "Lisbon")]
    )
    assert _ask("What is my name?", prompt) == "Your name is Zed."
    assert _ask("where do I live?", prompt) == "You live in Lisbon."
    assert _ask("What do you remember about me?", prompt) == (
        "I remember this about you: name: Zed; location: Lisbon."
    )


def test_without_memories_it_says_so() -> None:
    prompt = "You are Confide's assistant, talking with Ada."
    assert _ask("what's my name?", prompt) == (
        "You haven't told me your name; your account calls you Ada."
    )
    assert _ask("where do I live?", prompt) == "You haven't told me where you live."
    assert _ask("what do you know about me", prompt) == "I don't remember anything about you yet."
