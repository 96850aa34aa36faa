"""The server side of the web app: SPA fallback, caching, content types, CSP, and what must
never be answered with index.html (API and docs paths, files outside the build)."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

import confide.web
from confide.app import create_app
from confide.config import Settings
from confide.errors import NotFound
from confide.http import API_CSP
from confide.web.serving import IMMUTABLE, WEB_CSP, WebApp, _accepts_gzip
from tests.conftest import TEST_HOSTS, TEST_SECRET, client_for
from tests.factories import assert_problem

INDEX = b'<!doctype html><html><head><script type="module" src="/assets/app-3f2a9c.js">'
INDEX += b"</script></head><body><div id=root></div></body></html>"
SCRIPT = b"console.log('the real app');\n"
STYLE = b"body { margin: 0 }\n"
SECRET = "outside-the-build-7c41"
ClientFactory = Callable[[Path], AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    """A stand-in build: index.html, hashed assets, a public file, and secrets beside it."""
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_bytes(INDEX)
    (root / "assets" / "app-3f2a9c.js").write_bytes(SCRIPT)
    # Different text from the plain file, to see which of the two was sent.
    (root / "assets" / "app-3f2a9c.js.gz").write_bytes(gzip.compress(b"// gzipped variant\n"))
    (root / "assets" / "app-77b1e0.css").write_bytes(STYLE)
    (root / "favicon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    (root / ".vite").mkdir()
    (root / ".vite" / "manifest.json").write_text("{}")
    (tmp_path / "secret.txt").write_text(SECRET)
    (tmp_path / "dist-evil").mkdir()
    (tmp_path / "dist-evil" / "x.js").write_text(SECRET)
    (root / "assets" / "link.js").symlink_to(tmp_path / "secret.txt")
    return root


@pytest.fixture
def web_client(tmp_path: Path) -> ClientFactory:
    """A client for the whole app serving the web build found in `web_dir`."""

    @asynccontextmanager
    async def make(web_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
        settings = Settings(
            _env_file=None,
            data_dir=tmp_path / "data",
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}",
            secret_key=TEST_SECRET,
            allowed_hosts=TEST_HOSTS,
            web_dir=web_dir,
        )
        app = create_app(settings)
        try:
            async with client_for(app) as client:
                yield client
        finally:
            await app.state.database.dispose()

    return make


@pytest.fixture
async def client(web_client: ClientFactory, dist: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with web_client(dist) as c:
        yield c


def assert_index(response: httpx.Response) -> None:
    assert response.status_code == 200, response.text
    assert response.content == INDEX
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"


# The app's pages ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/login",
        "/login?next=%2Fsettings",
        "/register",
        "/settings",
        "/settings/",
        "/chat/0b6f1a52-4a43-4b7e-9d4e-1c2f3a4b5c6d",
        "/index.html",
    ],
)
async def test_app_pages_are_index_html(client: httpx.AsyncClient, path: str) -> None:
    assert_index(await client.get(path))


async def test_pages_carry_the_strict_policy_and_the_hygiene_headers(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/chat/abc")
    policies = response.headers.get_list("content-security-policy")
    assert policies == [WEB_CSP]
    assert "unsafe-inline" not in WEB_CSP
    assert "unsafe-eval" not in WEB_CSP
    assert "script-src 'self';" in WEB_CSP
    assert "frame-ancestors 'none'" in WEB_CSP
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-request-id"]


async def test_head_answers_the_headers_without_the_body(client: httpx.AsyncClient) -> None:
    response = await client.head("/settings")
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-length"] == str(len(INDEX))
    assert response.headers["cache-control"] == "no-cache"


async def test_an_unchanged_page_is_not_sent_again(client: httpx.AsyncClient) -> None:
    first = await client.get("/chat/abc")
    again = await client.get("/settings", headers={"if-none-match": first.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["cache-control"] == "no-cache"
    stale = await client.get("/settings", headers={"if-none-match": '"an-old-build"'})
    assert_index(stale)


async def test_other_methods_on_app_pages_are_not_found(client: httpx.AsyncClient) -> None:
    assert_problem(await client.post("/settings", json={}), 404, "not_found")
    assert_problem(await client.delete("/"), 404, "not_found")


# Assets ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "content_type", "body"),
    [
        ("/assets/app-3f2a9c.js", "text/javascript; charset=utf-8", SCRIPT),
        ("/assets/app-77b1e0.css", "text/css; charset=utf-8", STYLE),
    ],
)
async def test_hashed_assets_are_cached_for_a_year(
    client: httpx.AsyncClient, path: str, content_type: str, body: bytes
) -> None:
    response = await client.get(path, headers={"accept-encoding": "identity"})
    assert response.status_code == 200
    assert response.content == body
    assert response.headers["content-type"] == content_type
    assert response.headers["cache-control"] == IMMUTABLE == "public, max-age=31536000, immutable"
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_unhashed_public_files_are_revalidated(client: httpx.AsyncClient) -> None:
    response = await client.get("/favicon.svg")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml"
    assert response.headers["cache-control"] == "no-cache"


@pytest.mark.parametrize("path", ["/assets/app-000000.js", "/assets/", "/assets", "/favicon.ico"])
async def test_missing_files_are_not_found_problems_not_the_app(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)
    assert_problem(response, 404, "not_found")
    assert b"<html" not in response.content


async def test_a_precompressed_asset_is_sent_to_clients_that_accept_gzip(
    client: httpx.AsyncClient,
) -> None:
    zipped = await client.get("/assets/app-3f2a9c.js", headers={"accept-encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.headers["content-type"] == "text/javascript; charset=utf-8"
    assert zipped.headers["vary"] == "Accept-Encoding"
    assert zipped.content == b"// gzipped variant\n"  # httpx decoded it
    plain = await client.get("/assets/app-3f2a9c.js", headers={"accept-encoding": "gzip;q=0"})
    assert "content-encoding" not in plain.headers
    assert plain.content == SCRIPT


@pytest.mark.parametrize(
    ("header", "accepted"),
    [
        ("gzip", True),
        ("br;q=1.0, gzip;q=0.8", True),
        ("*", True),
        ("gzip;q=0", False),
        ("gzip;q=nonsense", False),
        ("identity", False),
        ("", False),
    ],
)
def test_accept_encoding_is_read_with_its_quality(header: str, accepted: bool) -> None:
    assert _accepts_gzip(header) is accepted


# What is never the app ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api",
        "/api/",
        "/api/no-such-thing",
        "/api/threads/x/nope",
        "/docs/nope",
        "/redoc",
        "/openapi.json",
    ],
)
async def test_server_paths_stay_problem_json(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert_problem(response, 404, "not_found")
    assert response.headers["content-security-policy"] == API_CSP


async def test_the_api_keeps_its_own_policy_and_methods(client: httpx.AsyncClient) -> None:
    health = await client.get("/api/health")
    assert health.status_code == 200
    assert health.headers["content-security-policy"] == API_CSP
    assert health.headers["cache-control"] == "no-store"
    assert_problem(await client.post("/api/health"), 405, "method_not_allowed")


async def test_the_docs_keep_working(client: httpx.AsyncClient) -> None:
    docs = await client.get("/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()
    assert "'unsafe-inline'" in docs.headers["content-security-policy"]  # Swagger UI needs it
    schema = await client.get("/api/openapi.json")
    assert schema.status_code == 200
    assert schema.json()["openapi"].startswith("3.")
    assert not any(path.startswith("/assets") for path in schema.json()["paths"])


# Path traversal ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/assets/%2e%2e/%2e%2e/secret.txt",
        "/%2e%2e/secret.txt",
        "/assets/..%2f..%2fsecret.txt",
        "/..%5csecret.txt",
        "/assets/link.js",
        "/.vite/manifest.json",
        "/assets/%00.js",
        "/%2e%2e/dist-evil/x.js",
    ],
)
async def test_nothing_outside_the_build_is_served(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert_problem(response, 404, "not_found")
    assert SECRET not in response.text


@pytest.mark.parametrize(
    "path",
    ["/../secret.txt", "/assets/../../secret.txt", "/assets/../../dist-evil/x.js", "/a/../../x"],
)
def test_dot_segments_are_refused_before_the_file_system(dist: Path, path: str) -> None:
    """Servers differ in what they normalise; the web app refuses raw dot segments itself."""
    web = WebApp(dist, fallback=lambda *_: None)  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        web.locate(path)


# Not built -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/settings", "/chat/abc"])
async def test_without_a_build_pages_say_how_to_build(
    web_client: ClientFactory, tmp_path: Path, path: str
) -> None:
    async with web_client(tmp_path / "never-built") as client:
        response = await client.get(path)
        health = await client.get("/api/health")
    body = assert_problem(response, 503, "web_app_not_built")
    assert "make run" in body["detail"]
    assert "npm --prefix web run build" in body["detail"]
    assert health.status_code == 200


async def test_without_a_build_assets_are_not_found(
    web_client: ClientFactory, tmp_path: Path
) -> None:
    async with web_client(tmp_path / "never-built") as client:
        assert_problem(await client.get("/assets/app.js"), 404, "not_found")


async def test_a_build_appearing_later_is_served_without_a_restart(
    web_client: ClientFactory, tmp_path: Path
) -> None:
    root = tmp_path / "later"
    async with web_client(root) as client:
        assert_problem(await client.get("/"), 503, "web_app_not_built")
        root.mkdir()
        (root / "index.html").write_bytes(INDEX)
        assert_index(await client.get("/"))


# Settings ------------------------------------------------------------------------------------


def test_web_dir_defaults_to_the_build_inside_the_package() -> None:
    settings = Settings(_env_file=None)
    assert settings.web_dir == Path(confide.web.__file__).resolve().parent / "dist"


def test_web_dir_is_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CONFIDE_WEB_DIR", str(tmp_path / "elsewhere"))
    settings = Settings(_env_file=None)
    assert settings.web_dir == tmp_path / "elsewhere"


def test_an_unknown_websocket_path_is_still_refused(dist: Path, tmp_path: Path) -> None:
    settings = Settings(
        _env_file=None,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}",
        secret_key=TEST_SECRET,
        allowed_hosts=TEST_HOSTS,
        web_dir=dist,
    )
    client = TestClient(create_app(settings))
    with pytest.raises(WebSocketDisconnect), client.websocket_connect("/chat/abc"):
        pass
