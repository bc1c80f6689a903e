"""Browser fixtures: the service in-process, Debian's Chromium, one browser context per person.

* ``start_service`` -- ``await start_service(nodes=1, **settings)``: the app on 127.0.0.1, on one
  node or on several sharing a Redis (pass ``redis_url``), as ``aiohttp.test_utils.TestServer``s.
* ``service`` -- one node with the default settings.
* ``browser`` -- Chromium launched once for the whole run, with fake camera / microphone devices
  and the loopback WebRTC flags. Every browser test runs in the session's event loop so that
  the one browser can serve them all.
* ``open_page`` -- ``await open_page(url, width=1280, height=800)``: a page in a fresh context
  (its own storage, like a separate person); what pages print is shown when the test fails.
* ``screens`` -- ``await screens.capture(page, "client-waiting")``: axe-core on the screen, then
  its pictures at desktop and phone sizes in test-artifacts/screenshots/ (ignored by git), or in
  the folder named by ``RAPPORT_SCREENSHOTS_DIR``: ``make screenshots`` sets it to
  docs/screenshots/ to refresh the README's pictures.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer
from playwright.async_api import (
    Browser,
    BrowserContext,
    Page,
    ViewportSize,
    async_playwright,
    expect,
)
from pytest_asyncio import is_async_test

from telehealth.app import create_app
from telehealth.auth.tokens import TokenMinter
from telehealth.config import Settings, from_env
from tests.conftest import CHROMIUM_ARGS, CHROMIUM_PATH, REPO_ROOT

#: A test run leaves the tracked pictures alone; ``make screenshots`` points this at docs/.
SCREENSHOTS = REPO_ROOT / os.environ.get("RAPPORT_SCREENSHOTS_DIR", "test-artifacts/screenshots")
ROOM = "demo"
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 375, "height": 812}
#: More fake cameras, so that switching cameras can be tried (Chromium has one by default).
#: Chromium's second fake camera sends 16-bit depth frames that no video encoder takes; the
#: third (MJPEG) is an ordinary camera.
BROWSER_ARGS = [
    "--use-fake-device-for-media-stream=device-count=3"
    if arg == "--use-fake-device-for-media-stream"
    else arg
    for arg in CHROMIUM_ARGS
]

HERE = Path(__file__).parent

# expect() polls until its condition holds, so its deadline only matters when something is
# broken. Playwright's 5 s is short for a 2-core machine shared with other work (see
# join_waiting_room): every condition gets 15 s, like the polling helpers in helpers.py.
expect.set_options(timeout=15_000)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run every browser test in the session's event loop, where the one browser lives."""
    marker = pytest.mark.asyncio(loop_scope="session")
    for item in items:
        if is_async_test(item) and item.path.is_relative_to(HERE):
            item.add_marker(marker, append=False)


# --- the service --------------------------------------------------------------------------------


@dataclass
class Service:
    """One or more nodes of the service, and links to their pages."""

    nodes: list[str]
    settings: Settings
    minter: TokenMinter

    @property
    def url(self) -> str:
        return self.nodes[0]

    def client_link(self, node: int = 0, room: str = ROOM, **mint: Any) -> str:
        mint.setdefault("ttl", 600)
        return f"{self.nodes[node]}/join#{self.minter.mint_client(room, **mint)}"

    def console_link(self, node: int = 0, rooms: Sequence[str] = (ROOM,)) -> str:
        return f"{self.nodes[node]}/therapist#{self.minter.mint_therapist('t1', list(rooms), 600)}"

    def admin_link(self, node: int = 0) -> str:
        return f"{self.nodes[node]}/admin#{self.minter.mint_admin('a1', 600)}"


StartService = Callable[..., Awaitable[Service]]


@pytest_asyncio.fixture(loop_scope="session")
async def start_service() -> AsyncIterator[StartService]:
    servers: list[TestServer] = []

    async def start(nodes: int = 1, **overrides: Any) -> Service:
        settings = from_env({}, dev=True, **overrides)
        if nodes > 1 and not settings.redis_url:
            raise ValueError("several nodes share state through Redis: pass redis_url")
        urls = []
        for i in range(nodes):
            node_settings = settings.with_(node_id=f"node-{'abcd'[i]}") if nodes > 1 else settings
            server = TestServer(create_app(node_settings), host="127.0.0.1")
            await server.start_server()
            servers.append(server)
            urls.append(str(server.make_url("")).rstrip("/"))
        return Service(nodes=urls, settings=settings, minter=TokenMinter(settings))

    try:
        yield start
    finally:
        for server in servers:
            await server.close()


@pytest_asyncio.fixture(loop_scope="session")
async def service(start_service: StartService) -> Service:
    return await start_service()


# --- the browser --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not Path(CHROMIUM_PATH).is_file():
        pytest.fail(f"{CHROMIUM_PATH} missing: run `make test` (or `make deps`)", pytrace=False)
    return CHROMIUM_PATH


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser(chromium_path: str) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium_path, args=BROWSER_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            await browser.close()


class OpenPage:
    """``await open_page(url)``: a page at ``url`` in a fresh context, as a separate person.

    ``permissions`` are granted to the page's origin ("notifications", "clipboard-read", ...);
    ``init_script`` runs before the page's own scripts (to stand in for a browser feature).
    ``locale`` is the browser's language ("es-ES": navigator.languages, Accept-Language).
    ``console`` collects what every page printed (console messages and uncaught errors).
    """

    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        self.console: list[str] = []
        self.contexts: list[BrowserContext] = []

    async def __call__(
        self,
        url: str,
        *,
        width: int = DESKTOP["width"],
        height: int = DESKTOP["height"],
        label: str = "",
        permissions: Sequence[str] = (),
        init_script: str | None = None,
        locale: str | None = None,
    ) -> Page:
        context = await self.browser.new_context(
            viewport={"width": width, "height": height}, locale=locale
        )
        self.contexts.append(context)
        if permissions:
            # Granting replaces the context's permissions: keep camera and microphone, without
            # which Chromium also hides host ICE candidates behind mDNS names that cannot resolve.
            origin = "/".join(url.split("/")[:3])
            granted = {"camera", "microphone", *permissions}
            await context.grant_permissions(sorted(granted), origin=origin)
        if init_script:
            await context.add_init_script(init_script)
        page = await context.new_page()
        name = label or f"page{len(self.contexts)}"
        page.on("console", lambda msg: self.console.append(f"[{name}] {msg.type}: {msg.text}"))
        page.on("pageerror", lambda error: self.console.append(f"[{name}] pageerror: {error}"))
        await page.goto(url)
        return page

    async def close(self) -> None:
        for context in self.contexts:
            await context.close()


@pytest_asyncio.fixture(loop_scope="session")
async def open_page(browser: Browser, request: pytest.FixtureRequest) -> AsyncIterator[OpenPage]:
    pages = OpenPage(browser)
    try:
        yield pages
    finally:
        await pages.close()
        failed = request.node.stash.get(CALL_FAILED, False)
        if failed or os.environ.get("RAPPORT_SHOW_CONSOLE"):
            print("----- browser console -----\n" + "\n".join(pages.console))


#: Set on a test item whose call phase failed, so that ``open_page`` shows the console.
CALL_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call" and report.failed:
        item.stash[CALL_FAILED] = True
    return report


# --- screens: pictures and accessibility -------------------------------------------------------

AXE_RUN = """async () => {
  const result = await axe.run(document, {
    runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]},
  });
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => n.target.join(" ")),
  }));
}"""

SIDEWAYS_JS = "document.documentElement.scrollWidth > document.documentElement.clientWidth"


@dataclass
class Screens:
    """Each screen once through axe-core, and its pictures at desktop and phone sizes."""

    axe_js: str
    problems: dict[str, list[Any]] = field(default_factory=dict)
    minor: dict[str, list[Any]] = field(default_factory=dict)
    taken: list[str] = field(default_factory=list)

    async def audit(self, page: Page, name: str) -> None:
        # page.evaluate is not subject to the page's CSP, unlike an injected <script>.
        if not await page.evaluate("typeof axe !== 'undefined'"):
            await page.evaluate(self.axe_js)
        found: list[dict[str, Any]] = await page.evaluate(AXE_RUN)
        serious = [v for v in found if v["impact"] in ("serious", "critical")]
        if serious:
            self.problems[name] = serious
        if len(found) > len(serious):
            self.minor[name] = [v for v in found if v not in serious]

    async def capture(self, page: Page, name: str, *, audit: bool = True) -> None:
        """axe on the screen as it is, then a desktop and a phone picture (full page)."""
        if audit:
            await self.audit(page, name)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        size = page.viewport_size or DESKTOP
        await page.set_viewport_size(DESKTOP)
        await page.wait_for_timeout(150)  # let video tiles settle into the new layout
        await page.screenshot(path=str(SCREENSHOTS / f"{name}-desktop.png"), full_page=True)
        await page.set_viewport_size(PHONE)
        await page.wait_for_timeout(150)
        if await page.evaluate(SIDEWAYS_JS):
            self.problems.setdefault(name, []).append("scrolls sideways at 375 px")
        await page.screenshot(path=str(SCREENSHOTS / f"{name}-phone.png"), full_page=True)
        await page.set_viewport_size(size)
        self.taken.append(name)

    def check(self) -> None:
        if self.minor:
            print("axe, moderate or minor:", self.minor)
        assert not self.problems, self.problems


@pytest.fixture
def screens(axe_js: str) -> Screens:
    return Screens(axe_js)
