"""Serves the built web app beside the API.

The app is a single page: `/`, `/chat/<id>`, `/settings` and any other page are answered with
`index.html` and the router in the browser picks the page. It is the router's fallback, so
every API route (and its 405) wins, and a path that belongs to the server (`/api/...`,
`/docs`) is never answered with the app: an unknown one stays a problem+json 404.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

import anyio.to_thread
from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.responses import FileResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from confide.errors import NotFound, ServiceUnavailable

# No 'unsafe-inline' and no 'unsafe-eval': the build emits only files, no inline script or style.
WEB_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# Vite names every file under assets/ after a hash of its content: a new build, a new name.
IMMUTABLE = "public, max-age=31536000, immutable"
# index.html and the unhashed files copied from web/public: ask each time (cheap with ETag).
REVALIDATE = "no-cache"
# A share link's page (/s/<token>, links/): its URL is its secret.
SHARED_PAGE = "/s/"
SHARED_PAGE_HEADERS = {"cache-control": "no-store", "x-robots-tag": "noindex, nofollow"}
# Paths that belong to the server: an unknown one is a 404, never the app.
SERVER_PATHS = ("/api", "/docs", "/redoc", "/openapi.json")
NOT_BUILT = (
    "The web app is not built: run `make run` (it builds the app), or "
    "`npm --prefix web ci` and `npm --prefix web run build`, then reload."
)
# Explicit, so the answer does not depend on the host's /etc/mime.types.
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".webmanifest": "application/manifest+json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".webp": "image/webp",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".txt": "text/plain; charset=utf-8",
    ".wasm": "application/wasm",
}


def install_web_app(app: FastAPI, root: Path) -> None:
    """Answer what no route matches from the app built into `root`."""
    app.router.default = WebApp(root, fallback=app.router.default)


class WebApp:
    """The ASGI app the router falls back to when no route matches."""

    def __init__(self, root: Path, *, fallback: ASGIApp) -> None:
        self.root = root
        self.fallback = fallback

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.fallback(scope, receive, send)
            return
        path: str = scope["path"]
        if scope["method"] not in ("GET", "HEAD") or _is_server_path(path):
            raise NotFound("Nothing here.")
        headers = Headers(scope=scope)
        response = await anyio.to_thread.run_sync(self.response, path, headers)
        await response(scope, receive, send)

    def response(self, path: str, headers: Headers) -> Response:
        """The file answering `path` (blocking: it looks at the file system)."""
        file, cache_control = self.locate(path)
        response_headers = {"cache-control": cache_control, "content-security-policy": WEB_CSP}
        if path.startswith(SHARED_PAGE):  # a share link's page: kept by no cache, no index
            response_headers.update(SHARED_PAGE_HEADERS)
        media_type = _content_type(file.name)
        compressed = self.existing(file.with_name(file.name + ".gz"))
        if compressed is not None:
            response_headers["vary"] = "Accept-Encoding"
            if _accepts_gzip(headers.get("accept-encoding", "")):
                response_headers["content-encoding"] = "gzip"
                file = compressed
        response = FileResponse(
            file, headers=response_headers, media_type=media_type, stat_result=file.stat()
        )
        if headers.get("if-none-match") == response.headers["etag"]:
            # The browser's copy is current (index.html is revalidated on every visit).
            kept = ("etag", "cache-control", "content-security-policy", "vary")
            return Response(
                status_code=304, headers={k: v for k, v in response.headers.items() if k in kept}
            )
        return response

    def locate(self, path: str) -> tuple[Path, str]:
        """The file for a request path and its Cache-Control, or the problem to answer."""
        segments = [segment for segment in path.split("/") if segment]
        # No "..", no dotfiles (dist/.vite/), nothing a Windows path or C string would misread.
        if any(s.startswith(".") or "\\" in s or "\x00" in s for s in segments):
            raise NotFound("Nothing here.")
        if segments and segments[0] == "assets":
            asset = self.existing(self.root.joinpath(*segments))
            if asset is None:
                raise NotFound("No such asset (the app may have been rebuilt: reload).")
            return asset, IMMUTABLE
        if segments:
            file = self.existing(self.root.joinpath(*segments))
            if file is not None:
                return file, REVALIDATE
            if "." in segments[-1]:
                # A missing file (favicon.ico, an old bundle), not a page of the app.
                raise NotFound("Nothing here.")
        index = self.existing(self.root / "index.html")
        if index is None:
            raise ServiceUnavailable(NOT_BUILT, code="web_app_not_built", title="Web app not built")
        return index, REVALIDATE

    def existing(self, candidate: Path) -> Path | None:
        """`candidate` resolved, when it is a regular file inside the root (symlinks followed)."""
        try:
            resolved = candidate.resolve(strict=True)
            root = self.root.resolve(strict=True)
        except OSError:
            return None
        if not resolved.is_relative_to(root) or not resolved.is_file():
            return None
        return resolved


def _is_server_path(path: str) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in SERVER_PATHS)


def _content_type(name: str) -> str:
    suffix = Path(name).suffix.lower()
    return _TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"


def _accepts_gzip(accept_encoding: str) -> bool:
    for item in accept_encoding.split(","):
        coding, _, parameters = item.partition(";")
        if coding.strip().lower() not in ("gzip", "*"):
            continue
        quality = parameters.strip().removeprefix("q=").removeprefix("Q=")
        try:
            return not quality or float(quality) > 0
        except ValueError:
            return False
    return False
