"""The TF.js parity proof in headless Chromium: the proof bundled with an export (`proof.json` +
`proof.bin`) run through the shared runner `export/proof.js` on each browser backend (wasm, webgl,
webgpu, cpu), each timed at batch 1 after its proof where asked; and the values of intermediate
graph nodes on one backend, for the locator. Both run in the exporter's page
(export/chromium_page.py).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mnist_tfjs.export_files import MODEL_JSON

from .chromium_page import (
    TIMED_CALLS,
    bundle_urls,
    check_folders,
    model_url,
    run_harness,
    runner_arguments,
    served_folders,
)
from .errors import ExportError

BROWSER_BACKENDS = ("wasm", "webgl", "webgpu", "cpu")


@dataclass(frozen=True)
class Pacing:
    """How each backend spends its time in the page: it compares samples in calls of `batch` for at
    most `budget_s` seconds (None: every sample), then, with `timed`, it is timed at batch 1 (the
    median of up to TIMED_CALLS warm calls within chromium_page.TIMING_BUDGET_S)."""

    budget_s: float | None = None
    batch: int = 32
    timed: bool = False


def prove_in_chromium(model_dir: Path, backends: tuple[str, ...] = BROWSER_BACKENDS,
                      timeout_s: float = 120.0, *, bundle_dir: Path | None = None,
                      pacing: Pacing | None = None, classifiers: Sequence[str] | None = None,
                      modules: Path | None = None,
                      on_progress: Callable[[dict[str, Any]], None] | None = None,
                      ) -> dict[str, dict[str, Any]]:
    """Run the proof in headless Chromium on each of `backends`; {backend: RESULT}.

    `model_dir` holds model.json and its shards (a staging folder will do); `bundle_dir` the proof
    bundle (proof.json + proof.bin; default: `model_dir`'s). `pacing` (default: every sample, at
    batch 32, untimed) says how long each backend compares and whether it is then timed at batch 1
    (`batch1_ms`, or its proof's own calls where those were too slow; not TF.js webgpu on a software
    adapter). `classifiers` names the outputs whose argmax agreement counts; None reads them from
    metadata.json's `outputs` when it is there (outputs marked `"classifier": true` in proof.json
    count either way). `timeout_s` bounds each step (browser start, each backend's start, model
    load). `modules`: the node_modules folder with the TF.js runtime (default: the project's).

    RESULT is the shared runner's (docs/export-format.md) plus "chromium" (the browser's version)
    and "tfjs" (the runtime's); WebGPU's also names its "adapter" (vendor, architecture, software).
    WebGPU where the browser has no adapter is {"skipped": why} instead, and WebGPU that cannot
    run the model {"unavailable": why, "adapter": ...}: neither is offered by the pages. Raises
    ExportError (one line) when Chromium or Playwright is missing, a file is missing, or another
    backend cannot start or run the model; a proof that runs but fails is a RESULT with "passed":
    false, not an exception.
    """
    _check_backends(backends)
    pacing = pacing or Pacing()
    folders = served_folders(model_dir, bundle_dir, modules)
    check_folders(folders)
    arguments = {**runner_arguments(folders, pacing.budget_s, classifiers, TIMED_CALLS if pacing.timed else 0,
                                    timeout_s),
                 "backends": list(backends), "batch": pacing.batch, "modelUrl": model_url(MODEL_JSON)}
    version, outcome = run_harness(folders, "runProof", arguments, on_progress)
    if outcome["errors"]:
        failed = "; ".join(f"{name}: {error}" for name, error in outcome["errors"].items())
        raise ExportError(f"the browser proof could not run in Chromium {version}: {failed}")
    skipped = {name: {"skipped": f"{reason} (headless Chromium {version})"}
               for name, reason in outcome["skipped"].items()}
    unavailable = {name: {"unavailable": f"TF.js {name} cannot run this model in Chromium {version}: {error}",
                          "adapter": outcome["adapter"]}
                   for name, error in outcome["unavailable"].items()}
    ran = {name: {**result, "chromium": version, "tfjs": outcome["tfjs"]}
           for name, result in outcome["results"].items()}
    return {name: skipped.get(name) or unavailable.get(name) or ran[name] for name in backends}


def node_values_in_chromium(model_dir: Path, bundle_dir: Path, nodes: list[str], backend: str,
                            timeout_s: float = 300.0) -> list[np.ndarray | None]:
    """The values TF.js computes in headless Chromium on `backend` at each of `nodes` (graph node
    names) for the samples of `bundle_dir` (None: a node TF.js could not fetch), for the locator."""
    _check_backends((backend,))
    folders = served_folders(model_dir, bundle_dir, None)
    arguments = {"backend": backend, "nodes": nodes, "timeoutMs": int(timeout_s * 1000),
                 "modelUrl": model_url(MODEL_JSON), "bundle": bundle_urls()}
    _, outcome = run_harness(folders, "fetchNodes", arguments, None)
    return [None if data is None else np.frombuffer(base64.b64decode(data), "<f4").reshape(shape)
            for shape, data in zip(outcome["shapes"], outcome["data"], strict=True)]


def _check_backends(backends: tuple[str, ...]) -> None:
    unknown = [b for b in backends if b not in BROWSER_BACKENDS]
    if unknown or not backends:
        raise ExportError(f"unknown browser backend(s) {unknown or '(none)'}; "
                          f"use {', '.join(BROWSER_BACKENDS)}")
