"""The user-facing docs stay true: every setting documented, the README opens with the commands."""

from __future__ import annotations

import re
from pathlib import Path

from confide.config import Settings

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = {f"CONFIDE_{name.upper()}" for name in Settings.model_fields}


def test_env_example_documents_every_setting() -> None:
    text = (ROOT / ".env.example").read_text()
    assert set(re.findall(r"^(CONFIDE_[A-Z0-9_]+)=", text, re.MULTILINE)) == SETTINGS


def test_readme_configuration_table_names_every_setting() -> None:
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`(CONFIDE_[A-Z0-9_]+)`", table))
    # Grouped rows name the first variable in full and the rest by suffix (`_MEMORY_KIB`).
    for suffix in re.findall(r"`(_[A-Z0-9_]+)`", table):
        named |= {name for name in SETTINGS if name.endswith(suffix)}
    assert named >= SETTINGS, sorted(SETTINGS - named)


def test_readme_opens_with_the_two_setup_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    first_block = readme.split("```", 2)[1]
    commands = [line.split("#")[0].strip() for line in first_block.splitlines()[1:] if line.strip()]
    assert commands == ["make run", "make test"]
