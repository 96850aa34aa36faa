"""`[[agents.mcp]]` tables: each problem reported with its line."""

from __future__ import annotations

import pytest

from confide.agents.definitions import AgentFileError
from tests.mcp.conftest import agent_file, load


def problems(*servers: str, text: str | None = None) -> list[str]:
    with pytest.raises(AgentFileError) as caught:
        load(text if text is not None else agent_file(*servers))
    return caught.value.problems


def test_each_problem_names_its_line() -> None:
    text = agent_file(
        'id = "files"\ncommand = "x"\nurl = "http://a/mcp"',
        'id = "web"\nurl = "ftp://a"\ntimeout_seconds = "3"\n[agents.mcp.oauth]\nclient_idx = "c"',
        'id = "local"\ncommand = "x"\nauth = "user"',
    )
    lines = text.splitlines()

    def line_of(fragment: str, after: int = 0) -> int:
        return next(n for n, line in enumerate(lines, 1) if n > after and fragment in line)

    found = problems(text=text)
    assert (
        f"agents.toml:{line_of('command = ')}: agent 'helper': mcp.0.command: "
        "needs exactly one transport" in found[0]
    )
    assert any(p.startswith(f"agents.toml:{line_of('ftp://')}:") and "http://" in p for p in found)
    assert any(p.startswith(f"agents.toml:{line_of('timeout_seconds')}:") for p in found)
    assert any(
        p.startswith(f"agents.toml:{line_of('client_idx')}:") and "unknown setting" in p
        for p in found
    )
    auth_line = line_of('auth = "user"')
    assert any(p.startswith(f"agents.toml:{auth_line}:") and "stdio" in p for p in found)


def test_one_id_one_configuration() -> None:
    text = agent_file('id = "s"\ncommand = "a"') + agent_file(
        'id = "s"\ncommand = "b"', agent_id="other"
    )
    assert any("must be identical" in p for p in problems(text=text))


def test_prefixes_that_could_collide_are_refused() -> None:
    found = problems('id = "a"\ncommand = "x"', 'id = "b"\ncommand = "x"\nprefix = "a_b"')
    assert any("could give two tools one name" in p for p in found)
    found = problems('id = "current"\ncommand = "x"')  # current_time is built in
    assert any("built-in 'current_time'" in p for p in found)


def test_secrets_are_named_not_written() -> None:
    found = problems('id = "w"\nurl = "http://a/mcp"\nheaders = { Authorization = "Bearer xyz" }')
    assert any("headers" in p for p in found)


def test_a_valid_table() -> None:
    agents = load(
        agent_file(
            'id = "w"\nurl = "https://a/mcp"\nheaders = { X-Key = "W_KEY" }\n'
            'tools = ["a", "b"]\nrequires_approval = ["b"]\ntimeout_seconds = 5'
        )
    )
    server = agents.default.mcp[0]
    assert server.transport == "http"
    assert server.model_prefix == "w"
    assert server.needs_approval("b")
    assert not server.needs_approval("a")
