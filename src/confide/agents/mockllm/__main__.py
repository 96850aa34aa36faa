"""`python -m confide.agents.mockllm`: the `confide mock-llm` command on its own."""

import typer

from confide.agents.mockllm.cli import register_cli

cli = typer.Typer(add_completion=False)
register_cli(cli)
cli()
