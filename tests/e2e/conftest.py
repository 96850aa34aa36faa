"""End-to-end: the built web app in the system Chromium against a real `confide serve`.

One server for the session (a fresh data directory, a free port) with the scripted assistant
and an `llm` agent on a `confide mock-llm --faults` process; the administration tests use a
second one whose registration needs approval (`approval_server`). Without Chromium or a built app
the tests skip with the reason, except under CI=true, where that is a failure. Chromium is
/usr/bin/chromium (CONFIDE_E2E_CHROMIUM names another); Playwright never downloads a browser.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from confide.config import Settings
from tests.conftest import TEST_RATE_LIMITS, unavailable
from tests.factories import PASSWORD
from tests.mockllm_server import free_port

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CONFIDE_E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CONFIDE = Path(sys.executable).with_name("confide")
STARTUP_SECONDS = 30.0
# Long enough for a run that waits twice on `[[mock:slow=3]]`; a condition, never a measure.
WAIT_MS = 20_000

NewContext = Callable[..., Awaitable[BrowserContext]]


def web_dir() -> Path:
    """The build the server will serve (CONFIDE_WEB_DIR, as the server reads it)."""
    return Settings(_env_file=None).web_dir


@pytest.fixture(scope="session")
def e2e_ready() -> None:
    """Chromium and the built app are there (else skip, or fail under CI)."""
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        unavailable(f"end-to-end tests need Chromium at {CHROMIUM} (apt-get install chromium)")
    if not (web_dir() / "index.html").is_file():
        unavailable(
            f"end-to-end tests need the built web app in {web_dir()}: "
            "run `npm --prefix web ci && npm --prefix web run build` (or `make web-build`)"
        )


def _start(
    command: list[str], *, env: dict[str, str], cwd: Path, log: Path
) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(command, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited early:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer in {STARTUP_SECONDS:g}s:\n{log.read_text()[-3000:]}")


@dataclass(frozen=True)
class Server:
    """A running `confide serve`: its base URL and the environment it was started with."""

    url: str
    env: dict[str, str]
    home: Path

    def create_user(self, email: str, *, admin: bool = False) -> None:
        """`confide users create` against this server's database (how the first admin is
        made: there are no built-in credentials)."""
        command = [str(CONFIDE), "users", "create", "--email", email, "--password-stdin"]
        done = subprocess.run(
            [*command, *(["--admin"] if admin else [])],
            input=f"{PASSWORD}\n".encode(),
            env=self.env,
            cwd=self.home,
            capture_output=True,
            check=False,
            timeout=STARTUP_SECONDS,
        )
        assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()


@pytest.fixture(scope="session")
def mock_llm_url(e2e_ready: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`confide mock-llm --faults` on a free port, for every server of the session."""
    home = tmp_path_factory.mktemp("mock-llm")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONFIDE_")}
    port = free_port()
    command = [str(CONFIDE), "mock-llm", "--host", "127.0.0.1", "--port", str(port), "--faults"]
    log = home / "mock-llm.log"
    mock = _start(command, env=env, cwd=home, log=log)
    try:
        _wait_for(f"http://127.0.0.1:{port}/v1/models", mock, log)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        _stop(mock)


@contextmanager
def _serve(home: Path, llm_url: str, **settings: str) -> Iterator[Server]:
    """`confide serve` on a free port with a fresh data directory and `settings` (names
    without the CONFIDE_ prefix)."""
    # Nothing from the developer's environment or .env: the run starts in an empty directory.
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONFIDE_")}
    port = free_port()
    env |= {
        "CONFIDE_DATA_DIR": str(home / "data"),
        "CONFIDE_HOST": "127.0.0.1",
        "CONFIDE_PORT": str(port),
        "CONFIDE_WEB_DIR": str(web_dir()),
        "CONFIDE_LLM_BASE_URL": llm_url,
        "CONFIDE_LLM_MODEL": "confide-scripted",
        "CONFIDE_LOG_LEVEL": "WARNING",
        # Cheap hashing: the tests sign in often; the cost is tested elsewhere.
        "CONFIDE_ARGON2_TIME_COST": "1",
        "CONFIDE_ARGON2_MEMORY_KIB": "1024",
        "CONFIDE_ARGON2_PARALLELISM": "1",
        "CONFIDE_MAX_SESSIONS_PER_USER": "10",
        # The session's one server sees every test's sign-ups and messages from one address.
        **{f"CONFIDE_{name.upper()}": limit for name, limit in TEST_RATE_LIMITS.items()},
        # The sharing tests share between freshly registered accounts (test_account.py checks
        # the verification flow under the default).
        "CONFIDE_UNVERIFIED_USERS": "full",
        # Tests sign in and change things at once; a slow CI machine must not push a change
        # past the step-up window (the prompt itself is tested in Vitest and test_mfa.py).
        "CONFIDE_REAUTH_WINDOW_SECONDS": "3600",
        # One address (127.0.0.1) signs into many accounts, some with wrong passwords on
        # purpose: the per-IP block is tested in tests/throttle, not tripped here.
        "CONFIDE_IP_BLOCK_THRESHOLD": "100000",
    }
    env |= {f"CONFIDE_{name.upper()}": value for name, value in settings.items()}
    log = home / "serve.log"
    serve = _start([str(CONFIDE), "serve"], env=env, cwd=home, log=log)
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_for(f"{url}/api/health", serve, log)
        yield Server(url=url, env=env, home=home)
    finally:
        _stop(serve)


@pytest.fixture(scope="session")
def server(mock_llm_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The session's server: open registration, the scripted assistant and the `llm` agent."""
    with _serve(tmp_path_factory.mktemp("e2e"), mock_llm_url) as running:
        yield running


@pytest.fixture(scope="session")
def server_url(server: Server) -> str:
    return server.url


@pytest.fixture(scope="session")
def approval_server(
    mock_llm_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A second server whose new accounts wait for an administrator's approval
    (CONFIDE_REGISTRATION=approval), for the administration tests."""
    home = tmp_path_factory.mktemp("e2e-approval")
    with _serve(home, mock_llm_url, registration="approval") as running:
        yield running


@pytest.fixture(scope="session")
async def browser(e2e_ready: None) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
async def new_context(browser: Browser, server_url: str) -> AsyncIterator[NewContext]:
    """Make browser contexts (each its own cookies: its own session); all closed afterwards."""
    contexts: list[BrowserContext] = []
    expect.set_options(timeout=WAIT_MS)

    async def make(**options: object) -> BrowserContext:
        options.setdefault("base_url", server_url)  # another server's, when given
        context = await browser.new_context(**options)  # type: ignore[arg-type]
        context.set_default_timeout(WAIT_MS)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        await context.close()


@pytest.fixture
async def page(new_context: NewContext) -> Page:
    context = await new_context()
    return await context.new_page()
