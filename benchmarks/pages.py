"""Driving the real page from Python, for the benchmarks and the tests alike: the app on a background
waitress server, headless Chromium through Playwright, and the page helpers (wait until ready, load
the measurement helpers of page_bench.js into it, pass float32 arrays in, read the pad's pixels out).

Only measurement code and tests import this; the product packages (`web`, `export`, `train`) never do.
Playwright and waitress are imported only when called.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import numpy as np

from benchmarks.common import Bench, BenchError, say
from mnist_tfjs.chromium import find_chromium, launch_chromium

ISOLATION_HEADERS = ("Cross-Origin-Opener-Policy", "Cross-Origin-Embedder-Policy")
PAGE_MODEL_DIGITS = (300, 1000)  # parity-check digits (smoke, full) when a section exports the model itself
VIEWPORT = {"width": 1200, "height": 860}
PAGE_BENCH = Path(__file__).with_name("page_bench.js")  # the page's measurement helpers (digitDemo.bench)
PAGE_BENCH_URL = "/benchmarks/page_bench.js"  # answered by Playwright in the page's origin, not by the app

# JS: a base64 string of little-endian float32 values → Float32Array. Prefix for page.evaluate sources.
DECODE_F32 = """(b64) => {
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i += 1) bytes[i] = bin.charCodeAt(i);
  return new Float32Array(bytes.buffer);
}"""


# ---------------------------------------------------------------- the app, served in the background

@dataclass
class BackgroundServer:
    """A running waitress server; `url` ends with '/'. Call `stop()` (or use it as a context manager)."""

    url: str
    port: int
    _server: object = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    def stop(self) -> None:
        """Close the listening socket and open connections, stop the workers, wait for the loop to end."""
        from waitress import wasyncore

        def close_everything() -> None:
            # Runs in the server's own loop thread (closing sockets from here would race its
            # select()); keep-alive connections from a browser are closed too, so the loop ends.
            wasyncore.close_all(self._server._map, ignore_all=True)

        self._server.trigger.pull_trigger(close_everything)
        self._server.task_dispatcher.shutdown()
        self._thread.join(timeout=10)

    def __enter__(self) -> BackgroundServer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def serve_in_background(app: Callable, host: str = "127.0.0.1", port: int = 0,
                        threads: int = 4) -> BackgroundServer:
    """Serve the WSGI `app` with waitress on `host:port` (0: a free port) from a daemon thread."""
    from waitress import create_server

    logging.getLogger("waitress").setLevel(logging.ERROR)  # queue-depth warnings under load, etc.
    server = create_server(app, host=host, port=port, threads=threads, ident="mnist-tfjs")
    thread = threading.Thread(target=server.run, name="waitress", daemon=True)
    thread.start()
    actual = server.effective_port
    return BackgroundServer(url=f"http://{host}:{actual}/", port=actual, _server=server, _thread=thread)


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
def serving(model_dir: Path, *, isolated: bool = True) -> Iterator[BackgroundServer]:
    """The app serving `model_dir` (static files only, no native model) on a free port."""
    from web import create_app

    app = create_app(model_dir, native=False)
    if not isolated:
        app.wsgi_app = strip_isolation(app.wsgi_app)
    with serve_in_background(app) as server:
        yield server


def web_model_dir(bench: Bench) -> Path:
    """The unquantized export of the benchmarked model: the export section's, or a fresh one."""
    if "none" not in bench.exports:
        from benchmarks.export_bench import export_at
        from mnist_tfjs.quiet import quiet_tensorflow

        quiet_tensorflow()
        from export import ExportError

        say("  exporting the model for the page (quantization none)")
        try:
            export_at(bench, "none", bench.pick(*PAGE_MODEL_DIGITS))
        except ExportError as exc:
            raise BenchError(f"export for the page: {exc}") from None
    return bench.exports["none"]


# ---------------------------------------------------------------- the browser

def check_chromium() -> str:
    """The Chromium executable, or a BenchError saying how to install it."""
    path = find_chromium()
    if path is None:
        raise BenchError("Chromium not found: `apt-get install chromium` (or set CHROMIUM_PATH), "
                         "or leave out the browser and robustness sections with --only")
    return path


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """Headless Chromium (mnist_tfjs.chromium's flags, the same as the tests')."""
    from playwright.sync_api import sync_playwright

    executable = check_chromium()
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright, executable)
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def ready_page(browser: Any, url: str, viewport: dict[str, int] | None = None) -> Iterator[Any]:
    """A page opened at `url` in a fresh context, ready (model loaded and warmed up)."""
    context = browser.new_context(viewport=viewport or VIEWPORT)
    try:
        page = context.new_page()
        page.goto(url)
        wait_ready(page, timeout_s=60)
        install_page_bench(page)
        yield page
    finally:
        context.close()


# ---------------------------------------------------------------- the page's window.digitDemo

def wait_ready(page: Any, timeout_s: float = 30.0) -> dict[str, Any]:
    """Wait for `window.digitDemo.ready`, return the page's timings; RuntimeError with the reason."""
    page.wait_for_function("() => window.digitDemo !== undefined", timeout=timeout_s * 1000)
    outcome = page.evaluate(
        """(ms) => Promise.race([
             window.digitDemo.ready.then(
               () => ({ok: true}),
               (e) => ({ok: false, error: String(e && e.message || e)})),
             new Promise((r) => setTimeout(() => r({ok: false, error: `not ready after ${ms} ms`}), ms)),
           ])""",
        timeout_s * 1000,
    )
    if not outcome["ok"]:
        raise RuntimeError(f"page not ready: {outcome['error']}")
    return page.evaluate("() => window.digitDemo.timings")


def install_page_bench(page: Any) -> None:
    """Load benchmarks/page_bench.js into a ready page, once: it adds `window.digitDemo.bench`, the
    measurement helpers the page itself does not ship. Playwright answers the module's URL on the
    page's own origin (the app never serves it), so it passes the page's Content-Security-Policy and
    imports the page's modules as the page does."""
    if page.evaluate("() => window.digitDemo.bench !== undefined"):
        return
    url = urljoin(page.url, PAGE_BENCH_URL)
    page.route(url, lambda route: route.fulfill(path=PAGE_BENCH, content_type="text/javascript"))
    try:
        page.evaluate("(url) => import(url).then(() => undefined)", url)
    finally:
        page.unroute(url)


def set_backend(page: Any, backend: str) -> str | None:
    """Switch the page to `backend`; returns None on success, else the page's reason."""
    return page.evaluate(
        "(name) => window.digitDemo.setBackend(name).then(() => null, (e) => String(e && e.message || e))",
        backend,
    )


def f32_to_base64(array: np.ndarray) -> str:
    """float32 values (any shape) → base64 of their little-endian bytes, for DECODE_F32."""
    return base64.b64encode(np.ascontiguousarray(array, dtype="<f4").tobytes()).decode("ascii")


def predict_pixels(page: Any, images: np.ndarray) -> np.ndarray:
    """Run the page's `digitDemo.predictPixels` on (N, 28, 28[, 1]) images; returns (N, 10) float32."""
    count = int(images.shape[0])
    probs = page.evaluate(
        f"""async (b64) => {{
              const pixels = ({DECODE_F32})(b64);
              return Array.from(await window.digitDemo.predictPixels(pixels));
            }}""",
        f32_to_base64(images.reshape(count, 784)),
    )
    return np.asarray(probs, dtype=np.float32).reshape(count, 10)


def draw_strokes(page: Any, strokes: Iterable[Any], steps: int = 2) -> None:
    """Draw strokes on the pad with real (trusted) mouse events; points are fractions of its side."""
    box = page.locator("#pad").bounding_box()
    for stroke in strokes:
        x, y = stroke[0]
        page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"])
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"], steps=steps)
        page.mouse.up()


def render_digit(page: Any, image: np.ndarray, placement: dict[str, float]) -> None:
    """Draw a 28x28 image on the pad (`digitDemo.bench.renderDigit`): centre `cx`/`cy`, `height` and
    stroke change `radius`, in pad pixels."""
    install_page_bench(page)
    page.evaluate(f"([b64, p]) => window.digitDemo.bench.renderDigit(({DECODE_F32})(b64), p)",
                  [f32_to_base64(image), placement])


def pad_rgba(page: Any) -> np.ndarray:
    """The drawing pad's pixels as uint8 RGBA (H, W, 4)."""
    data = page.evaluate(
        """() => {
             const pad = window.digitDemo.pad;
             const image = pad.getContext('2d').getImageData(0, 0, pad.width, pad.height);
             let bin = '';
             for (let i = 0; i < image.data.length; i += 0x8000) {
               bin += String.fromCharCode.apply(null, image.data.subarray(i, i + 0x8000));
             }
             return {b64: btoa(bin), width: pad.width, height: pad.height};
           }"""
    )
    raw = np.frombuffer(base64.b64decode(data["b64"]), dtype=np.uint8)
    return raw.reshape(data["height"], data["width"], 4)
