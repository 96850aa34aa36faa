# Confide: `make run` serves, `make test` runs every check.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint typecheck pytest bench bench-chat install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Install, migrate the embedded database and serve on http://$CONFIDE_HOST:$CONFIDE_PORT.
run: install
	$(BIN)/confide serve

## Every check: lint, format, types, tests.
test: lint typecheck pytest

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: install
	$(BIN)/mypy

pytest: install
	$(BIN)/pytest

## Benchmarks against a real uvicorn process (figures go in the README).
bench: install
	$(BIN)/python bench/auth_bench.py

## Chat turns, first SSE event, thread listing (figures go in the README).
bench-chat: install
	$(BIN)/python bench/chat_bench.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
