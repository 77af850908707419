"""Browser fixtures: headless Chromium through Playwright, and the app on a live waitress server
(harness.page_driver's background server and page helpers, the same the benchmarks measure with).

Chromium runs with its GPU process and WebGPU on, as a visitor's browser does: on a machine without
a GPU it offers pages a software WebGPU adapter (SwiftShader). Registered from conftest.py
(`pytest_plugins`). A missing Chromium, Playwright or WebGPU adapter skips the browser tests that
need it locally and fails them in CI (`CI=true`), as tests.helpers.require says.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from harness.page_driver import VIEWPORT, serve_in_background, wait_ready
from mnist_tfjs.chromium import find_chromium, launch_chromium
from mnist_tfjs.paths import REPO_ROOT
from tests.helpers import require

ARTIFACTS = REPO_ROOT / "test-artifacts"


@dataclass
class OpenedPage:
    """A page plus the console errors and uncaught exceptions, and the console warnings, it has
    logged so far."""

    page: Any
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def noise(self) -> list[str]:
        """Everything a visitor's console would show in yellow or red."""
        return self.errors + self.warnings


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """A headless Chromium (Debian's `chromium`, or $CHROMIUM_PATH) driven by Playwright, with WebGL and
    WebGPU as a visitor's browser has them."""
    executable = find_chromium()
    require(executable is not None, "Chromium (Debian's `chromium`, or set CHROMIUM_PATH)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require(False, "Playwright for Python (`pip install -e '.[test]'`)")
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright, executable, gpu=True)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def live_server(exported_model_dir: Path, small_model_path: Path) -> Iterator[Any]:
    """The app on waitress at a free 127.0.0.1 port: the exported fixture model plus its native twin."""
    from web import create_app

    server = serve_in_background(create_app(exported_model_dir, native_model_path=small_model_path))
    yield server
    server.stop()


def collect(opened: OpenedPage, message: Any) -> None:
    """Keep a console message that is an error or a warning."""
    if message.type == "error":
        opened.errors.append(message.text)
    elif message.type == "warning":
        opened.warnings.append(message.text)


def require_webgpu(page: Any) -> dict[str, Any]:
    """The WebGPU adapter the page (ready, on a secure origin such as http://127.0.0.1) is offered, as the
    pages describe it (web/static/webgpu.js); skips locally and fails in CI where there is none."""
    adapter = page.evaluate("() => import('/static/webgpu.js').then((m) => m.webgpuAdapter())")
    require(adapter is not None, "a WebGPU adapter in headless Chromium (a GPU, or SwiftShader)")
    return adapter


@pytest.fixture(scope="session")
def open_page(chromium: Any) -> Iterator[Callable[..., OpenedPage]]:
    """Factory: open a URL in a fresh browser context (empty cache), collecting console errors and
    warnings."""
    contexts: list[Any] = []

    def _open(url: str, viewport: dict[str, int] | None = None, wait: bool = True) -> OpenedPage:
        context = chromium.new_context(viewport=viewport or VIEWPORT)
        contexts.append(context)
        page = context.new_page()
        opened = OpenedPage(page)
        page.on("console", lambda msg: collect(opened, msg))
        page.on("pageerror", lambda exc: opened.errors.append(f"uncaught: {exc}"))
        page.goto(url)
        if wait:
            wait_ready(page)
        return opened

    yield _open
    for context in contexts:
        context.close()


@pytest.fixture(scope="module")
def demo_page(live_server: Any, open_page: Callable[..., OpenedPage]) -> OpenedPage:
    """The page, ready on its default backend, shared by one test module."""
    return open_page(live_server.url)


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """test-artifacts/ (gitignored): screenshots and figures the browser tests leave behind."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
