"""The proof: the staged model run in TF.js under Node.js and in headless Chromium on the samples
Keras predicted, each backend for as long as its time budget allows; and the one-line refusals for
models TF.js cannot run.
"""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ExportError, VerificationError
from .node_proof import predict_with_tfjs
from .options import ExportOptions
from .rewrites.rebuild import MAX_UNROLL, loop_layers
from .rounding import Float32Allowance, Float32Rounding
from .rules import accuracy_failures
from .samples import Samples, bundle_count, write_bundle
from .specs import TensorSpec

PROGRESS_EVERY_S = 3.0
# Samples reach Chromium through Playwright's pipe, which copies every byte: a bundle larger than
# this would cost more time in transit than the browser backends spend proving.
BROWSER_BUNDLE_BYTES = 24 * 1024 * 1024


@dataclass(frozen=True)
class Reference:
    """The samples and what Keras computes for them, with how the proof judges each output."""

    samples: Samples
    expected: dict[str, np.ndarray]
    outputs: list[TensorSpec]
    classifiers: dict[str, bool]
    thresholds: dict[str, float]

    def native_accuracy(self) -> float | None:
        labels = self.samples.labels
        if labels is None:
            return None
        return float((self.expected[self.outputs[0].name].argmax(axis=1) == labels).mean())


@dataclass
class ProofResults:
    """Every backend's RESULT and the failures that stop publishing."""

    node: dict[str, Any] | None = None
    browser: dict[str, Any] | None = None
    chromium: str | None = None
    exported_accuracy: float | None = None
    failures: list[str] = field(default_factory=list)
    thresholds: dict[str, Any] = field(default_factory=dict)  # what it was judged by, allowances included
    rounding: Float32Rounding | None = None  # float32 rounding, measured when a backend first failed

    def first_failed(self) -> tuple[str, str]:
        """(runtime: "node" or "browser", backend) of the first of `failures`."""
        for runtime, results in (("node", self.node), ("browser", self.browser)):
            for backend, result in (results or {}).items():
                if failures_of(runtime, {backend: result}):
                    return runtime, backend
        raise ValueError("no backend failed the proof")


@dataclass(frozen=True)
class ProofHooks:
    """What the proof asks of the model it proves: `on_failure(error, backend)` turns a backend that
    cannot run the model into the refusal to raise; `on_wrong_values(backend, first failure)` sees
    each Node backend that ran but disagreed, and may raise a refusal of its own;
    `measure_rounding()` (None: no allowance) measures Keras' own float32 rounding once a backend
    has failed."""

    on_failure: Callable[[VerificationError, str], ExportError]
    on_wrong_values: Callable[[str, str], None]
    measure_rounding: Callable[[], Float32Rounding | None] | None = None


class ProgressLine:
    """Progress of one runtime's proof as short lines: backend, samples done, time left (throttled)."""

    def __init__(self, where: str, say: Callable[[str], None], budget_s: float | None) -> None:
        self.where, self.say, self.budget_s = where, say, budget_s
        self.last_said = 0.0

    def __call__(self, progress: dict[str, Any]) -> None:
        if progress.get("phase") == "timing":
            self.say(f"{self.where} {progress.get('backend')}: timing up to {progress.get('calls')} calls "
                     "at batch 1")
            return
        done, total = int(progress.get("done", 0)), int(progress.get("total", 0))
        now = time.monotonic()
        if done < total and now - self.last_said < PROGRESS_EVERY_S:
            return
        self.last_said = now
        left_s = (total - done) * float(progress.get("msPerSample") or 0) / 1000
        if self.budget_s:
            left_s = min(left_s, max(0.0, self.budget_s - float(progress.get("elapsedMs") or 0) / 1000))
        ending = "done" if done >= total else f"~{left_s:.0f} s left"
        self.say(f"{self.where} {progress.get('backend')}: {done:,}/{total:,} samples, {ending}")


def node_proof(staging: Path, bundle_dir: Path, reference: Reference, backends: tuple[str, ...],
               budget_s: float | None, on_failure: Callable[[VerificationError, str], ExportError],
               say: Callable[[str], None]) -> tuple[dict[str, Any], float | None]:
    """Run the staged model in TF.js under Node.js on every backend; ({backend: RESULT}, TF.js accuracy).

    For digit models each RESULT also gets the test accuracy on the digits it compared, and the
    accuracy rules where it compared every digit.
    """
    samples, labels = reference.samples, reference.samples.labels
    wanted = [(spec.name, spec.dtype, reference.expected[spec.name].shape) for spec in reference.outputs]
    say(f"proving in TF.js (Node.js: {', '.join(backends)}) on up to {samples.count:,} samples")
    try:
        found = predict_with_tfjs(staging, bundle_dir, backends, budget_s=budget_s,
                                  outputs=wanted if labels is not None else None,
                                  on_progress=ProgressLine("node", say, budget_s))
    except VerificationError as exc:
        raise on_failure(exc, getattr(exc, "backend", None) or backends[0]) from None
    results: dict[str, Any] = {}
    exported_accuracy = None
    for backend, (result, values) in found.items():
        if labels is not None and values is not None:
            accuracy = _accuracy_rules(result, values[reference.outputs[0].name], reference)
            if result["samples"] == samples.count and exported_accuracy is None:
                exported_accuracy = accuracy
        results[backend] = result
    return results, exported_accuracy


def _accuracy_rules(result: dict[str, Any], scores: np.ndarray, reference: Reference) -> float:
    """Add the test accuracy on the compared digits to RESULT, and the rules when it saw them all."""
    compared = int(result["samples"])
    labels = reference.samples.labels
    assert labels is not None
    accuracy = float((scores[:compared].argmax(axis=1) == labels[:compared]).mean())
    result["accuracy"] = accuracy
    native = reference.native_accuracy()
    if compared == reference.samples.count and native is not None:
        extra = accuracy_failures(native, accuracy, reference.thresholds)
        result["failures"] = list(result["failures"]) + extra
        result["passed"] = result["passed"] and not extra
    return accuracy


def browser_step(staging: Path, bundle_dir: Path, budget_s: float | None, say: Callable[[str], None],
                 timed: bool = False) -> tuple[dict[str, Any] | None, str | None]:
    """The proof in headless Chromium on every browser backend: ({backend: RESULT}, Chromium's version);
    `timed`: each backend that passed also timed at batch 1, for the runtime advice."""
    try:
        from .chromium_proof import BROWSER_BACKENDS, Pacing
        from .chromium_proof import prove_in_chromium as run_in_chromium
    except ImportError:
        return None, None

    say(f"proving in headless Chromium ({', '.join(BROWSER_BACKENDS)})")
    results = run_in_chromium(staging, bundle_dir=bundle_dir, pacing=Pacing(budget_s, timed=timed),
                              on_progress=ProgressLine("browser", say, budget_s))
    versions = [str(r["chromium"]) for r in results.values() if isinstance(r, dict) and r.get("chromium")]
    return results, (versions[-1] if versions else None)


def failures_of(where: str, results: dict[str, Any] | None) -> list[str]:
    """One line per failed check of every backend in `results` ("node wasm: y: max |Δ| ...")."""
    failures = []
    for backend, result in (results or {}).items():
        result = result if isinstance(result, dict) else {}
        if result.get("passed") or result.get("skipped") or result.get("unavailable"):
            continue
        reasons = result.get("failures") or [result.get("error") or "did not pass"]
        failures += [f"{where} {backend}: {reason}" for reason in reasons]
    return failures


def prove(staging: Path, reference: Reference, options: ExportOptions, browser: bool, hooks: ProofHooks,
          say: Callable[[str], None]) -> ProofResults:
    """Node.js first (it names the op or layer TF.js cannot run), then Chromium (with `browser`) if
    Node passed: on `options.backends` and `options.budget_s` each, asking the model's `hooks`.

    The backends within the float32 rounding `hooks.measure_rounding` measures pass, and Chromium is
    judged with it. Both runtimes read one bundle of every sample, outside the staging folder: the
    published bundle is smaller (see `bundle_count`). Where a .tflite was asked for
    (`options.wants_litert`), Chromium's backends are also timed at batch 1 for the runtime advice.
    """
    outcome = ProofResults()
    budget_s = options.budget_s
    allowance = Float32Allowance(hooks.measure_rounding, say)
    with tempfile.TemporaryDirectory(prefix="tfjs-export-proof-") as tmp:
        node_bundle = _bundle(Path(tmp) / "node", reference, reference.samples.count)
        node = node_proof(staging, node_bundle, reference, options.backends, budget_s, hooks.on_failure, say)
        outcome.node, outcome.exported_accuracy = node
        allowance.forgive("node", outcome.node)
        for backend, result in outcome.node.items():
            if result["failures"]:
                hooks.on_wrong_values(backend, result["failures"][0])
        outcome.failures = failures_of("node", outcome.node)
        if browser and not outcome.failures:
            reference = replace(reference, thresholds=allowance.thresholds(reference.thresholds))
            most = bundle_count(reference.samples.arrays, reference.expected, limit=BROWSER_BUNDLE_BYTES,
                                most=reference.samples.count)
            browser_bundle = _bundle(Path(tmp) / "browser", reference, max(1, most))
            outcome.browser, outcome.chromium = browser_step(staging, browser_bundle, budget_s, say,
                                                             options.wants_litert)
            allowance.forgive("browser", outcome.browser)
            outcome.failures += failures_of("browser", outcome.browser)
    outcome.thresholds = allowance.thresholds(reference.thresholds)
    outcome.rounding = allowance.rounding
    return outcome


def _bundle(folder: Path, reference: Reference, count: int) -> Path:
    folder.mkdir()
    write_bundle(folder, reference.samples.arrays, reference.expected, reference.classifiers,
                 reference.thresholds, count)
    return folder


def kept_loop_refusal(model: Any, backend: str, reason: str, kept: list[str]) -> ExportError | None:
    """The refusal for an RNN that had to keep its loop (Keras computes it differently unrolled)."""
    loops = [layer for layer in loop_layers(model) if layer.name in kept]
    if not loops:
        return None
    layer = loops[0]
    return ExportError(f"layer {layer.name} ({type(layer).__name__}) keeps its while loop (unrolled, Keras "
                       "itself computes a masked Bidirectional with return_sequences differently) and "
                       f"TF.js 4.22 cannot run that loop on {backend} ({reason}); prove on the cpu backend "
                       "only (--backend cpu), or drop the mask or return_sequences")


def cannot_run(exc: VerificationError, model: Any, backend: str, kept: list[str]) -> ExportError:
    """One line for a model TF.js cannot run: the layer, the op and what to change (exit 2)."""
    loops = loop_layers(model)
    reason = str(exc).split(": ", 1)[-1]
    kept_loop = kept_loop_refusal(model, backend, reason, kept)
    if kept_loop is not None:
        return kept_loop
    if loops:
        layer = loops[0]
        return ExportError(f"layer {layer.name} ({type(layer).__name__}) keeps a while loop (variable or "
                           f"> {MAX_UNROLL}-step sequence) that TF.js 4.22 cannot run on {backend} "
                           f"({reason}); "
                           f"fix the sequence length in keras.Input(shape=(T, ...)) with T ≤ {MAX_UNROLL} so "
                           "the exporter unrolls it, or prove on the cpu backend only (--backend cpu)")
    match = re.search(r"[Kk]ernel '(\w+)' not registered|'(\w+)' is not yet implemented|[Oo]p '?(\w+)'? "
                      r"(?:is )?not (?:supported|implemented)", reason)
    if match:
        op = next(g for g in match.groups() if g)
        return ExportError(f"TF.js ({backend} backend) has no kernel for op {op} ({reason}); replace the "
                           "layer that uses it with standard layers, or try --backend cpu")
    return exc
