"""Browser (headless Chromium): per-digit latency p50/p95 per TF.js backend at batch 1 and 100
(`timed_calls`), time from page open to ready and bytes transferred on first load (`first_load`).

The one place the page's speed is measured; `python -m benchmarks --only browser` runs it."""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from benchmarks.common import Bench, percentile, say, section_banner
from benchmarks.export_bench import web_model_dir
from harness.page_driver import VIEWPORT, chromium, ready_page, serving, set_backend, wait_ready
from mnist_tfjs.export_files import METADATA_JSON


@dataclass(frozen=True)
class Variant:
    """One way the page runs the model: a TF.js backend, on an isolated page or not."""

    key: str
    label: str
    backend: str
    isolated: bool


VARIANTS = (
    Variant("wasm_threaded", "wasm, threaded (cross-origin isolated)", "wasm", True),
    Variant("wasm_single", "wasm, single-threaded (no isolation headers)", "wasm", False),
    Variant("webgl", "webgl", "webgl", True),
    Variant("cpu", "cpu", "cpu", True),
)


@dataclass(frozen=True)
class Plan:
    """How many page loads and timed calls."""

    ready_runs: int
    batch1_runs: int
    batch1_budget_s: float
    batch100_runs: int
    batch100_budget_s: float
    warmup: int


FULL = Plan(ready_runs=3, batch1_runs=200, batch1_budget_s=60.0, batch100_runs=50, batch100_budget_s=10.0,
            warmup=5)
SMOKE = Plan(ready_runs=1, batch1_runs=10, batch1_budget_s=2.0, batch100_runs=1, batch100_budget_s=0.5,
             warmup=1)

def _category(url: str) -> str:
    path = urlsplit(url).path
    if path.startswith("/vendor/"):
        return "runtime" if not path.endswith(".wasm") else "wasm"
    if path.startswith("/model/"):
        return "model"
    if path.startswith("/api/"):
        return "api"
    return "page"


def first_load(browser: Any, url: str) -> dict[str, Any]:
    """Open `url` in a fresh context (empty cache) until ready; returns the page's ready time and
    the bytes received, from Chrome DevTools Protocol `Network.loadingFinished.encodedDataLength`
    (what came over the wire: compressed bodies plus response headers), per resource category."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        urls: dict[str, str] = {}
        received: dict[str, int] = {}
        cdp.on("Network.requestWillBeSent", lambda e: urls.__setitem__(e["requestId"], e["request"]["url"]))
        cdp.on("Network.loadingFinished",
               lambda e: received.__setitem__(e["requestId"], int(e["encodedDataLength"])))
        cdp.send("Network.enable")
        started = time.perf_counter()
        page.goto(url)
        timings = wait_ready(page, timeout_s=60)
        wall_ms = (time.perf_counter() - started) * 1000.0
        page.wait_for_load_state("networkidle")
        described = page.evaluate("() => window.digitDemo.describeBackend()")
        isolated = page.evaluate("() => self.crossOriginIsolated")
    finally:
        context.close()
    by_category: dict[str, int] = {}
    for request_id, size in received.items():
        category = _category(urls.get(request_id, ""))
        by_category[category] = by_category.get(category, 0) + size
    return {"ready_ms": float(timings["readyMs"]), "wall_ms": wall_ms, "bytes": sum(received.values()),
            "requests": len(received), "bytes_by_category": by_category, "described": described,
            "cross_origin_isolated": isolated}


def ready_figures(browser: Any, url: str, runs: int) -> dict[str, Any]:
    """`first_load` `runs` times; median ready time, bytes of the first load."""
    loads = [first_load(browser, url) for _ in range(runs)]
    first = loads[0]
    return {
        "ready_ms_median": round(statistics.median(load["ready_ms"] for load in loads), 1),
        "ready_ms": [round(load["ready_ms"], 1) for load in loads],
        "wall_ms_median": round(statistics.median(load["wall_ms"] for load in loads), 1),
        "first_load_bytes": first["bytes"],
        "first_load_requests": first["requests"],
        "bytes_by_category": first["bytes_by_category"],
        "described": first["described"],
        "cross_origin_isolated": first["cross_origin_isolated"],
    }


def timed_calls(page: Any, backend: str, batch: int, runs: int, warmup: int,
                budget_s: float) -> dict[str, Any]:
    """Time `runs` predictions of `batch` random images on `backend` after `warmup` untimed ones
    (`digitDemo.bench.latency`); fewer runs (at least 2) when more are asked for than fit in `budget_s`."""
    error = set_backend(page, backend)
    if error is not None:
        return {"backend": backend, "batch": batch, "available": False, "error": error}
    bench = "(o) => window.digitDemo.bench.latency(o)"
    if runs > 2:  # a first timed call tells how many fit in the budget
        probe = page.evaluate(bench, {"batch": batch, "runs": 1, "warmup": warmup})[0]
        runs = max(2, min(runs, int(budget_s * 1000 / max(probe, 0.01))))
        warmup = 0
    times = page.evaluate(bench, {"batch": batch, "runs": runs, "warmup": warmup})
    p50, p95 = percentile(times, 50), percentile(times, 95)
    return {"backend": backend, "batch": batch, "available": True, "runs": runs,
            "described": page.evaluate("() => window.digitDemo.describeBackend()"),
            "p50_ms": round(p50, 4), "p95_ms": round(p95, 4),
            "p50_ms_per_digit": round(p50 / batch, 4), "p95_ms_per_digit": round(p95 / batch, 4)}


def latency_rows(page: Any, variant: Variant, plan: Plan) -> list[dict[str, Any]]:
    """p50/p95 latency per call and per digit at batch 1 and batch 100 for one variant."""
    rows = []
    for batch, runs, budget in ((1, plan.batch1_runs, plan.batch1_budget_s),
                                (100, plan.batch100_runs, plan.batch100_budget_s)):
        row = {"variant": variant.key, **timed_calls(page, variant.backend, batch, runs, plan.warmup, budget)}
        rows.append(row)
        if row["available"]:
            say(f"  {variant.key:<14} batch {batch:<3}  p50 {row['p50_ms']:8.2f} ms  "
                f"p95 {row['p95_ms']:8.2f} ms  per digit p50 {row['p50_ms_per_digit']:7.3f} ms  "
                f"({row['runs']} call{'s' * (row['runs'] != 1)}, {row['described']})")
        else:
            say(f"  {variant.key:<14} batch {batch:<3}  unavailable: {row['error'][:80]}")
    return rows


def run(bench: Bench) -> dict[str, Any]:
    """Serve the exported model, then measure readiness, bytes and latency for every variant."""
    plan = bench.pick(SMOKE, FULL)
    section_banner("browser", f"headless Chromium, backends {', '.join(v.key for v in VARIANTS)}; "
                   f"open-to-ready median of {plan.ready_runs}; latency at batch 1 "
                   f"({plan.batch1_runs} calls) and batch 100")
    model_dir = web_model_dir(bench)
    # What the page downloads: model.json and the weight shards (not the proof bundle beside them).
    download = json.loads((model_dir / METADATA_JSON).read_text())["download_bytes"]
    figures: dict[str, Any] = {"model_bytes": download, "ready": {}, "latency": []}
    with serving(model_dir, isolated=True) as isolated, serving(model_dir, isolated=False) as plain, \
            chromium() as browser:
        figures["chromium"] = f"Chromium {browser.version}"
        for variant in VARIANTS:
            base = isolated.url if variant.isolated else plain.url
            url = base if variant.backend == "wasm" else f"{base}?backend={variant.backend}"
            ready = ready_figures(browser, url, plan.ready_runs)
            figures["ready"][variant.key] = ready
            say(f"  {variant.key:<14} open to ready {ready['ready_ms_median']:7.0f} ms (median)  first load "
                f"{ready['first_load_bytes']:>9,} bytes in {ready['first_load_requests']} responses  "
                f"[{ready['described']}]")
        with ready_page(browser, isolated.url) as page:
            figures["webgl_renderer"] = page.evaluate("() => window.digitDemo.bench.webglRenderer()")
            figures["hardware_concurrency"] = page.evaluate("() => navigator.hardwareConcurrency")
            for variant in VARIANTS:
                if variant.isolated:
                    figures["latency"].extend(latency_rows(page, variant, plan))
        with ready_page(browser, plain.url) as page:
            for variant in VARIANTS:
                if not variant.isolated:
                    figures["latency"].extend(latency_rows(page, variant, plan))
    order = [v.key for v in VARIANTS]
    figures["latency"].sort(key=lambda row: (order.index(row["variant"]), row["batch"]))
    figures["variants"] = {v.key: v.label for v in VARIANTS}
    figures["bytes_method"] = ("sum of Chrome DevTools Protocol Network.loadingFinished encodedDataLength "
                               "over all responses: compressed bodies plus headers")
    figures["plan"] = {"ready_runs": plan.ready_runs, "batch1_runs": plan.batch1_runs,
                       "batch100_runs": plan.batch100_runs, "batch100_budget_s": plan.batch100_budget_s,
                       "warmup": plan.warmup}
    say(f"  webgl renderer: {figures['webgl_renderer']}; navigator.hardwareConcurrency "
        f"{figures['hardware_concurrency']}")
    return figures
