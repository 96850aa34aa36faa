"""The mock model served over HTTP (`mock_llm`, the memory tests' fixture) and `remote`, an
app whose default agent asks it, titles on."""

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from fastapi import FastAPI
from starlette.applications import Starlette

from tests.memories.test_model_extraction import AGENTS_TOML, mock_llm

__all__ = ["mock_llm", "remote"]


@pytest.fixture
async def remote(
    app_factory: Callable[..., FastAPI], mock_llm: tuple[str, Starlette], tmp_path: Path
) -> AsyncIterator[FastAPI]:
    agents_file = tmp_path / "agents.toml"
    agents_file.write_text(AGENTS_TOML.format(base_url=mock_llm[0]), encoding="utf-8")
    app = app_factory(agents_file=agents_file, generated_titles=True)
    yield app
    await app.state.runs.models.aclose()  # the SDK client's pooled connections
