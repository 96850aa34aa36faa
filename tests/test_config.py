"""Settings: one clear line per problem, production refuses unsafe values, generated secret."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from confide.config import (
    MIN_SECRET_LENGTH,
    SECRET_KEY_FILE,
    Settings,
    SettingsError,
    load_or_create_secret_key,
    load_settings,
)
from tests.conftest import TEST_MASTER_KEYS

GOOD_SECRET = "s" * MIN_SECRET_LENGTH


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No CONFIDE_* variable from the caller and no .env file: each test says what it sets."""
    for name in list(os.environ):
        if name.upper().startswith("CONFIDE_"):
            monkeypatch.delenv(name)
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    return workdir


def problems_of(monkeypatch: pytest.MonkeyPatch, **env: str) -> list[str]:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    problems = caught.value.problems
    assert str(caught.value).splitlines() == problems
    for line in problems:
        assert "\n" not in line
        assert line.startswith("CONFIDE_"), line
    return problems


def production(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **env: str) -> None:
    monkeypatch.setenv("CONFIDE_ENV", "production")
    monkeypatch.setenv("CONFIDE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CONFIDE_ALLOWED_HOSTS", "chat.example.org")  # required in production
    monkeypatch.setenv("CONFIDE_MASTER_KEYS", TEST_MASTER_KEYS)  # required too (tests/crypto)
    for name, value in env.items():
        monkeypatch.setenv(name, value)


# Defaults and parsing --------------------------------------------------------------------------


def test_defaults_are_a_working_development_setup() -> None:
    settings = load_settings()
    assert settings.env == "development"
    assert not settings.is_production
    assert settings.port == 8000
    assert settings.host == "127.0.0.1"
    assert settings.docs_on
    assert not settings.secure_cookies
    assert settings.uses_embedded_database
    assert settings.effective_database_url == "sqlite+aiosqlite:///.confide/confide.db"
    assert settings.max_body_bytes == 1024 * 1024
    assert settings.cors_origins == []
    assert settings.secret_key_is_generated


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CONFIDE_PORT", "9001")
    monkeypatch.setenv("CONFIDE_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.setenv("CONFIDE_DATABASE_URL", "postgresql+asyncpg://u:p@db/confide")
    monkeypatch.setenv("CONFIDE_REGISTRATION_OPEN", "false")
    settings = load_settings()
    assert settings.port == 9001
    assert settings.data_dir == tmp_path / "d"
    assert settings.effective_database_url == "postgresql+asyncpg://u:p@db/confide"
    assert not settings.uses_embedded_database
    assert settings.registration_open is False


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://a.example.org", ["https://a.example.org"]),
        (
            " https://a.example.org , http://localhost:5173 ",
            ["https://a.example.org", "http://localhost:5173"],
        ),
        (
            '["https://a.example.org", "https://b.example.org"]',
            ["https://a.example.org", "https://b.example.org"],
        ),
        ("", []),
    ],
)
def test_cors_origins_from_env(
    monkeypatch: pytest.MonkeyPatch, raw: str, expected: list[str]
) -> None:
    monkeypatch.setenv("CONFIDE_CORS_ORIGINS", raw)
    assert load_settings().cors_origins == expected


def test_overrides_beat_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONFIDE_PORT", "9001")
    assert load_settings(port=9002).port == 9002


# Invalid values ------------------------------------------------------------------------------


def test_two_bad_values_give_two_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    problems = problems_of(monkeypatch, CONFIDE_PORT="abc", CONFIDE_ACCESS_TOKEN_TTL_SECONDS="5")
    assert len(problems) == 2
    assert problems[0].startswith("CONFIDE_PORT: ")
    assert problems[1].startswith("CONFIDE_ACCESS_TOKEN_TTL_SECONDS: ")
    assert "30" in problems[1]  # says what the limit is


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CONFIDE_ENV", "staging"),
        ("CONFIDE_PORT", "70000"),
        ("CONFIDE_PORT", "0"),
        ("CONFIDE_LOG_LEVEL", "verbose"),
        ("CONFIDE_JWT_ALGORITHM", "none"),
        ("CONFIDE_MAX_BODY_BYTES", "10"),
        ("CONFIDE_COOKIE_SAMESITE", "none"),
        ("CONFIDE_PASSWORD_MIN_LENGTH", "4"),
        ("CONFIDE_REGISTRATION_OPEN", "perhaps"),
        ("CONFIDE_CORS_ORIGINS", "chat.example.org"),
        ("CONFIDE_CORS_ORIGINS", "https://chat.example.org/"),
        ("CONFIDE_SESSION_CACHE_TTL_SECONDS", "-1"),
    ],
)
def test_bad_value_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    problems = problems_of(monkeypatch, **{name: value})
    assert len(problems) == 1
    assert problems[0].startswith(f"{name}: ")
    assert len(problems[0]) > len(name) + 5  # a reason, not just the name


def test_incoherent_values_name_both_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    problems = problems_of(
        monkeypatch,
        CONFIDE_SESSION_IDLE_TIMEOUT_SECONDS="7200",
        CONFIDE_SESSION_MAX_AGE_SECONDS="3600",
    )
    assert len(problems) == 1
    assert "CONFIDE_SESSION_MAX_AGE_SECONDS" in problems[0]
    assert "CONFIDE_SESSION_IDLE_TIMEOUT_SECONDS" in problems[0]


def test_eddsa_needs_a_key_file(monkeypatch: pytest.MonkeyPatch) -> None:
    problems = problems_of(monkeypatch, CONFIDE_JWT_ALGORITHM="EdDSA")
    assert len(problems) == 1
    assert "CONFIDE_JWT_PRIVATE_KEY_FILE" in problems[0]


def test_bad_values_are_not_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A value typed into the wrong variable may be a secret; the message never repeats it."""
    problems = problems_of(monkeypatch, CONFIDE_PORT="hunter2-secret-value")
    assert "hunter2" not in "\n".join(problems)


# Production ------------------------------------------------------------------------------------


def test_production_refuses_a_generated_secret(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    production(monkeypatch, tmp_path)
    problems = problems_of(monkeypatch)
    assert len(problems) == 1
    assert problems[0].startswith("CONFIDE_SECRET_KEY: ")
    assert not (tmp_path / "data" / SECRET_KEY_FILE).exists()


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"CONFIDE_SECRET_KEY": "s" * (MIN_SECRET_LENGTH - 1)}, "CONFIDE_SECRET_KEY"),
        (
            {"CONFIDE_SECRET_KEY": GOOD_SECRET, "CONFIDE_COOKIE_SECURE": "false"},
            "CONFIDE_COOKIE_SECURE",
        ),
        ({"CONFIDE_SECRET_KEY": GOOD_SECRET, "CONFIDE_CORS_ORIGINS": "*"}, "CONFIDE_CORS_ORIGINS"),
        (
            {"CONFIDE_SECRET_KEY": GOOD_SECRET, "CONFIDE_CORS_ORIGINS": "https://a.org,*"},
            "CONFIDE_CORS_ORIGINS",
        ),
        (
            {"CONFIDE_SECRET_KEY": GOOD_SECRET, "CONFIDE_CORS_ORIGINS": "http://a.example.org"},
            "CONFIDE_CORS_ORIGINS",
        ),
    ],
    ids=["short-secret", "insecure-cookies", "wildcard", "wildcard-among-others", "plain-http"],
)
def test_production_refuses_unsafe_value(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, env: dict[str, str], variable: str
) -> None:
    production(monkeypatch, tmp_path, **env)
    problems = problems_of(monkeypatch)
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{variable}: ")
    assert GOOD_SECRET not in problems[0]
    assert "s" * (MIN_SECRET_LENGTH - 1) not in problems[0]


def test_production_lists_every_problem_at_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    production(
        monkeypatch,
        tmp_path,
        CONFIDE_SECRET_KEY="too-short",
        CONFIDE_COOKIE_SECURE="false",
        CONFIDE_CORS_ORIGINS="*",
    )
    problems = problems_of(monkeypatch)
    assert [line.split(":", 1)[0] for line in problems] == [
        "CONFIDE_SECRET_KEY",
        "CONFIDE_COOKIE_SECURE",
        "CONFIDE_CORS_ORIGINS",
    ]
    assert "too-short" not in "\n".join(problems)


def test_production_missing_secret_with_other_problems(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    production(monkeypatch, tmp_path, CONFIDE_COOKIE_SECURE="false", CONFIDE_CORS_ORIGINS="*")
    problems = problems_of(monkeypatch)
    assert len(problems) == 3
    assert problems[0].startswith("CONFIDE_SECRET_KEY: ")


def test_production_with_everything_set_is_accepted(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    production(
        monkeypatch,
        tmp_path,
        CONFIDE_SECRET_KEY=GOOD_SECRET,
        CONFIDE_CORS_ORIGINS="https://chat.example.org",
    )
    settings = load_settings()
    assert settings.is_production
    assert settings.docs_on is False
    assert settings.secure_cookies is True
    assert settings.resolved_secret_key() == GOOD_SECRET
    assert not (tmp_path / "data" / SECRET_KEY_FILE).exists()
    assert settings.production_problems() == []


def test_production_docs_only_when_asked(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    production(
        monkeypatch,
        tmp_path,
        CONFIDE_SECRET_KEY=GOOD_SECRET,
        CONFIDE_COOKIE_SECURE="true",
        CONFIDE_DOCS_ENABLED="true",
    )
    assert load_settings().docs_on is True
    monkeypatch.setenv("CONFIDE_DOCS_ENABLED", "false")
    assert load_settings().docs_on is False


def test_development_allows_what_production_refuses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONFIDE_SECRET_KEY", "short")
    monkeypatch.setenv("CONFIDE_COOKIE_SECURE", "false")
    monkeypatch.setenv("CONFIDE_CORS_ORIGINS", "*")
    settings = load_settings()
    assert settings.production_problems() == []
    assert settings.docs_on is True


def test_docs_can_be_turned_off_in_development(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONFIDE_DOCS_ENABLED", "false")
    assert load_settings().docs_on is False


# Generated secret key --------------------------------------------------------------------------


def test_generated_secret_is_created_private_and_reused(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = Settings(_env_file=None, data_dir=data_dir)  # type: ignore[call-arg]
    key = first.resolved_secret_key()
    path = data_dir / SECRET_KEY_FILE
    assert path.is_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(data_dir.stat().st_mode) & 0o077 == 0
    assert len(key) >= MIN_SECRET_LENGTH
    assert path.read_text().strip() == key
    # The same process again, and a restart (a new Settings) both see the same key.
    assert first.resolved_secret_key() == key
    restarted = Settings(_env_file=None, data_dir=data_dir)  # type: ignore[call-arg]
    assert restarted.resolved_secret_key() == key
    assert load_or_create_secret_key(data_dir) == key


def test_generated_secrets_differ_between_installations(tmp_path: Path) -> None:
    assert load_or_create_secret_key(tmp_path / "one") != load_or_create_secret_key(
        tmp_path / "two"
    )


def test_configured_secret_writes_no_file(tmp_path: Path) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, data_dir=tmp_path / "data", secret_key=GOOD_SECRET
    )
    assert settings.resolved_secret_key() == GOOD_SECRET
    assert not settings.secret_key_is_generated
    assert not (tmp_path / "data").exists()


def test_empty_secret_key_file_is_never_used_as_a_key(tmp_path: Path) -> None:
    """A file left empty (a crash, or a worker reading before another finished writing)."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / SECRET_KEY_FILE).write_text("")
    with pytest.raises(SettingsError, match="empty or too short"):
        load_or_create_secret_key(data_dir)


# .env file -------------------------------------------------------------------------------------


def test_dotenv_in_working_directory_is_read(
    clean_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (clean_environment / ".env").write_text(
        "CONFIDE_PORT=9123\nCONFIDE_LOG_LEVEL=DEBUG\n"
        "CONFIDE_CORS_ORIGINS=https://a.example.org,https://b.example.org\n"
        "UNRELATED_VARIABLE=ignored\n",
        encoding="utf-8",
    )
    settings = load_settings()
    assert settings.port == 9123
    assert settings.log_level == "DEBUG"
    assert settings.cors_origins == ["https://a.example.org", "https://b.example.org"]
    # A real environment variable wins over the file.
    monkeypatch.setenv("CONFIDE_PORT", "9124")
    assert load_settings().port == 9124


def test_dotenv_problems_name_the_variable(clean_environment: Path) -> None:
    (clean_environment / ".env").write_text("CONFIDE_PORT=eighty\n", encoding="utf-8")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert len(caught.value.problems) == 1
    assert caught.value.problems[0].startswith("CONFIDE_PORT: ")


def test_dotenv_can_be_skipped(clean_environment: Path) -> None:
    (clean_environment / ".env").write_text("CONFIDE_PORT=9123\n", encoding="utf-8")
    assert Settings(_env_file=None).port == 8000  # type: ignore[call-arg]


def test_shipped_env_example_works_as_dotenv(clean_environment: Path) -> None:
    """The documented first step: copy .env.example to .env."""
    example = Path(__file__).resolve().parents[1] / ".env.example"
    (clean_environment / ".env").write_text(example.read_text(encoding="utf-8"), encoding="utf-8")
    settings = load_settings()
    assert settings.env == "development"
    assert settings.secret_key_is_generated


def test_empty_secret_key_variable_means_generated(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CONFIDE_SECRET_KEY", "")
    monkeypatch.setenv("CONFIDE_DATA_DIR", str(tmp_path / "data"))
    settings = load_settings()
    assert len(settings.resolved_secret_key()) >= MIN_SECRET_LENGTH


@pytest.mark.parametrize(
    ("raw", "seconds"),
    [("172800", 172800), ("90s", 90), ("30m", 1800), ("48h", 172800), ("2d", 172800)],
)
def test_approval_timeout_reads_seconds_or_a_unit(
    monkeypatch: pytest.MonkeyPatch, raw: str, seconds: int
) -> None:
    monkeypatch.setenv("CONFIDE_APPROVAL_TIMEOUT", raw)
    assert load_settings().approval_timeout.total_seconds() == seconds


@pytest.mark.parametrize("raw", ["0", "-5m", "400d", "soon"])
def test_an_approval_timeout_that_cannot_be_is_refused(
    monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    (problem,) = problems_of(monkeypatch, CONFIDE_APPROVAL_TIMEOUT=raw)
    assert problem.startswith("CONFIDE_APPROVAL_TIMEOUT")
