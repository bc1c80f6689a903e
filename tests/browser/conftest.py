"""Browser fixtures: the service in-process, headless Chromium, one browser context per person.

* ``server`` -- the app on 127.0.0.1 (``aiohttp_server``) with ``.url`` and a ``.minter``.
* ``browser`` -- Debian's Chromium launched by Playwright with the loopback WebRTC flags.
* ``open_page`` -- ``await open_page(path, width=1280, height=800)``: a page in a fresh context
  (its own storage, like a separate person); ``open_page.console`` keeps what pages printed,
  shown when the test fails.
* ``SCREENSHOTS`` -- docs/screenshots/, where the walkthrough leaves its pictures.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from telehealth.app import create_app
from telehealth.auth.tokens import TokenMinter
from telehealth.config import Settings, from_env
from tests.conftest import CHROMIUM_ARGS, CHROMIUM_PATH, REPO_ROOT

SCREENSHOTS = REPO_ROOT / "docs" / "screenshots"


@dataclass
class Server:
    url: str
    settings: Settings
    minter: TokenMinter


@pytest.fixture
def settings() -> Settings:
    return from_env({}, dev=True)


@pytest.fixture
async def server(aiohttp_server: Any, settings: Settings) -> Server:
    test_server = await aiohttp_server(create_app(settings))
    url = str(test_server.make_url("")).rstrip("/")
    return Server(url=url, settings=settings, minter=TokenMinter(settings))


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not Path(CHROMIUM_PATH).is_file():
        pytest.fail(f"{CHROMIUM_PATH} missing: run `make test` (or `make deps`)", pytrace=False)
    return CHROMIUM_PATH


@pytest.fixture
async def browser(chromium_path: str) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium_path, args=list(CHROMIUM_ARGS), headless=True
        )
        try:
            yield browser
        finally:
            await browser.close()


class OpenPage:
    """``await open_page(path)``: a page at ``path`` in a fresh context, as a separate person.

    ``console`` collects what every page printed (console messages and uncaught errors).
    """

    def __init__(self, browser: Browser, base_url: str) -> None:
        self.browser = browser
        self.base_url = base_url
        self.console: list[str] = []
        self.contexts: list[BrowserContext] = []

    async def __call__(
        self, path: str, *, width: int = 1280, height: int = 800, label: str = ""
    ) -> Page:
        context = await self.browser.new_context(viewport={"width": width, "height": height})
        self.contexts.append(context)
        page = await context.new_page()
        name = label or f"page{len(self.contexts)}"
        page.on("console", lambda msg: self.console.append(f"[{name}] {msg.type}: {msg.text}"))
        page.on("pageerror", lambda error: self.console.append(f"[{name}] pageerror: {error}"))
        await page.goto(self.base_url + path)
        return page

    async def close(self) -> None:
        for context in self.contexts:
            await context.close()


@pytest.fixture
async def open_page(
    browser: Browser, server: Server, request: pytest.FixtureRequest
) -> AsyncIterator[OpenPage]:
    pages = OpenPage(browser, server.url)
    try:
        yield pages
    finally:
        await pages.close()
        failed = getattr(request.node, "rep_call_failed", False)
        if failed or os.environ.get("RAPPORT_SHOW_CONSOLE"):
            print("----- browser console -----\n" + "\n".join(pages.console))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call" and report.failed:
        item.rep_call_failed = True  # type: ignore[attr-defined]
    return report
