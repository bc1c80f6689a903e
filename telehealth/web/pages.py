"""The browser pages and their assets, served by the service itself (no CDN)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

from telehealth.web import keys

REPO_DIR = Path(__file__).resolve().parents[2]
STATIC_DIR = REPO_DIR / "static"
#: MediaPipe's selfie segmentation for background blur, vendored from the npm registry by
#: .ci/vendor-mediapipe (`make run`, `make test`) and served at /vendor/mediapipe/.
MEDIAPIPE_DIR = REPO_DIR / ".cache" / "mediapipe"
MEDIAPIPE_ROUTE = "/vendor/mediapipe/"

PAGES = {
    "/": "index.html",
    "/join": "client.html",
    "/s/{code}": "client.html",  # a short link: the page trades the code for its token
    "/therapist": "therapist.html",
    "/admin": "admin.html",
    # A therapist's room link: the client's page, which asks the door for a token
    # (web/roomlinks.py). The slug is checked there, never used as a path.
    "/r/{slug}": "client.html",
}

# 'wasm-unsafe-eval' lets a page compile WebAssembly (background blur's MediaPipe wasm, served
# by this node), and nothing more: no eval() of strings, and scripts still come only from 'self'.
CSP = (
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; "
    "img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self' ws: wss:; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(self), microphone=(self), display-capture=(self)",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def _page(filename: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handler(request: web.Request) -> web.StreamResponse:
        path = STATIC_DIR / filename
        if not path.is_file():
            raise web.HTTPNotFound()
        return web.FileResponse(path, headers={"Cache-Control": "no-store"})

    return handler


# Two years, subdomains included: sent only when the deployment's public URL is https.
HSTS = "max-age=63072000; includeSubDomains"


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """On every response, just before its headers go out (``on_response_prepare``). A signal
    rather than a middleware: a middleware's frame would stay alive as long as each WebSocket."""
    if response.status != 101:  # a WebSocket upgrade carries no page
        response.headers.update(SECURITY_HEADERS)
        if request.app[keys.SETTINGS].base_url.startswith("https://"):
            response.headers["Strict-Transport-Security"] = HSTS


def blur_available() -> bool:
    """Whether the vendored MediaPipe files are here (the pages say blur is unavailable if not)."""
    return (MEDIAPIPE_DIR / "selfie_segmentation.js").is_file()


def add_routes(app: web.Application) -> None:
    for route, filename in PAGES.items():
        app.router.add_get(route, _page(filename))
    if STATIC_DIR.is_dir():
        app.router.add_static("/static/", STATIC_DIR, show_index=False, follow_symlinks=False)
    if blur_available():
        # .wasm goes out as application/wasm (WebAssembly.instantiateStreaming insists); the
        # models, graph and .data file as application/octet-stream.
        app.router.add_static(
            MEDIAPIPE_ROUTE, MEDIAPIPE_DIR, show_index=False, follow_symlinks=False
        )
