"""Stored messages to what a model is sent: roles alternate even after a run that failed."""

from __future__ import annotations

from pydantic_ai.messages import ModelRequest, ModelResponse, UserPromptPart

from confide.agents.conversation import to_model_messages, to_openai_messages


def test_user_messages_in_a_row_are_sent_as_one() -> None:
    history = [
        {"role": "user", "content": "first try"},  # its run failed before any text
        {"role": "user", "content": "second try"},
    ]
    messages = to_model_messages("be brief", history)
    assert len(messages) == 1
    (request,) = messages
    assert isinstance(request, ModelRequest)
    users = [p for p in request.parts if isinstance(p, UserPromptPart)]
    assert [p.content for p in users] == ["first try\n\nsecond try"]
    sent = to_openai_messages(messages)
    assert [m["role"] for m in sent] == ["system", "user"]


def test_an_interrupted_answer_keeps_roles_alternating() -> None:
    history = [
        {"role": "user", "content": "tell me a story"},
        {"role": "assistant", "content": "Once upon a"},  # stopped half-way
        {"role": "user", "content": "go on"},
    ]
    messages = to_model_messages(None, history)
    assert [type(m) for m in messages] == [ModelRequest, ModelResponse, ModelRequest]
    assert [m["role"] for m in to_openai_messages(messages)] == ["user", "assistant", "user"]
