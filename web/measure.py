"""Page figures measured in a real browser: latency per backend and batch, and open-to-ready time.

The functions take Playwright objects so a benchmark suite can call them; `python -m web.measure`
serves a model, launches headless Chromium and prints every figure (plus drawing robustness and
a screenshot).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from web.app import DEFAULT_MODEL_DIR
from web.browser import wait_ready

LATENCY_BUDGET_S = 4.0  # per backend and batch size: fewer runs for slow backends


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    position = (len(ordered) - 1) * q / 100.0
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def set_backend(page: Any, backend: str) -> str | None:
    """Switch the page to `backend`; returns None on success, else the page's reason."""
    return page.evaluate(
        "(name) => window.digitDemo.setBackend(name).then(() => null, (e) => String(e && e.message || e))",
        backend,
    )


def latency(page: Any, backend: str, batch: int = 1, runs: int = 100, warmup: int = 5,
            budget_s: float = LATENCY_BUDGET_S) -> dict[str, Any]:
    """Time `predictPixels` on `backend` for batches of `batch` random images.

    Returns p50/p95 per call and per digit (ms); runs are cut to fit `budget_s` on slow backends.
    `available` is False (with `error`) when the backend cannot start in this browser.
    """
    error = set_backend(page, backend)
    if error is not None:
        return {"backend": backend, "batch": batch, "available": False, "error": error}
    bench = "(o) => window.digitDemo.bench.latency(o)"
    probe = page.evaluate(bench, {"batch": batch, "runs": 1, "warmup": warmup})
    affordable = int(budget_s * 1000 / max(probe[0], 0.01))
    runs = max(5, min(runs, affordable))
    times = page.evaluate(bench, {"batch": batch, "runs": runs, "warmup": 1})
    described = page.evaluate("() => window.digitDemo.describeBackend()")
    p50, p95 = percentile(times, 50), percentile(times, 95)
    return {
        "backend": backend,
        "described": described,
        "batch": batch,
        "available": True,
        "runs": runs,
        "p50_ms": p50,
        "p95_ms": p95,
        "p50_ms_per_digit": p50 / batch,
        "p95_ms_per_digit": p95 / batch,
    }


def latency_table(page: Any, backends: tuple[str, ...] = ("wasm", "webgl", "cpu"),
                  batches: tuple[int, ...] = (1, 100), runs: int = 100) -> list[dict[str, Any]]:
    """`latency()` for every backend and batch size; leaves the page on the first backend."""
    rows = [latency(page, backend, batch, runs) for backend in backends for batch in batches]
    set_backend(page, backends[0])
    return rows


def open_to_ready(browser: Any, url: str, runs: int = 3,
                  viewport: dict[str, int] | None = None) -> dict[str, Any]:
    """Open the page `runs` times, each in a fresh context (empty cache), until `digitDemo.ready`.

    Reports the page's own figure (ms from navigation start to ready: model loaded and warmed
    up) and the wall-clock time seen from Python, median and each run.
    """
    page_ms: list[float] = []
    wall_ms: list[float] = []
    for _ in range(runs):
        context = browser.new_context(viewport=viewport or {"width": 1200, "height": 860})
        try:
            page = context.new_page()
            start = time.perf_counter()
            page.goto(url)
            timings = wait_ready(page)
            wall_ms.append((time.perf_counter() - start) * 1000.0)
            page_ms.append(float(timings["readyMs"]))
        finally:
            context.close()
    return {
        "runs": runs,
        "median_ms": statistics.median(page_ms),
        "median_wall_ms": statistics.median(wall_ms),
        "page_ms": page_ms,
        "wall_ms": wall_ms,
    }


def show_example(page: Any, image: np.ndarray) -> dict[str, Any]:
    """Render one digit large on the pad and classify it (for a screenshot with a result on show)."""
    from web.browser import DECODE_F32, f32_to_base64

    side = page.evaluate("window.digitDemo.pad.width")
    placement = {"cx": side * 0.5, "cy": side * 0.5, "height": side * 0.7, "radius": 0}
    page.evaluate(f"([b64, p]) => window.digitDemo.bench.renderDigit(({DECODE_F32})(b64), p)",
                  [f32_to_base64(image), placement])
    return page.evaluate("window.digitDemo.classifyCanvas()")


def _print_latency(rows: list[dict[str, Any]]) -> None:
    print("latency (predictPixels, ms)           p50/call  p95/call  p50/digit")
    for row in rows:
        label = f"  {row['backend']:<6} batch {row['batch']:<4}"
        if not row["available"]:
            print(f"{label}  unavailable: {row['error'][:60]}")
            continue
        print(f"{label}  {row['p50_ms']:9.2f} {row['p95_ms']:9.2f} {row['p50_ms_per_digit']:10.3f}"
              f"   ({row['runs']} runs, {row['described']})")


def main(argv: list[str] | None = None) -> int:
    """`python -m web.measure`: serve a model, measure it in headless Chromium, print the figures."""
    parser = argparse.ArgumentParser(prog="python -m web.measure", description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, default=DEFAULT_MODEL_DIR,
                        help="exported TF.js graph model folder (default: artifacts/web_model)")
    parser.add_argument("--digits", type=int, default=1000, help="MNIST test digits for robustness (0: skip)")
    parser.add_argument("--seed", type=int, default=1, help="which digits and placements (robustness)")
    parser.add_argument("--ready-runs", type=int, default=3)
    parser.add_argument("--screenshot", type=Path, default=Path("test-artifacts/web-measure.png"))
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    args = parser.parse_args(argv)
    if not (args.model_dir / "model.json").is_file():
        print(f"error: no exported model in {args.model_dir}; run `python -m train` then `python -m export`",
              file=sys.stderr)
        return 2

    from playwright.sync_api import sync_playwright

    from web.app import create_app
    from web.browser import find_chromium, launch_chromium
    from web.live import serve_in_background

    if find_chromium() is None:
        print("error: Chromium not found; install Debian's `chromium` or set CHROMIUM_PATH", file=sys.stderr)
        return 2
    figures: dict[str, Any] = {}
    with serve_in_background(create_app(args.model_dir, native=False)) as server, sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            figures["open_to_ready"] = open_to_ready(browser, server.url, runs=args.ready_runs)
            print(f"open to ready: median {figures['open_to_ready']['median_ms']:.0f} ms "
                  f"(runs {', '.join(f'{v:.0f}' for v in figures['open_to_ready']['page_ms'])})")
            page = browser.new_page(viewport={"width": 1200, "height": 860})
            page.goto(server.url)
            wait_ready(page)
            figures["latency"] = latency_table(page)
            _print_latency(figures["latency"])
            from train.data import load_test_set

            images, labels = load_test_set()
            if args.digits > 0:
                from web.robustness import measure_robustness

                pick = np.random.default_rng(args.seed).permutation(len(labels))[: args.digits]
                result = measure_robustness(page, images[pick], labels[pick], seed=args.seed)
                figures["robustness"] = {k: v for k, v in vars(result).items() if k != "misread"}
                print(f"robustness: {result.summary()}")
            show_example(page, images[0])
            args.screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(args.screenshot), full_page=True)
            print(f"screenshot: {args.screenshot}")
        finally:
            browser.close()
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
