"""The scripted model: what it calls, what it says, and that it always says the same."""

from __future__ import annotations

import json
from typing import Any

import pytest

from confide.agents.models.scripted import ScriptedReply, scripted_reply, stream_chunks

TOOLS = {"add", "calculator", "current_time"}


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def answered(messages: list[dict[str, Any]], reply: ScriptedReply, *results: str) -> None:
    """Append the assistant turn with `reply`'s calls and one tool message per result."""
    messages.append(
        {
            "role": "assistant",
            "content": reply.text,
            "tool_calls": [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
                }
                for call in reply.tool_calls
            ],
        }
    )
    for call, result in zip(reply.tool_calls, results, strict=True):
        messages.append({"role": "tool", "tool_call_id": call.id, "content": result})


# Tool calls ------------------------------------------------------------------------------------


def test_add_makes_one_add_call_then_answers_with_the_result() -> None:
    messages = [user("add 5 and 3")]
    reply = scripted_reply(messages, TOOLS)
    assert reply.text is None
    assert [(c.name, c.arguments) for c in reply.tool_calls] == [("add", {"a": 5, "b": 3})]

    answered(messages, reply, "8")
    final = scripted_reply(messages, TOOLS)
    assert final.tool_calls == []
    assert final.text == "5 + 3 = 8."


@pytest.mark.parametrize(
    ("message", "a", "b"),
    [
        ("what is 5 plus 3?", 5, 3),
        ("5 + 3", 5, 3),
        ("What's the sum of 2 and 7", 2, 7),
        ("please add 2.5 and -1", 2.5, -1),
        ("what is -2 + 5", -2, 5),
        ("Add 10 to 32.", 10, 32),
    ],
)
def test_arithmetic_phrasings_call_add(message: str, a: float, b: float) -> None:
    reply = scripted_reply([user(message)], TOOLS)
    assert [(c.name, c.arguments) for c in reply.tool_calls] == [("add", {"a": a, "b": b})]


def test_add_falls_back_to_the_calculator_when_add_is_missing() -> None:
    reply = scripted_reply([user("add 5 and 3")], {"calculator"})
    assert [(c.name, c.arguments) for c in reply.tool_calls] == [
        ("calculator", {"expression": "5 + 3"})
    ]


@pytest.mark.parametrize(
    ("message", "expression"),
    [
        ("calculate (2+3)*4", "(2+3)*4"),
        ("compute 5+3", "5+3"),
        ("what is 6 times 7?", "6 * 7"),
        ("what is 10 / 4", "10 / 4"),
        ("12 - 5", "12 - 5"),
        ("what is 2^10", "2**10"),
    ],
)
def test_expressions_call_the_calculator(message: str, expression: str) -> None:
    reply = scripted_reply([user(message)], TOOLS)
    assert [(c.name, c.arguments) for c in reply.tool_calls] == [
        ("calculator", {"expression": expression})
    ]


def test_calculator_result_and_error_are_said_plainly() -> None:
    messages = [user("calculate (2+3)*4")]
    answered(messages, scripted_reply(messages, TOOLS), "20")
    assert scripted_reply(messages, TOOLS).text == "(2+3)*4 = 20."

    messages = [user("calculate 1/0")]
    answered(messages, scripted_reply(messages, TOOLS), "Error: division by zero")
    assert scripted_reply(messages, TOOLS).text == "I couldn't do that: division by zero."


@pytest.mark.parametrize(
    ("message", "zone"),
    [
        ("what time is it in Tokyo", "Asia/Tokyo"),
        ("What's the time in london?", "Europe/London"),
        ("time in New York", "America/New_York"),
        ("tell me the time in San Francisco please", "America/Los_Angeles"),
        ("what time is it in Europe/Madrid", "Europe/Madrid"),
        ("current time", "UTC"),
        ("What time is it?", "UTC"),
    ],
)
def test_time_questions_call_current_time(message: str, zone: str) -> None:
    reply = scripted_reply([user(message)], TOOLS)
    assert [(c.name, c.arguments) for c in reply.tool_calls] == [
        ("current_time", {"timezone": zone})
    ]


@pytest.mark.parametrize(
    "result",
    [
        json.dumps({"timezone": "Asia/Tokyo", "iso": "2025-06-03T14:05:09+09:00", "display": "x"}),
        "2025-06-03T14:05:09+09:00",
        "Tuesday 14:05 JST",
    ],
)
def test_time_answer_reads_json_or_plain_results(result: str) -> None:
    messages = [user("what time is it in Tokyo")]
    answered(messages, scripted_reply(messages, TOOLS), result)
    assert scripted_reply(messages, TOOLS).text == "It is 14:05 in Tokyo (Asia/Tokyo)."


def test_two_requests_make_two_calls_in_one_turn_and_one_answer() -> None:
    messages = [user("add 5 and 3 and tell me the time in Tokyo")]
    reply = scripted_reply(messages, TOOLS)
    assert reply.text is None
    assert [(c.name, c.arguments) for c in reply.tool_calls] == [
        ("add", {"a": 5, "b": 3}),
        ("current_time", {"timezone": "Asia/Tokyo"}),
    ]
    assert len({c.id for c in reply.tool_calls}) == 2

    answered(messages, reply, "8", '{"timezone": "Asia/Tokyo", "iso": "2025-06-03T14:05:00+09:00"}')
    assert scripted_reply(messages, TOOLS).text == "5 + 3 = 8. It is 14:05 in Tokyo (Asia/Tokyo)."


@pytest.mark.parametrize(
    ("message", "names"),
    [
        ("what time is it in Paris, then add 1 and 2", ["current_time", "add"]),
        ("calculate 2*3, add 1 and 1", ["calculator", "add"]),
        ("time in Sydney and what is 2*3 and add 1 and 1", ["current_time", "calculator", "add"]),
    ],
)
def test_requests_are_called_in_order_of_appearance(message: str, names: list[str]) -> None:
    assert [c.name for c in scripted_reply([user(message)], TOOLS).tool_calls] == names


def test_results_are_matched_by_call_id_not_by_order() -> None:
    messages = [user("add 5 and 3 and add 1 and 1")]
    reply = scripted_reply(messages, TOOLS)
    answered(messages, reply, "8", "2")
    messages[-2:] = reversed(messages[-2:])
    assert scripted_reply(messages, TOOLS).text == "5 + 3 = 8. 1 + 1 = 2."


def test_ids_stay_unique_across_a_conversation() -> None:
    messages = [user("add 5 and 3")]
    first = scripted_reply(messages, TOOLS)
    answered(messages, first, "8")
    messages.append({"role": "assistant", "content": scripted_reply(messages, TOOLS).text})
    messages.append(user("add 5 and 3 and add 5 and 3"))
    second = scripted_reply(messages, TOOLS)

    ids = [c.id for c in first.tool_calls + second.tool_calls]
    assert len(ids) == 3
    assert len(set(ids)) == 3
    assert all(i.startswith("call_") for i in ids)


def test_ids_avoid_ones_another_model_already_used() -> None:
    messages = [user("add 5 and 3")]
    ours = scripted_reply(messages, TOOLS).tool_calls[0].id
    foreign = [
        user("earlier"),
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": ours, "type": "function", "function": {"name": "x", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": ours, "content": "done"},
        {"role": "assistant", "content": "ok"},
    ]
    again = scripted_reply([*foreign, *messages], TOOLS).tool_calls[0].id
    assert again != ours


# Without the tools ----------------------------------------------------------------------------


def test_a_missing_tool_is_explained_in_text() -> None:
    reply = scripted_reply([user("what time is it in Tokyo")], {"add"})
    assert reply.tool_calls == []
    assert reply.text is not None
    assert "current_time tool isn't available to this agent" in reply.text

    reply = scripted_reply([user("add 5 and 3")], set())
    assert reply.tool_calls == []
    assert reply.text is not None
    assert "add tool isn't available" in reply.text


def test_a_partly_available_request_calls_what_it_can_and_explains_the_rest() -> None:
    messages = [user("add 5 and 3 and tell me the time in Tokyo")]
    reply = scripted_reply(messages, {"add"})
    assert [c.name for c in reply.tool_calls] == ["add"]
    answered(messages, reply, "8")
    text = scripted_reply(messages, {"add"}).text
    assert text is not None
    assert text.startswith("5 + 3 = 8. ")
    assert "current_time tool isn't available" in text


def test_an_unknown_place_is_not_guessed() -> None:
    reply = scripted_reply([user("what time is it in Atlantis")], TOOLS)
    assert reply.tool_calls == []
    assert reply.text is not None
    assert '"Atlantis"' in reply.text


# Plain conversation ---------------------------------------------------------------------------


def test_hello_greets_and_says_what_it_can_do() -> None:
    text = scripted_reply([user("hello")], TOOLS).text
    assert text is not None
    assert text.startswith("Hello!")
    assert "add numbers" in text
    assert "tell the time" in text


def test_greeting_uses_the_name_from_the_system_message() -> None:
    for system in ("You are helpful. The user's name is Alice.", "Context:\nUser: Alice\n"):
        messages = [{"role": "system", "content": system}, user("hi there")]
        text = scripted_reply(messages, TOOLS).text
        assert text is not None
        assert text.startswith("Hello, Alice!")


def test_help_lists_only_the_tools_it_has() -> None:
    text = scripted_reply([user("what can you do?")], {"current_time"}).text
    assert text is not None
    assert "tell the time in a city" in text
    assert "add numbers" not in text


def test_anything_else_is_restated() -> None:
    text = scripted_reply([user("Tell me about the weather.")], TOOLS).text
    assert text is not None
    assert text.startswith('You said: "Tell me about the weather.".')
    assert "scripted model" in text


def test_content_parts_are_read_as_text() -> None:
    message = {"role": "user", "content": [{"type": "text", "text": "add 5 and 3"}]}
    assert [c.name for c in scripted_reply([message], TOOLS).tool_calls] == ["add"]


def test_a_conversation_ending_without_a_question_still_gets_an_answer() -> None:
    for messages in ([], [{"role": "assistant", "content": "hi"}]):
        text = scripted_reply(messages, TOOLS).text
        assert text is not None
        assert text.startswith("I'm here.")


def test_same_input_same_output() -> None:
    for message in ("hello", "add 5 and 3 and the time in Tokyo", "what is up"):
        replies = {repr(scripted_reply([user(message)], TOOLS)) for _ in range(3)}
        assert len(replies) == 1


# Streaming -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["5 + 3 = 8.", "Hello!  Two spaces.\nNew line.", "  leading", "", "one"]
)
def test_stream_chunks_join_back_to_the_text(text: str) -> None:
    chunks = stream_chunks(text)
    assert "".join(chunks) == text
    assert all(chunks)


def test_stream_chunks_are_words_with_their_space() -> None:
    assert stream_chunks("It is 14:05 in Tokyo.") == ["It ", "is ", "14:05 ", "in ", "Tokyo."]


# The generic rule: "call TOOL with {json}" -----------------------------------------------------


def test_call_tool_with_json_calls_that_tool_with_those_arguments() -> None:
    tools = {*TOOLS, "files_read"}
    text = 'Please call files_read with {"path": "a.txt", "lines": [1, 2]}.'
    reply = scripted_reply([user(text)], tools)
    assert reply.text is None
    assert [(c.name, c.arguments) for c in reply.tool_calls] == [
        ("files_read", {"path": "a.txt", "lines": [1, 2]})
    ]


def test_several_sentences_make_several_calls_in_order_and_arithmetic_inside_is_left_alone() -> (
    None
):
    text = 'call calculator with {"expression": "6*7"}. Then call add with {"a": 1, "b": 2}.'
    reply = scripted_reply([user(text)], TOOLS)
    assert [(c.name, c.arguments) for c in reply.tool_calls] == [
        ("calculator", {"expression": "6*7"}),
        ("add", {"a": 1, "b": 2}),
    ]
    messages = [user(text)]
    answered(messages, reply, "42", "3")
    final = scripted_reply(messages, TOOLS)
    assert final.text == "6*7 = 42. 1 + 2 = 3."


def test_a_generic_call_to_a_tool_the_agent_lacks_is_said_not_made() -> None:
    reply = scripted_reply([user('call weather_now with {"city": "Paris"}')], TOOLS)
    assert reply.tool_calls == []
    assert (
        reply.text
        == "The weather_now tool isn't available to this agent, so I can't call weather_now."
    )


def test_a_generic_call_without_a_json_object_falls_back_to_the_other_rules() -> None:
    reply = scripted_reply([user("call add with {not json} and add 2 and 3")], TOOLS)
    assert [(c.name, c.arguments) for c in reply.tool_calls] == [("add", {"a": 2, "b": 3})]


def test_any_tools_result_is_reported_and_denials_and_edits_are_told() -> None:
    tools = {*TOOLS, "files_read"}
    messages = [user('call files_read with {"path": "a.txt"}')]
    reply = scripted_reply(messages, tools)
    answered(messages, reply, '{"text": "hello"}')
    assert (
        scripted_reply(messages, tools).text == 'The files_read tool returned: {"text": "hello"}.'
    )

    messages = [user('call calculator with {"expression": "6*7"}')]
    reply = scripted_reply(messages, TOOLS)
    answered(messages, reply, "Denied by the user: the call was not made. Reason: no")
    said = scripted_reply(messages, TOOLS).text
    assert (
        said == "I didn't call calculator: Denied by the user: the call was not made. Reason: no."
    )

    messages = [user('call calculator with {"expression": "6*7"}')]
    reply = scripted_reply(messages, TOOLS)
    edited = 'The user changed the arguments before approving, to: {"expression":"6*8"}\nResult: 48'
    answered(messages, reply, edited)
    said = scripted_reply(messages, TOOLS).text
    assert said == 'You changed the arguments to {"expression":"6*8"}. 6*8 = 48.'


def test_an_answer_to_ask_user_is_repeated() -> None:
    tools = {*TOOLS, "ask_user"}
    messages = [user('call ask_user with {"question": "Which colour?"}')]
    reply = scripted_reply(messages, tools)
    assert reply.tool_calls[0].name == "ask_user"
    answered(messages, reply, '{"answer": "blue"}')
    assert scripted_reply(messages, tools).text == 'You answered: "blue".'
