"""LiteRT.js' proof in headless Chromium: the export's `model.tflite` run on the proof bundle through
the shared runner `export/proof.js` and its LiteRT.js adapter (`export/litert-proof.js`) on each
accelerator (wasm, webgpu), each timed at batch 1 after its proof; and, once it passed, its
full-integer twin on held-out samples, in the same page (export/chromium_page.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from mnist_tfjs.export_files import LITERT_INT8_MODEL, LITERT_MODEL
from mnist_tfjs.js_runtimes import LITERT_MODULE, LITERT_WASM_DIR

from .chromium_page import (
    INT8_BUNDLE_PATH,
    TIMED_CALLS,
    bundle_urls,
    check_folders,
    model_url,
    run_harness,
    runner_arguments,
    served_folders,
)
from .errors import ExportError

LITERT_ACCELERATORS = ("wasm", "webgpu")
LITERT_STEP_TIMEOUT_S = 120.0  # each step of a LiteRT.js page: browser start, runtime start, model load


@dataclass(frozen=True)
class LitertRun:
    """LiteRT.js in headless Chromium: its proof per accelerator, each with its batch-1 timing."""

    results: dict[str, dict[str, Any]]  # accelerator: RESULT (with batch1_ms, batch1_calls)
    errors: dict[str, str]  # accelerator: why LiteRT.js could not load or run the model
    skipped: dict[str, str]  # accelerator: why it was not tried (no WebGPU adapter)
    unavailable: dict[str, str]  # accelerator: why WebGPU cannot run this model (not offered there)
    chromium: str
    threads: bool = False  # LiteRT.js ran its threaded build (the page was cross-origin isolated)
    int8_results: dict[str, dict[str, Any]] = field(default_factory=dict)  # accelerator: RESULT with `values`
    int8_errors: dict[str, str] = field(default_factory=dict)
    int8_s: float = 0.0  # what the int8 model's proof and timing took in the page
    adapter: dict[str, Any] | None = None  # the browser's WebGPU adapter (None: it has none)

    @property
    def software_backends(self) -> tuple[str, ...]:
        """Backends whose timings are a software adapter's (WebGPU on SwiftShader): they say nothing of
        a GPU's speed, so they never decide which runtime to ship."""
        return ("webgpu",) if self.adapter and self.adapter.get("software") else ()


@dataclass(frozen=True)
class Int8Bundle:
    """The full-integer twin (model.int8.tflite) proven in a LiteRT.js page once the float model
    passed: its held-out bundle (thresholds: the int8 rules) and the time wasm may compare for."""

    bundle_dir: Path
    budget_s: float | None = None  # None: every held-out sample (a digit model's accuracy rule)


def litert_proof(model_dir: Path, accelerators: tuple[str, ...] = LITERT_ACCELERATORS, *,
                 bundle_dir: Path | None = None, budget_s: float | None = None,
                 classifiers: Sequence[str] | None = None, time_calls: int = TIMED_CALLS,
                 int8: Int8Bundle | None = None,
                 on_progress: Callable[[dict[str, Any]], None] | None = None) -> LitertRun:
    """Prove `model.tflite` in `model_dir` through LiteRT.js in headless Chromium, and time it at
    batch 1.

    Each accelerator compares samples one per call for at most `budget_s` seconds (None: all), then
    makes `time_calls` warm calls (at most chromium_page.TIMING_BUDGET_S seconds, at least 3) whose
    median is its `batch1_ms` (or, where those calls were too slow, its proof's own). An accelerator
    this browser lacks (WebGPU in headless Chromium without a GPU) is in `skipped`, one LiteRT.js cannot
    compile or run the model on in `errors`: neither raises. With `int8`, once `model.tflite`
    passed, its full-integer twin (model.int8.tflite) is proven in the same page on that bundle,
    judged there by the int8 rules its thresholds carry (wasm for at most `int8.budget_s`, WebGPU
    for `budget_s`; its outputs kept, for the accuracy rule judged in Python) and timed:
    `int8_results`, `int8_errors`. Each step (browser start, model load) may take 120 s. Raises
    ExportError (one line) when Chromium, Playwright, a runtime file or LiteRT.js itself is missing
    or will not start.
    """
    unknown = [a for a in accelerators if a not in LITERT_ACCELERATORS]
    if unknown or not accelerators:
        raise ExportError(f"unknown LiteRT.js accelerator(s) {unknown or '(none)'}; "
                          f"use {', '.join(LITERT_ACCELERATORS)}")
    folders = served_folders(model_dir, bundle_dir, None)
    if int8 is not None:
        folders = replace(folders, int8_bundle=Path(int8.bundle_dir))
        check_folders(replace(folders, bundle=Path(int8.bundle_dir)), (LITERT_INT8_MODEL,))
    check_folders(folders, (LITERT_MODEL,))
    arguments = {**runner_arguments(folders, budget_s, classifiers, time_calls, LITERT_STEP_TIMEOUT_S),
                 "accelerators": list(accelerators), "module": LITERT_MODULE, "wasmDir": LITERT_WASM_DIR,
                 "modelUrl": model_url(LITERT_MODEL), "keepOutputs": False,
                 "int8Job": None if int8 is None else {
                     "modelUrl": model_url(LITERT_INT8_MODEL), "bundle": bundle_urls(INT8_BUNDLE_PATH),
                     "budgetMs": 1000 * int8.budget_s if int8.budget_s else None}}
    version, outcome = run_harness(folders, "runLitert", arguments, on_progress)
    return _as_run(version, outcome)


def _as_run(version: str, outcome: dict[str, Any]) -> LitertRun:
    """The page's outcome of `runLitert` in Chromium `version`, as a LitertRun."""
    int8 = outcome["int8"] or {"results": {}, "errors": {}, "ms": 0.0}
    skipped = {name: f"{reason} (headless Chromium {version})" for name, reason in outcome["skipped"].items()}
    results = {name: {**result, "chromium": version} for name, result in outcome["results"].items()}
    return LitertRun(results=results, errors=dict(outcome["errors"]), skipped=skipped,
                     unavailable=dict(outcome["unavailable"]),
                     chromium=version, threads=bool(outcome["threads"]),
                     int8_results={name: {**result, "chromium": version}
                                   for name, result in int8["results"].items()},
                     int8_errors=dict(int8["errors"]), int8_s=float(int8["ms"]) / 1000,
                     adapter=outcome.get("adapter"))
