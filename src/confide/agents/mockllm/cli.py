"""The `confide mock-llm` command: serve the mock LLM app with uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from confide.agents.mockllm.app import DEFAULT_MODEL, create_mock_llm_app


def register_cli(app: typer.Typer) -> None:
    """Add the `mock-llm` command to the `confide` command line."""
    app.command("mock-llm")(mock_llm)


def mock_llm(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8001,
    model: Annotated[str, typer.Option(help="Model name to serve.")] = DEFAULT_MODEL,
    faults: Annotated[
        bool, typer.Option("--faults", help="Honour [[mock:...]] fault markers (for tests).")
    ] = False,
) -> None:
    """Serve the scripted model as an OpenAI-compatible API at http://HOST:PORT/v1."""
    import uvicorn

    typer.echo(f"Mock LLM serving {model!r} on http://{host}:{port}/v1")
    uvicorn.run(
        create_mock_llm_app(model_name=model, allow_faults=faults),
        host=host,
        port=port,
        log_level="warning",
        server_header=False,
    )
