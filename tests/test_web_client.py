"""The web app's committed OpenAPI schema is the server's current one."""

from __future__ import annotations

from pathlib import Path

from confide.cli import openapi_json
from confide.config import load_settings

COMMITTED = Path(__file__).resolve().parent.parent / "web" / "openapi.json"


def test_committed_schema_matches_the_app() -> None:
    current = openapi_json(load_settings(secret_key="web-client-test-secret-" + "x" * 32))
    committed = COMMITTED.read_text(encoding="utf-8") if COMMITTED.exists() else ""
    assert committed == current, (
        "web/openapi.json differs from the server's schema: run make web-client"
    )
