"""The page under measurement: an exported model, the real Flask app on a free 127.0.0.1 port
(with or without cross-origin isolation), and headless Chromium through Playwright."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from benchmarks.common import Bench, BenchError, say

ISOLATION_HEADERS = ("Cross-Origin-Opener-Policy", "Cross-Origin-Embedder-Policy")
PAGE_MODEL_DIGITS = (300, 1000)  # parity-check digits (smoke, full) when a section exports the model itself
VIEWPORT = {"width": 1200, "height": 860}


def web_model_dir(bench: Bench) -> Path:
    """The unquantized export of the benchmarked model: the export section's, or a fresh one."""
    if "none" not in bench.exports:
        from benchmarks.export_bench import export_model
        from common.quiet import quiet_tensorflow

        quiet_tensorflow()
        from export import ExportError

        say("  exporting the model for the page (quantization none)")
        try:
            export_model(bench, "none", bench.pick(*PAGE_MODEL_DIGITS))
        except ExportError as exc:
            raise BenchError(f"export for the page: {exc}") from None
    return bench.exports["none"]


def strip_isolation(wsgi_app: Callable) -> Callable:
    """WSGI middleware removing the cross-origin isolation headers: the page then runs without
    SharedArrayBuffer, so TF.js falls back to the single-threaded wasm build."""

    def app(environ: dict, start_response: Callable) -> Iterable[bytes]:
        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            kept = [(k, v) for k, v in headers if k not in ISOLATION_HEADERS]
            return start_response(status, kept, exc_info)

        return wsgi_app(environ, start)

    return app


@contextlib.contextmanager
def serving(model_dir: Path, *, isolated: bool = True) -> Iterator[Any]:
    """The app serving `model_dir` (static files only) on a free port; yields the BackgroundServer."""
    from web import create_app
    from web.live import serve_in_background

    logging.getLogger("waitress").setLevel(logging.ERROR)
    app = create_app(model_dir, native=False)
    if not isolated:
        app.wsgi_app = strip_isolation(app.wsgi_app)
    server = serve_in_background(app)
    try:
        yield server
    finally:
        server.stop()


def check_chromium() -> str:
    """The Chromium executable, or a BenchError saying how to install it."""
    from web.browser import find_chromium

    path = find_chromium()
    if path is None:
        raise BenchError("Chromium not found: `apt-get install chromium` (or set CHROMIUM_PATH), "
                         "or leave out the browser and robustness sections with --only")
    return path


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """Headless Chromium launched as web.browser does (same flags as the tests)."""
    from playwright.sync_api import sync_playwright

    from web.browser import launch_chromium

    executable = check_chromium()
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright, executable)
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def ready_page(browser: Any, url: str) -> Iterator[Any]:
    """A page opened at `url` in a fresh context, ready (model loaded and warmed up)."""
    from web.browser import wait_ready

    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.goto(url)
        wait_ready(page, timeout_s=60)
        yield page
    finally:
        context.close()
