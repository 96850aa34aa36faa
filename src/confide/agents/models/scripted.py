"""The scripted model: a deterministic, offline stand-in for an LLM.

It reads OpenAI Chat Completions messages and answers as a small model would: plain text for
plain messages, real tool calls for arithmetic and time questions (several in one turn when a
message asks for several things), and a sentence per tool result once the calls are answered.
Same messages and tools in, same reply out; no randomness, no clock, no network.

Tools it calls, and the arguments it sends:
  add(a, b)                      "add 5 and 3", "what is 5 plus 3", "5 + 3", "sum of 2 and 7"
  calculator(expression)         "calculate (2+3)*4", "what is 6 * 7", "10 - 4"
  current_time(timezone)         "what time is it in Tokyo", "time in New York", "current time"
  any tool                       'call TOOL with {"json": "arguments"}' (one call per such
                                 sentence; the other rules are then left out)

Conversation:
  "what have I said"             the user's earlier messages of this conversation (the path
                                 the model answers, so a branch shows only its own)
  "Continue your previous answer ..."  (a continued run's request) a fixed continuation

Questions about attached files ("how many lines does the file have", "summarise the file"):
agents/models/scripted_files.py.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from confide.agents.models.scripted_files import file_answer, user_text
from confide.memories.prompt import remembered

ADD, CALCULATOR, CURRENT_TIME, ASK_USER = "add", "calculator", "current_time", "ask_user"
# Results of calls the user did not approve or answer (runs/runner.py, `answered_content`).
_NOT_MADE = ("Denied", "The user declined", "The user did not answer")
_EDITED = re.compile(
    r"^The user changed the arguments before approving, to: (\{.*?\})\nResult: (.*)$", re.S
)

CITY_ZONES: dict[str, str] = {
    "tokyo": "Asia/Tokyo",
    "osaka": "Asia/Tokyo",
    "seoul": "Asia/Seoul",
    "beijing": "Asia/Shanghai",
    "shanghai": "Asia/Shanghai",
    "hong kong": "Asia/Hong_Kong",
    "singapore": "Asia/Singapore",
    "mumbai": "Asia/Kolkata",
    "delhi": "Asia/Kolkata",
    "new delhi": "Asia/Kolkata",
    "bangalore": "Asia/Kolkata",
    "dubai": "Asia/Dubai",
    "istanbul": "Europe/Istanbul",
    "moscow": "Europe/Moscow",
    "cairo": "Africa/Cairo",
    "nairobi": "Africa/Nairobi",
    "lagos": "Africa/Lagos",
    "johannesburg": "Africa/Johannesburg",
    "london": "Europe/London",
    "dublin": "Europe/Dublin",
    "lisbon": "Europe/Lisbon",
    "paris": "Europe/Paris",
    "madrid": "Europe/Madrid",
    "rome": "Europe/Rome",
    "amsterdam": "Europe/Amsterdam",
    "berlin": "Europe/Berlin",
    "stockholm": "Europe/Stockholm",
    "new york": "America/New_York",
    "nyc": "America/New_York",
    "boston": "America/New_York",
    "toronto": "America/Toronto",
    "chicago": "America/Chicago",
    "denver": "America/Denver",
    "san francisco": "America/Los_Angeles",
    "los angeles": "America/Los_Angeles",
    "seattle": "America/Los_Angeles",
    "mexico city": "America/Mexico_City",
    "sao paulo": "America/Sao_Paulo",
    "são paulo": "America/Sao_Paulo",
    "buenos aires": "America/Argentina/Buenos_Aires",
    "honolulu": "Pacific/Honolulu",
    "sydney": "Australia/Sydney",
    "melbourne": "Australia/Melbourne",
    "auckland": "Pacific/Auckland",
    "utc": "UTC",
    "gmt": "UTC",
}
_LONGEST_CITY_WORDS = max(len(city.split()) for city in CITY_ZONES)


@dataclass(frozen=True, slots=True)
class ScriptedToolCall:
    name: str
    arguments: dict[str, Any]
    id: str


@dataclass(frozen=True, slots=True)
class ScriptedReply:
    """What the model says: text, tool calls, or (rarely) both."""

    text: str | None
    tool_calls: list[ScriptedToolCall] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Intent:
    start: int
    end: int
    tool: str | None  # None: nothing to call, `note` says why
    arguments: dict[str, Any]
    label: str  # how the request reads in a sentence: "add 5 and 3", "tell the time in Tokyo"
    place: str = ""
    note: str = ""


# Public entry points --------------------------------------------------------------------------


def scripted_reply(messages: list[dict[str, Any]], tool_names: Collection[str]) -> ScriptedReply:
    """The scripted model's next assistant turn for an OpenAI-shaped conversation."""
    tools = frozenset(tool_names)
    last = messages[-1] if messages else {}
    role = last.get("role")
    if role == "tool":
        return ScriptedReply(text=_answer_tool_results(messages, tools))
    if role != "user":
        return ScriptedReply(text=f"I'm here. {_capabilities(tools)}")
    text = user_text(last)  # the user's words, not the text of files attached to them
    about_files = file_answer(text, last)
    if about_files is not None:
        return ScriptedReply(text=about_files)
    intents = _detect_intents(text, tools)
    calls = [i for i in intents if i.tool is not None]
    if not calls:
        notes = [i.note for i in intents if i.note]
        return ScriptedReply(text=" ".join(notes) if notes else _chat(text, messages, tools))
    return ScriptedReply(text=None, tool_calls=_make_calls(messages, calls))


def stream_chunks(text: str) -> list[str]:
    """Token-like pieces (a word and the space after it) that join back into `text`."""
    return re.findall(r"\S+\s*|\s+", text)


def message_text(message: dict[str, Any]) -> str:
    """A message's content as one string, whether it is a string, None or a list of parts."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [
            str(part.get("text", ""))
            for part in content
            if isinstance(part, dict) and part.get("type") == "text"
        ]
        return "\n".join(parts)
    return ""


# Understanding the user -----------------------------------------------------------------------

_NUM = r"[-+]?\d+(?:\.\d+)?"
_WORD_OPERATORS = {
    "plus": "+",
    "minus": "-",
    "times": "*",
    "multiplied by": "*",
    "divided by": "/",
    "over": "/",
}
_WORD_OPERATOR = re.compile(
    r"(?<=[\d)])\s+(plus|minus|times|multiplied\s+by|divided\s+by|over)\s+(?=[-+(]?\s*\d)",
    re.IGNORECASE,
)
_ADD_WORDS = re.compile(
    rf"\b(?:add\s+(?P<a1>{_NUM})\s*(?:and|to|\+|,)\s*(?P<b1>{_NUM})"
    rf"|(?:the\s+)?sum\s+of\s+(?P<a2>{_NUM})\s*(?:and|,|\+)\s*(?P<b2>{_NUM}))",
    re.IGNORECASE,
)
_OPERAND = r"[-+]?\(*\s*[-+]?\d+(?:\.\d+)?\s*\)*"
_EXPRESSION = re.compile(rf"(?<![\w.]){_OPERAND}(?:\s*(?:\*\*|[-+*/%^])\s*{_OPERAND})+")
_DATE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$")
_SIMPLE_SUM = re.compile(rf"^\s*({_NUM})\s*\+\s*({_NUM})\s*$")
_CALCULATE = re.compile(r"\b(?:calculate|compute|evaluate|work\s+out)\s+(?:what\s+is\s+)?", re.I)
_BARE_NUMBER = re.compile(rf"{_NUM}(?![\w.])")
_TIME = re.compile(
    r"\b(?:what(?:'s|\s+is)?\s+(?:the\s+)?(?:current\s+|local\s+)?time(?:\s+is\s+it)?"
    r"|(?:current|local)\s+time"
    r"|(?:tell|give|show)\s+me\s+the\s+time"
    r"|time(?=(?:\s+(?:is\s+it|right|now))*\s+in\s+\w))"
    r"(?:\s+(?:is\s+it|right|now))*",
    re.IGNORECASE,
)
_PLACE_INTRO = re.compile(r"\s+in\s+", re.IGNORECASE)
_PLACE_WORD = re.compile(r"[^\W\d][\w'/.+-]*", re.UNICODE)
_PLACE_STOP = {"and", "then", "please", "right", "now", "also", "too", "plus", "as", "for"}
_IANA_ZONE = re.compile(r"^[A-Za-z]+(?:/[A-Za-z0-9_+-]+)+$")


_CALL_TOOL = re.compile(
    r"\bcall\s+(?:the\s+)?([A-Za-z0-9_-]{1,64})(?:\s+tool)?\s+with\s+(?=\{)", re.I
)
_JSON = json.JSONDecoder()


def _generic_calls(text: str, tools: frozenset[str]) -> list[_Intent]:
    """'call TOOL with {json}': that call, with those arguments, for any tool (MCP's too)."""
    found: list[_Intent] = []
    for match in _CALL_TOOL.finditer(text):
        name = match.group(1)
        try:
            arguments, end = _JSON.raw_decode(text, match.end())
        except ValueError:
            continue
        if not isinstance(arguments, dict):
            continue
        label = f"call {name}"
        if name not in tools:
            found.append(_unavailable(match.start(), end, name, label))
        else:
            found.append(_Intent(match.start(), end, name, arguments, label))
    return found


def _detect_intents(text: str, tools: frozenset[str]) -> list[_Intent]:
    """Requests in order of appearance; arithmetic is parsed first so "add 5 and 3" stays whole."""
    generic = _generic_calls(text, tools)
    if generic:  # JSON arguments would read as arithmetic to the rules below
        return generic
    text = _WORD_OPERATOR.sub(lambda m: f" {_WORD_OPERATORS[_squash(m.group(1))]} ", text)
    found: list[_Intent] = []
    for match in _ADD_WORDS.finditer(text):
        a = match.group("a1") or match.group("a2")
        b = match.group("b1") or match.group("b2")
        found.append(_sum_intent(match.start(), match.end(), a, b, tools))
    calculate_at = [m.end() for m in _CALCULATE.finditer(text)]
    for match in _EXPRESSION.finditer(text):
        expression = _squash(match.group()).replace("^", "**")  # as people write powers
        if _DATE.match(expression):
            continue
        asked_to_calculate = _follows_calculate(text, match.start(), calculate_at)
        simple = _SIMPLE_SUM.match(expression)
        if simple and not asked_to_calculate:
            a, b = simple.groups()
            found.append(_sum_intent(match.start(), match.end(), a, b, tools))
        else:
            found.append(_calculator_intent(match.start(), match.end(), expression, tools))
    for end in calculate_at:  # "calculate 42": a bare number is still a calculation asked for
        number = _BARE_NUMBER.match(text, end)
        if number and not any(i.start <= number.start() < i.end for i in found):
            found.append(_calculator_intent(end, number.end(), number.group(), tools))
    for match in _TIME.finditer(text):
        found.append(_time_intent(text, match.start(), match.end(), tools))
    return _without_overlaps(found)


def _follows_calculate(text: str, start: int, calculate_at: list[int]) -> bool:
    return any(end <= start and not text[end:start].strip(" (") for end in calculate_at)


def _without_overlaps(intents: list[_Intent]) -> list[_Intent]:
    kept: list[_Intent] = []
    for intent in sorted(intents, key=lambda i: (i.start, -i.end)):
        if not kept or intent.start >= kept[-1].end:
            kept.append(intent)
    return kept


def _sum_intent(start: int, end: int, a: str, b: str, tools: frozenset[str]) -> _Intent:
    left, right = _number(a), _number(b)
    label = f"add {_fmt(left)} and {_fmt(right)}"
    if ADD in tools:
        return _Intent(start, end, ADD, {"a": left, "b": right}, label)
    if CALCULATOR in tools:
        expression = f"{_fmt(left)} + {_fmt(right)}"
        return _Intent(start, end, CALCULATOR, {"expression": expression}, label)
    return _unavailable(start, end, ADD, label)


def _calculator_intent(start: int, end: int, expression: str, tools: frozenset[str]) -> _Intent:
    label = f"calculate {expression}"
    if CALCULATOR in tools:
        return _Intent(start, end, CALCULATOR, {"expression": expression}, label)
    return _unavailable(start, end, CALCULATOR, label)


def _time_intent(text: str, start: int, end: int, tools: frozenset[str]) -> _Intent:
    zone, place = "UTC", "UTC"
    intro = _PLACE_INTRO.match(text, end)
    if intro:
        resolved = _resolve_place(text, intro.end())
        if resolved is not None:
            zone, place, end = resolved
    label = f"tell the time in {place}"
    if not zone:
        note = (
            f'I don\'t know which time zone "{place}" is in; ask about a city such as Tokyo '
            "or London, or name an IANA zone such as Europe/Paris."
        )
        return _Intent(start, end, None, {}, label, place=place, note=note)
    if CURRENT_TIME not in tools:
        return _unavailable(start, end, CURRENT_TIME, label)
    return _Intent(start, end, CURRENT_TIME, {"timezone": zone}, label, place=place)


def _resolve_place(text: str, at: int) -> tuple[str, str, int] | None:
    """(zone, place as written, end) for the place named at `at`; zone "" when unknown."""
    words: list[re.Match[str]] = []
    position = at
    while len(words) < _LONGEST_CITY_WORDS:
        word = _PLACE_WORD.match(text, position)
        if word is None:
            break
        words.append(word)
        gap = re.compile(r"[ \t]+").match(text, word.end())
        if gap is None:
            break
        position = gap.end()
    if not words:
        return None
    for count in range(len(words), 0, -1):
        phrase = text[at : words[count - 1].end()].rstrip(".")
        zone = CITY_ZONES.get(_squash(phrase).lower())
        if zone:
            return zone, _place_name(phrase), at + len(phrase)
    first = words[0].group().rstrip(".")
    if _IANA_ZONE.match(first):
        return first, first, at + len(first)
    unknown = []
    for word in words:
        if word.group().lower().rstrip(".") in _PLACE_STOP:
            break
        unknown.append(word)
    if not unknown:
        return None
    phrase = text[at : unknown[-1].end()].rstrip(".")
    return "", phrase, at + len(phrase)


def _place_name(phrase: str) -> str:
    squashed = _squash(phrase)
    if squashed.lower() in ("utc", "gmt", "nyc"):
        return squashed.upper()
    return squashed if squashed[:1].isupper() else squashed.title()


def _unavailable(start: int, end: int, tool: str, label: str) -> _Intent:
    note = f"The {tool} tool isn't available to this agent, so I can't {label}."
    return _Intent(start, end, None, {}, label, note=note)


def _make_calls(messages: list[dict[str, Any]], intents: list[_Intent]) -> list[ScriptedToolCall]:
    """Ids numbered after every earlier call in the thread, so none repeats."""
    earlier = [call for message in messages for call in _tool_calls(message)]
    taken = {str(call.get("id")) for call in earlier}
    number = len(earlier)
    calls: list[ScriptedToolCall] = []
    for intent in intents:
        assert intent.tool is not None
        while True:
            number += 1
            seed = json.dumps([number, intent.tool, intent.arguments], sort_keys=True)
            call_id = f"call_{number}_{hashlib.sha256(seed.encode()).hexdigest()[:8]}"
            if call_id not in taken:
                break
        taken.add(call_id)
        calls.append(ScriptedToolCall(name=intent.tool, arguments=intent.arguments, id=call_id))
    return calls


# Plain conversation ---------------------------------------------------------------------------

_GREETING = re.compile(
    r"^\W*(?:hello|hi|hey|hiya|howdy|greetings|good\s+(?:morning|afternoon|evening))\b", re.I
)
_HELP = re.compile(r"\b(?:help|what\s+can\s+you\s+do|what\s+do\s+you\s+do|capabilities)\b", re.I)
_THANKS = re.compile(r"^\W*(?:thanks|thank\s+you|thx|cheers)\b", re.I)
_NAME_PATTERNS = (
    re.compile(r"\buser'?s\s+(?:display\s+)?name\s+is\s+(?P<name>[^\n.,;:!?()\"]+)", re.I),
    re.compile(
        r"^\s*(?:user|user\s+name|display\s+name)\s*:\s*(?P<name>[^\n.,;:!?()\"]+)", re.I | re.M
    ),
    re.compile(r"\b(?:talking|speaking|chatting)\s+(?:to|with)\s+(?P<name>[^\n.,;:!?()\"]+)", re.I),
)
_QUOTE_LIMIT = 200
# What the runs feature asks when the model is to go on with an answer of its own (a continued
# run, runs/store.py CONTINUE_PROMPT), and a question that shows which conversation the model
# saw (a branch's own, never another's).
_CONTINUE = re.compile(r"^\s*Continue your previous answer\b", re.I)
_SAID_SO_FAR = re.compile(r"\bwhat\s+have\s+i\s+(?:said|asked)\b", re.I)
CONTINUED = "…and that is the rest of the answer."


def _chat(text: str, messages: list[dict[str, Any]], tools: frozenset[str]) -> str:
    if _CONTINUE.search(text):
        return CONTINUED
    if _SAID_SO_FAR.search(text):
        earlier = [
            _squash(message_text(m))
            for m in messages[:-1]
            if m.get("role") == "user" and not _CONTINUE.search(message_text(m))
        ]
        if not earlier:
            return "You have not said anything before this."
        return "So far you said: " + "; ".join(f'"{e}"' for e in earlier) + "."
    name = _user_name(messages)
    recalled = _recall(text, messages, name)
    if recalled:
        return recalled
    if _GREETING.search(text):
        hello = f"Hello, {name}!" if name else "Hello!"
        return f"{hello} I'm Confide's built-in scripted model. {_capabilities(tools)}"
    if _HELP.search(text):
        return f"I'm Confide's built-in scripted model. {_capabilities(tools)}"
    if _THANKS.search(text):
        return f"You're welcome, {name}!" if name else "You're welcome!"
    said = _squash(text)
    if len(said) > _QUOTE_LIMIT:
        said = said[: _QUOTE_LIMIT - 1].rstrip() + "…"
    if not said:
        return f"I didn't catch that. {_capabilities(tools)}"
    return f'You said: "{said}". I am Confide\'s built-in scripted model: {_can_do(tools)}'


def _user_name(messages: Iterable[dict[str, Any]]) -> str | None:
    for message in messages:
        if message.get("role") not in ("system", "developer"):
            continue
        content = message_text(message)
        for pattern in _NAME_PATTERNS:
            match = pattern.search(content)
            name = _squash(match.group("name")) if match else ""
            if name and any(c.isalpha() for c in name) and len(name) <= 60:
                return name
    return None


# Questions answered from the memories in the system prompt (memories/prompt.py).
_ASK_NAME = re.compile(
    r"\b(?:what(?:'s|\s+is)\s+my\s+name|do\s+you\s+know\s+my\s+name|who\s+am\s+i)\b", re.I
)
_ASK_HOME = re.compile(r"\bwhere\s+do\s+i\s+live\b", re.I)
_ASK_ALL = re.compile(r"\bwhat\s+do\s+you\s+(?:know|remember)\s+about\s+me\b", re.I)


def _recall(text: str, messages: Iterable[dict[str, Any]], account_name: str | None) -> str | None:
    """The answer to a question about the user, from what the system prompt remembers."""
    asks_name, asks_home, asks_all = (p.search(text) for p in (_ASK_NAME, _ASK_HOME, _ASK_ALL))
    if not (asks_name or asks_home or asks_all):
        return None
    memories: list[tuple[str, str]] = []
    for message in messages:
        if message.get("role") in ("system", "developer"):
            memories.extend(remembered(message_text(message)))
    known = dict(memories)
    if asks_all:
        if not memories:
            return "I don't remember anything about you yet."
        facts = [f"{key}: {content}" for key, content in memories]
        return f"I remember this about you: {'; '.join(facts)}."
    if asks_name:
        if "name" in known:
            return f"Your name is {known['name']}."
        if account_name:
            return f"You haven't told me your name; your account calls you {account_name}."
        return "You haven't told me your name yet."
    if "location" in known:
        return f"You live in {known['location']}."
    return "You haven't told me where you live."


def _skills(tools: frozenset[str]) -> list[str]:
    skills = []
    if ADD in tools or CALCULATOR in tools:
        skills.append("add numbers")
    if CALCULATOR in tools:
        skills.append("calculate expressions")
    if CURRENT_TIME in tools:
        skills.append("tell the time in a city")
    return skills


def _can_do(tools: frozenset[str]) -> str:
    skills = _skills(tools)
    if not skills:
        return "this agent has no tools I know how to use, so I can only chat."
    return f"I can {_join(skills)}."


def _capabilities(tools: frozenset[str]) -> str:
    examples = []
    if ADD in tools or CALCULATOR in tools:
        examples.append('"add 5 and 3"')
    if CALCULATOR in tools:
        examples.append('"calculate (2+3)*4"')
    if CURRENT_TIME in tools:
        examples.append('"what time is it in Tokyo?"')
    can_do = _can_do(tools)
    can_do = can_do[0].upper() + can_do[1:]
    return f"{can_do} Try {_join(examples, 'or')}." if examples else can_do


# Answering from tool results ------------------------------------------------------------------


def _answer_tool_results(messages: list[dict[str, Any]], tools: frozenset[str]) -> str:
    turn = next((i for i in range(len(messages) - 1, -1, -1) if _tool_calls(messages[i])), None)
    if turn is None:
        return "I have tool results but no record of asking for them."
    results = {
        str(m.get("tool_call_id")): message_text(m)
        for m in messages[turn + 1 :]
        if m.get("role") == "tool"
    }
    asked = next(
        (message_text(m) for m in reversed(messages[:turn]) if m.get("role") == "user"), ""
    )
    intents = _detect_intents(asked, tools)
    places = {i.arguments.get("timezone"): i.place for i in intents if i.tool == CURRENT_TIME}
    sentences = []
    for call in _tool_calls(messages[turn]):
        function = call.get("function") or {}
        name = str(function.get("name", ""))
        arguments = _json_object(function.get("arguments"))
        result = results.get(str(call.get("id")))
        sentences.append(_result_sentence(name, arguments, result, places))
    # Requests the model could not act on are still owed an answer.
    sentences.extend(i.note for i in intents if i.note)
    return " ".join(sentences)


def _result_sentence(
    name: str, arguments: dict[str, Any], result: str | None, places: dict[Any, str]
) -> str:
    if result is None:
        return f"I didn't get an answer from the {name} tool."
    result = result.strip()
    if result.lower().startswith("error:"):
        return f"I couldn't do that: {_sentence(result[6:].strip())}"
    edited = _EDITED.match(result)
    if edited:  # approved with other arguments (runs/runner.py, `edited_result`)
        changed = _json_object(edited.group(1))
        inner = _result_sentence(name, changed, edited.group(2), places)
        return f"You changed the arguments to {edited.group(1)}. {inner}"
    if result.startswith(_NOT_MADE):
        return f"I didn't call {name}: {_sentence(result)}"
    if name == ASK_USER:
        answer = _pick(_json_value(result), "answer")
        return f'You answered: "{answer}".' if isinstance(answer, str) else _sentence(result)
    value = _json_value(result)
    if name == ADD:
        a, b = arguments.get("a"), arguments.get("b")
        total = _fmt(_result_value(value, result, "result", "sum", "value"))
        return f"{_fmt(a)} + {_signed(b)} = {total}."
    if name == CALCULATOR:
        answer = _fmt(_result_value(value, result, "result", "value", "answer"))
        return f"{arguments.get('expression', 'That')} = {answer}."
    if name == CURRENT_TIME:
        zone = str(_pick(value, "timezone", "zone") or arguments.get("timezone") or "UTC")
        return _time_sentence(zone, places.get(zone), value, result)
    return f"The {name} tool returned: {_sentence(result)}"


def _time_sentence(zone: str, place: str | None, value: Any, raw: str) -> str:
    clock = None
    iso = _pick(value, "iso", "datetime", "time") if isinstance(value, dict) else None
    for candidate in (iso, raw):
        if isinstance(candidate, str):
            try:
                clock = datetime.fromisoformat(candidate.strip()).strftime("%H:%M")
                break
            except ValueError:
                pass
    if clock is None:
        display = _pick(value, "display") if isinstance(value, dict) else None
        text = str(display) if display else raw
        found = re.search(r"\b\d{1,2}:\d{2}(?::\d{2})?(?:\s*[AaPp][Mm])?", text)
        clock = found.group() if found else text
    if zone == "UTC":
        return f"It is {clock} UTC."
    where = place or zone.rsplit("/", 1)[-1].replace("_", " ")
    return f"It is {clock} in {where} ({zone})."


# Small helpers --------------------------------------------------------------------------------


def _tool_calls(message: dict[str, Any]) -> list[dict[str, Any]]:
    if message.get("role") != "assistant":
        return []
    calls = message.get("tool_calls") or []
    return [call for call in calls if isinstance(call, dict)]


def _json_object(raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    value = _json_value(raw) if isinstance(raw, str) else None
    return value if isinstance(value, dict) else {}


def _json_value(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _pick(value: Any, *keys: str) -> Any:
    """value[key] for the first key present when value is an object; value itself otherwise."""
    if not isinstance(value, dict):
        return value
    for key in keys:
        if key in value:
            return value[key]
    return None


def _result_value(value: Any, raw: str, *keys: str) -> Any:
    """The answer inside a tool result: a JSON number, a field of a JSON object, or the text."""
    picked = _pick(value, *keys)
    return raw if picked is None or isinstance(picked, dict | list) else picked


def _number(text: str) -> int | float:
    number = float(text)
    return int(number) if "." not in text and number.is_integer() else number


def _fmt(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, str):
        parsed = _json_value(value.strip())
        if isinstance(parsed, int | float) and not isinstance(parsed, bool):
            return _fmt(parsed)
        return value.strip()
    return str(value)


def _signed(value: Any) -> str:
    shown = _fmt(value)
    return f"({shown})" if shown.startswith("-") else shown


def _squash(text: str) -> str:
    return " ".join(text.split())


def _sentence(text: str) -> str:
    text = _squash(text)
    return text if text.endswith((".", "!", "?")) else f"{text}."


def _join(items: list[str], word: str = "and") -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {word} {items[-1]}"
