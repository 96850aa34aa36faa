"""A user message with files, as the model gets it: OpenAI content parts to pydantic-ai's
user content and back, its token estimate, and the scripted model's file rules."""

from __future__ import annotations

import base64

from pydantic_ai.messages import BinaryContent, ModelRequest, UserPromptPart

from confide.agents.conversation import to_model_messages, to_openai_messages
from confide.agents.models.scripted import scripted_reply
from confide.threads.service import IMAGE_TOKENS, TOKENS_PER_MESSAGE, estimate_tokens
from tests.files.helpers import PNG

URL = "data:image/png;base64," + base64.b64encode(PNG).decode()
WITH_FILES = {
    "role": "user",
    "content": [
        {"type": "text", "text": "what is 2 + 2 in the file?"},
        {"type": "text", "text": "File sums.txt (2 lines):\n5 + 3\n7 + 1\n"},
        {"type": "image_url", "image_url": {"url": URL}},
    ],
}


def test_list_content_becomes_user_content_and_back() -> None:
    (request,) = to_model_messages(None, [WITH_FILES])
    assert isinstance(request, ModelRequest)
    (part,) = request.parts
    assert isinstance(part, UserPromptPart)
    text, attached, image = part.content
    assert text == "what is 2 + 2 in the file?"
    assert attached == "File sums.txt (2 lines):\n5 + 3\n7 + 1\n"
    assert isinstance(image, BinaryContent)
    assert (image.data, image.media_type) == (PNG, "image/png")
    assert to_openai_messages([request]) == [WITH_FILES]


def test_two_user_messages_in_a_row_join_with_their_files() -> None:
    (request,) = to_model_messages(None, [{"role": "user", "content": "first"}, WITH_FILES])
    (part,) = request.parts
    assert isinstance(part, UserPromptPart)
    assert part.content[:3] == ["first", "\n\n", "what is 2 + 2 in the file?"]
    assert isinstance(part.content[-1], BinaryContent)


def test_estimate_counts_text_parts_and_images() -> None:
    text_chars = len("what is 2 + 2 in the file?") + len("File sums.txt (2 lines):\n5 + 3\n7 + 1\n")
    assert estimate_tokens(WITH_FILES) == TOKENS_PER_MESSAGE + IMAGE_TOKENS + -(-text_chars // 4)


def test_the_scripted_model_reads_only_the_users_words_for_tools() -> None:
    # The file holds "5 + 3": no add call for it, the user asked something else.
    reply = scripted_reply([WITH_FILES], {"add", "calculator"})
    assert reply.tool_calls[0].arguments == {"a": 2, "b": 2}
    assert len(reply.tool_calls) == 1
    lines = scripted_reply(
        [
            {
                **WITH_FILES,
                "content": [
                    {"type": "text", "text": "how many lines does the file have"},
                    *WITH_FILES["content"][1:],
                ],
            }
        ],
        set(),
    )
    assert lines.text == "The file sums.txt has 2 lines."
