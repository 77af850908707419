"""Driving the real page from Python, for the benchmarks and the tests alike: the app on a background
waitress server, headless Chromium through Playwright, and the page helpers (wait until ready, load
the page tools of page_tools.js into it, pass float32 arrays in, read the pad's pixels out).

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

from mnist_tfjs.chromium import find_chromium, launch_chromium
from mnist_tfjs.js_runtimes import ISOLATION_HEADERS

VIEWPORT = {"width": 1200, "height": 860}
PAGE_TOOLS = Path(__file__).with_name("page_tools.js")  # drawing and measuring helpers (digitDemo.bench)
LOCAL_MODULES = "/harness/"  # local modules' URLs, answered by Playwright in the page's origin


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
    """WSGI middleware removing the app's cross-origin isolation headers: the page then runs without
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


# ---------------------------------------------------------------- the browser

class ChromiumMissing(RuntimeError):
    """No Chromium to drive (its message says how to install one)."""


def check_chromium() -> str:
    """The Chromium executable, or ChromiumMissing saying how to install it."""
    path = find_chromium()
    if path is None:
        raise ChromiumMissing("Chromium not found: `apt-get install chromium` (or set CHROMIUM_PATH)")
    return path


@contextlib.contextmanager
def chromium(*, gpu: bool = True) -> Iterator[Any]:
    """Headless Chromium (mnist_tfjs.chromium's flags, the same as the tests'): with `gpu`, with its GPU
    process and WebGPU, so the pages offer their WebGPU runtimes (on SwiftShader, a software adapter,
    where the machine has no GPU); without, WebGL on Chromium's in-process software renderer and no
    WebGPU."""
    from playwright.sync_api import sync_playwright

    executable = check_chromium()
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright, executable, gpu=gpu)
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
        install_page_tools(page)
        yield page
    finally:
        context.close()


# ---------------------------------------------------------------- the page's window.digitDemo

def wait_ready(page: Any, timeout_s: float = 30.0) -> dict[str, Any]:
    """Wait for `window.digitDemo.ready`, return the page's timings; RuntimeError with the reason."""
    page.wait_for_function("() => window.digitDemo !== undefined", timeout=timeout_s * 1000)
    outcome = page.evaluate(
        """(ms) => Promise.race([
             window.digitDemo.ready.then(() => ({ok: true}),
                                         (e) => ({ok: false, error: String(e?.message ?? e)})),
             new Promise((r) => setTimeout(() => r({ok: false, error: `not ready after ${ms} ms`}), ms)),
           ])""",
        timeout_s * 1000,
    )
    if not outcome["ok"]:
        raise RuntimeError(f"page not ready: {outcome['error']}")
    return page.evaluate("() => window.digitDemo.timings")


def call_in_page(page: Any, module: Path, function: str = "", *args: Any) -> Any:
    """Import the local ES module file `module` into the page and call its export `function` with
    `args` (with no `function`, only import it); the result. Playwright answers the module's URL on the
    page's own origin (the app never serves it), so it passes the page's Content-Security-Policy and
    imports the page's modules as the page does."""
    url = urljoin(page.url, LOCAL_MODULES + module.name)
    page.route(url, lambda route: route.fulfill(path=module, content_type="text/javascript"))
    try:
        return page.evaluate("async ([url, name, args]) => { const m = await import(url); "
                             "return name ? m[name](...args) : undefined; }", [url, function, list(args)])
    finally:
        page.unroute(url)


def install_page_tools(page: Any) -> None:
    """Load page_tools.js into a ready page, once: it adds `window.digitDemo.bench`, the drawing and
    measurement helpers the page itself does not ship."""
    if not page.evaluate("() => window.digitDemo.bench !== undefined"):
        call_in_page(page, PAGE_TOOLS)


def set_backend(page: Any, backend: str) -> str | None:
    """Switch the page to `backend`; returns None on success, else the page's reason."""
    return page.evaluate(
        "(name) => window.digitDemo.setBackend(name).then(() => null, (e) => String(e && e.message || e))",
        backend,
    )


def f32_to_base64(array: np.ndarray) -> str:
    """float32 values (any shape) → base64 of their little-endian bytes (page_tools.js `decodeF32`)."""
    return base64.b64encode(np.ascontiguousarray(array, dtype="<f4").tobytes()).decode("ascii")


def predict_pixels(page: Any, images: np.ndarray) -> np.ndarray:
    """Run the page's `digitDemo.predictPixels` on (N, 28, 28[, 1]) images; returns (N, 10) float32."""
    install_page_tools(page)
    count = int(images.shape[0])
    probs = page.evaluate("(b64) => window.digitDemo.bench.predictPixels(b64)",
                          f32_to_base64(images.reshape(count, 784)))
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
    install_page_tools(page)
    page.evaluate("(args) => window.digitDemo.bench.renderDigit(...args)", [f32_to_base64(image), placement])


def pad_rgba(page: Any) -> np.ndarray:
    """The drawing pad's pixels as uint8 RGBA (H, W, 4)."""
    install_page_tools(page)
    data = page.evaluate("() => window.digitDemo.bench.padRgba()")
    raw = np.frombuffer(base64.b64decode(data["b64"]), dtype=np.uint8)
    return raw.reshape(data["height"], data["width"], 4)


# ---------------------------------------------------------------- digits painted on the pad

@dataclass(frozen=True)
class RobustnessResult:
    """Accuracies (fractions) on the same digits: as given, re-drawn via the page, re-drawn naively."""

    digits: int
    seed: int
    pad_side: int
    original: float
    page: float
    naive: float
    render_seconds: float
    misread: list[dict[str, Any]] = field(default_factory=list)

    @property
    def gap_pp(self) -> float:
        """How far the re-drawn accuracy falls below the original one, in percentage points."""
        return 100.0 * (self.original - self.page)

    def summary(self) -> str:
        """One line with the three accuracies."""
        return (f"{self.digits} digits re-drawn on a {self.pad_side}px pad: page preprocessing "
                f"{self.page:.2%}, naive resize {self.naive:.2%}, digits as given {self.original:.2%}")


def measure_robustness(page: Any, images: np.ndarray, labels: np.ndarray, *, seed: int = 1,
                       min_frac: float = 0.40, max_frac: float = 0.95,
                       thin: float = 0.0125, thick: float = 0.025, **extra: Any) -> RobustnessResult:
    """Rendered images (not strokes): MNIST digits painted on the pad at random size, position and
    stroke thickness (`digitDemo.bench.robustness`), read from the pad's pixels by the page's
    preprocessing and by the naive whole-pad resize. The tests use it for the pixel path.

    `images`: (N, 28, 28[, 1]) float32 in [0, 1]; `labels`: (N,) ints. `min_frac`/`max_frac`: digit
    height as a fraction of the pad; `thin`/`thick`: the most the strokes are thinned/thickened, as a
    fraction of the digit's height (a radius, applied to both sides of each stroke).
    """
    count = int(images.shape[0])
    if labels.shape[0] != count:
        raise ValueError(f"{count} images but {labels.shape[0]} labels")
    install_page_tools(page)
    options = {"minFrac": min_frac, "maxFrac": max_frac, "thin": thin, "thick": thick, **extra}
    result = page.evaluate(
        "(args) => window.digitDemo.bench.robustness(...args)",
        [f32_to_base64(images.reshape(count, 784)), [int(v) for v in labels], seed, options],
    )
    return RobustnessResult(
        digits=result["n"],
        seed=result["seed"],
        pad_side=result["padSide"],
        original=result["original"],
        page=result["page"],
        naive=result["naive"],
        render_seconds=result["renderMs"] / 1000.0,
        misread=result["misread"],
    )
