"""The container set-up keeps its contract: compose.yaml's services and the settings they share,
the Dockerfile's stages and its final image, what .dockerignore keeps out.

Everything here reads the files; only `test_compose_config_*` runs `docker compose`, and only
where its plugin is installed (no image is pulled or built).
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from confide.config import Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
SETTINGS = {f"CONFIDE_{name.upper()}" for name in Settings.model_fields}
# What compose.yaml requires from the environment (`${VAR:?...}`): placeholders for the checks.
REQUIRED = {
    "CONFIDE_SECRET_KEY": "compose-check-placeholder-key-0123456789abcdef",
    "CONFIDE_MASTER_KEYS": "compose-check:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
    "POSTGRES_PASSWORD": "compose-check",
}
CONFIDE_SERVICES = ("migrate", "web", "worker")
# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}
_VARIABLE = re.compile(r"\$\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


@functools.cache
def compose() -> dict[str, Any]:
    """compose.yaml, parsed once (the tests only read it)."""
    document = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def service(name: str) -> dict[str, Any]:
    services = compose()["services"]
    assert name in services, f"compose.yaml has no service {name!r}"
    value = services[name]
    assert isinstance(value, dict)
    return value


def environment(name: str) -> dict[str, str]:
    """A service's environment as written (before interpolation); a mapping in this file."""
    value = service(name).get("environment", {})
    assert isinstance(value, dict), f"{name}: write environment as a mapping"
    return {str(key): "" if item is None else str(item) for key, item in value.items()}


def interpolate(text: str, variables: dict[str, str]) -> str:
    """`text` with compose's `${...}` forms replaced as compose would (no `$$` in this file)."""

    def replace(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        value = variables.get(name)
        if op in (":?", "?"):
            if value is None or (op == ":?" and not value):
                raise LookupError(f"{name}: {arg}")
            return value
        if op == ":-":
            return value or arg
        if op == "-":
            return arg if value is None else value
        return value or ""

    return _VARIABLE.sub(replace, text)


# --- docker compose itself -----------------------------------------------------------------


def _compose_missing() -> str | None:
    """Why `docker compose` cannot run here, or None when it can."""
    if shutil.which("docker") is None:
        return "docker is not installed"
    try:
        result = subprocess.run(
            ["docker", "compose", "version"], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"`docker compose version` did not run ({exc})"
    if result.returncode != 0:
        return "the docker compose plugin is not installed (`docker compose version` failed)"
    return None


@pytest.fixture(scope="module")
def docker_compose(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The `docker compose` command line for compose.yaml, reading an empty env file."""
    missing = _compose_missing()
    if missing is not None:
        # A skip under CI=true too, not a failure: CI machines have no compose plugin.
        pytest.skip(
            f"{missing}: `docker compose config` not run, only the structural checks of "
            "compose.yaml (CI machines have no compose plugin either: a skip under CI=true too)"
        )
    # An empty env file: a developer's .env (read by `make run` and, by default, by compose)
    # must not decide whether this passes.
    env_file = tmp_path_factory.mktemp("compose") / "empty.env"
    env_file.write_text("")
    return ["docker", "compose", "-f", str(COMPOSE_FILE), "--env-file", str(env_file)]


def _run(command: list[str], variables: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run `command` with `variables` and none of this shell's compose.yaml inputs."""
    inputs = ("CONFIDE_", "POSTGRES_", "OLLAMA_", "COMPOSE_")
    keep = {name: value for name, value in os.environ.items() if not name.startswith(inputs)}
    return subprocess.run(
        command, capture_output=True, text=True, timeout=60, cwd=ROOT, env=keep | variables
    )


@pytest.mark.parametrize("profiles", [[], ["--profile", "ollama"]], ids=["default", "ollama"])
def test_compose_config_is_valid(docker_compose: list[str], profiles: list[str]) -> None:
    result = _run([*docker_compose, *profiles, "config", "-q"], REQUIRED)
    assert result.returncode == 0, result.stderr


def test_compose_config_requires_the_secret_key(docker_compose: list[str]) -> None:
    without_key = {name: value for name, value in REQUIRED.items() if name != "CONFIDE_SECRET_KEY"}
    result = _run([*docker_compose, "config", "-q"], without_key)
    assert result.returncode != 0
    assert "set CONFIDE_SECRET_KEY" in result.stderr


# --- compose.yaml's contract ---------------------------------------------------------------


def test_compose_has_the_services_and_only_ollama_is_optional() -> None:
    services = compose()["services"]
    for name in (*CONFIDE_SERVICES, "postgres", "redis", "ollama"):
        assert name in services
    assert services["ollama"]["profiles"] == ["ollama"]
    optional = {name for name, spec in services.items() if "profiles" in spec}
    assert optional <= {"ollama", "ollama-pull"}, "the core stack must start without a profile"


def test_confide_services_share_one_image_and_one_set_of_settings() -> None:
    web, worker, migrate = (environment(name) for name in ("web", "worker", "migrate"))
    for name in ("CONFIDE_DATABASE_URL", "CONFIDE_REDIS_URL", "CONFIDE_JOBS", "CONFIDE_SECRET_KEY"):
        assert web[name] == worker[name] == migrate[name], name
    assert web["CONFIDE_JOBS"] == "external"
    assert web["CONFIDE_ENV"] == "production"
    assert web["CONFIDE_DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert "@postgres:5432/" in web["CONFIDE_DATABASE_URL"]
    assert web["CONFIDE_REDIS_URL"].startswith("redis://redis:6379")
    assert web["CONFIDE_SECRET_KEY"].startswith("${CONFIDE_SECRET_KEY:?")
    images = {service(name)["image"] for name in CONFIDE_SERVICES}
    assert len(images) == 1


def test_compose_names_only_real_settings() -> None:
    for name in CONFIDE_SERVICES:
        invented = {key for key in environment(name) if key.startswith("CONFIDE_")} - SETTINGS
        assert not invented, f"{name}: not settings in config.py: {sorted(invented)}"


def test_compose_defaults_are_valid_production_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("CONFIDE_"):
            monkeypatch.delenv(name)
    values = {key: interpolate(value, REQUIRED) for key, value in environment("web").items()}
    # Empty means unset to Confide (env_ignore_empty); no .env file may fill the gaps.
    fields = {key.removeprefix("CONFIDE_").lower(): value for key, value in values.items() if value}
    settings = Settings(_env_file=None, **fields)
    assert settings.production_problems() == []
    assert settings.is_production
    assert settings.secure_cookies
    assert settings.jobs == "external"
    assert settings.redis_url
    # The optional Ollama service is wired in by default, to the `ollama` service.
    assert settings.llm_base_url == "http://ollama:11434/v1"
    assert settings.llm_model


def test_compose_refuses_to_start_without_the_secret_key_or_the_database_password() -> None:
    web = environment("web")
    text = web["CONFIDE_SECRET_KEY"] + web["CONFIDE_DATABASE_URL"] + web["CONFIDE_MASTER_KEYS"]
    assert "compose-check" in interpolate(text, REQUIRED)
    for name in REQUIRED:
        with pytest.raises(LookupError, match=name):
            interpolate(text, {key: value for key, value in REQUIRED.items() if key != name})


def test_compose_starts_web_and_worker_after_a_successful_migration() -> None:
    assert service("migrate")["command"] == ["db", "upgrade"]
    assert service("migrate")["restart"] == "no"
    assert service("web")["command"] == ["serve"]
    assert service("worker")["command"][0] == "worker"
    for name in ("web", "worker"):
        depends = service(name)["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["redis"]["condition"] == "service_healthy"
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert service(name)["restart"] == "unless-stopped"


def test_compose_healthchecks() -> None:
    for name in ("postgres", "redis", "web"):
        check = service(name)["healthcheck"]
        assert check["test"][0] in ("CMD", "CMD-SHELL"), name
    assert "pg_isready" in service("postgres")["healthcheck"]["test"]
    assert service("redis")["healthcheck"]["test"][1:] == ["redis-cli", "ping"]
    # The web healthcheck is the image's, word for word.
    assert service("web")["healthcheck"]["test"] == ["CMD", *image_healthcheck()]
    # Not HTTP servers: the image's probe would mark them unhealthy.
    for name in ("worker", "migrate"):
        assert service(name)["healthcheck"] == {"disable": True}


def test_compose_keeps_state_in_named_volumes() -> None:
    declared = set(compose()["volumes"])
    for name, target in (("postgres", "/var/lib/postgresql/data"), ("ollama", "/models")):
        mounts = [str(volume).split(":") for volume in service(name)["volumes"]]
        assert any(source in declared and path == target for source, path in mounts), name
    assert service("ollama")["environment"]["OLLAMA_MODELS"] == "/models"


# --- the Dockerfile ------------------------------------------------------------------------


def dockerfile_stages() -> list[list[tuple[str, str]]]:
    """The Dockerfile's instructions, (KEYWORD, arguments), one list per stage."""
    stages: list[list[tuple[str, str]]] = []
    pending = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):  # comments end nothing, even mid-instruction
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, arguments = (pending + line).partition(" ")
        pending = ""
        if keyword.upper() == "FROM":
            stages.append([])
        assert stages, "the Dockerfile must start with FROM"
        stages[-1].append((keyword.upper(), arguments.strip()))
    return stages


def image_healthcheck() -> list[str]:
    """The final stage's HEALTHCHECK command (exec form)."""
    checks = [args for keyword, args in dockerfile_stages()[-1] if keyword == "HEALTHCHECK"]
    assert len(checks) == 1
    command = json.loads(checks[0].split(" CMD ", 1)[1])
    assert isinstance(command, list)
    return [str(word) for word in command]


def _base(stage: list[tuple[str, str]]) -> str:
    return stage[0][1].split()[0]


def test_dockerfile_builds_in_stages_from_pinned_images() -> None:
    stages = dockerfile_stages()
    assert len(stages) >= 3
    bases = [_base(stage) for stage in stages]
    assert any(base.startswith("node:20") for base in bases)
    assert bases[-1].startswith("python:3.11-slim")
    for base in bases:
        tag = base.partition(":")[2]
        assert re.match(r"\d", tag), f"{base}: pin a version tag"


def test_dockerfile_final_stage_runs_confide_unprivileged() -> None:
    final = dockerfile_stages()[-1]
    users = [args for keyword, args in final if keyword == "USER"]
    assert users, "the final stage must set USER"
    assert users[-1].split(":")[0] not in ("root", "0")
    assert users[-1].split(":")[0] == "10001"
    env = " ".join(args for keyword, args in final if keyword == "ENV")
    assert "CONFIDE_HOST=0.0.0.0" in env
    assert "CONFIDE_DATA_DIR=/data" in env
    assert ("EXPOSE", "8000") in final
    assert ("ENTRYPOINT", '["confide"]') in final
    assert ("CMD", '["serve"]') in final
    command = image_healthcheck()
    assert command[:2] == ["python", "-c"]
    assert "urllib" in command[2]
    assert "/api/health" in command[2]


def test_dockerfile_final_stage_has_no_build_tools() -> None:
    final = dockerfile_stages()[-1]
    text = "\n".join(f"{keyword} {args}" for keyword, args in final)
    for tool in ("build-essential", "gcc", "cc", "make", "npm", "node", "apt-get", "pip"):
        assert not re.search(rf"(?<![\w-]){re.escape(tool)}(?![\w-])", text), tool
    # Only the built virtualenv comes across from the other stages.
    assert set(re.findall(r"--from=(\S+)", text)) == {"build"}


def test_dockerignore_keeps_out_local_state_but_not_the_sources() -> None:
    entries = {
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    for excluded in (".git", ".venv", "**/node_modules", ".confide", ".env", "docs"):
        assert excluded in entries, excluded
    for stage in dockerfile_stages():
        for keyword, args in stage:
            if keyword != "COPY" or args.startswith("--from"):
                continue
            for source in args.split()[:-1]:
                assert source.rstrip("/") not in entries, f"{source} is copied but ignored"
                assert source.split("/")[0] not in entries, f"{source} is copied but ignored"
