# Confide: `make run` serves, `make test` runs every check.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint typecheck web-build web-check pytest bench bench-chat bench-scaling bench-signin bench-ratelimit install clean

# The web app (web/) builds into the package, where the server serves it from.
WEB_DIST := src/confide/web/dist
WEB_DEPS := web/node_modules/.installed-stamp
WEB_BUILT := $(WEB_DIST)/index.html
WEB_SOURCES := web/package.json web/package-lock.json web/index.html \
	$(wildcard web/vite.config.* web/tsconfig*.json) \
	$(shell find web/src web/public -type f 2>/dev/null)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

$(WEB_DEPS): web/package.json web/package-lock.json
	npm --prefix web ci
	touch $@

# The built index.html is the build's stamp: rebuilt when any source is newer.
$(WEB_BUILT): $(WEB_DEPS) $(WEB_SOURCES)
	npm --prefix web run build
	@test -f $@ || { echo "the web build wrote no $@: check outDir in web/vite.config"; exit 1; }
	touch $@

## Build the web app when its sources changed.
web-build: $(WEB_BUILT)

## Install, build the web app, migrate the embedded database and serve on
## http://$CONFIDE_HOST:$CONFIDE_PORT.
run: install web-build
	$(BIN)/confide serve

## Every check: lint, format, types, the web app's checks, tests (end-to-end included).
test: lint typecheck web-check pytest

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: install
	$(BIN)/mypy

## The web app's type check and unit tests (Vitest), and its build (the e2e tests use it).
web-check: web-build
	npm --prefix web run typecheck
	npm --prefix web test

pytest: install
	$(BIN)/pytest

## Benchmarks against a real uvicorn process (figures go in the README).
bench: install
	$(BIN)/python bench/auth_bench.py

## Chat turns, first SSE event, thread listing (figures go in the README).
bench-chat: install
	$(BIN)/python bench/chat_bench.py

## Turns/s with 1, 2 and 4 serve processes, the rounds alternating between them.
bench-scaling: install
	$(BIN)/python bench/hosts_scaling.py

## Sign-in latency with and without MFA, at the default Argon2 cost.
bench-signin: install
	$(BIN)/python bench/signin_bench.py

bench-ratelimit: install
	$(BIN)/python bench/ratelimit_bench.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache

## The web app's typed API client, regenerated from the server's OpenAPI schema.
.PHONY: web-client
web-client: install
	$(BIN)/confide openapi --output web/openapi.json && npm --prefix web run gen:api

## compose.yaml as docker compose reads it (needs its plugin; placeholder values), then the
## container files' contract tests.
.PHONY: compose-check
compose-check: install
	CONFIDE_SECRET_KEY=compose-check-placeholder-key-0123456789abcdef POSTGRES_PASSWORD=compose-check \
		CONFIDE_MASTER_KEYS=compose-check:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8 \
		docker compose -f compose.yaml config -q
	CONFIDE_SECRET_KEY=compose-check-placeholder-key-0123456789abcdef POSTGRES_PASSWORD=compose-check \
		CONFIDE_MASTER_KEYS=compose-check:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8 \
		docker compose -f compose.yaml --profile ollama config -q
	$(BIN)/pytest -q tests/test_containers.py
