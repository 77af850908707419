"""The LiteRT.js target of an export: convert to `model.tflite`, prove it in headless Chromium with
the TF.js proof's samples and thresholds, keep it only when it agrees with Keras, and say which
runtime to ship (metadata.json's `litert` and `runtimes` blocks, docs/export-format.md).

The TF.js model is published whatever happens here: a `.tflite` the converter cannot write,
LiteRT.js cannot run, or that disagrees with Keras is left out, with the reason in one line.
With `int8`, a full-integer twin (export/int8.py) follows a proven float model.tflite, judged by
the quantization rules, and the advice weighs all three: TF.js, LiteRT.js float, LiteRT.js int8.
"""

from __future__ import annotations

import copy
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from mnist_tfjs.contract import LITERT_MODEL, RUNTIME_FILES
from mnist_tfjs.npm_packages import NpmPackagesMissing, node_modules
from mnist_tfjs.versions import npm_version

from .errors import ExportError
from .int8 import OFF as INT8_OFF
from .int8 import (
    Int8Prepared,
    Int8Target,
    int8_block,
    int8_budget,
    int8_verdict,
    not_tried,
    prepare_int8,
    write_held_out,
)
from .prove import BROWSER_BUNDLE_BYTES, Float32Allowance, ProgressLine, Reference, failures_of
from .rounding import Float32Rounding, measure_rounding
from .runtime_advice import RuntimeFigures, runtime_paths, runtimes_block, sizes
from .samples import bundle_count, write_bundle
from .specs import TensorSpec
from .tflite import BATCH, TfliteModel, TfliteUnavailable, write_tflite

PUBLISHED = ("proven", "unverified")
OFF = "not asked for (--litert adds a proven model.tflite and says which runtime to ship)"
NO_BROWSER = ("no browser proof (--no-browser, or Chromium not found), and LiteRT.js runs only in a "
              "browser")


# What each target computes in, by --quantize: TF.js and the float .tflite store float16 weights
# with float16 (computed in float32 once loaded); uint8 is TF.js only (the .tflite keeps float32).
TFJS_PRECISION = {"none": "float32", "float16": "float16 weights", "uint8": "uint8 weights"}
LITERT_PRECISION = {"none": "float32", "float16": "float16 weights", "uint8": "float32"}


@dataclass
class LitertTarget:
    """What the LiteRT.js step decided: metadata's `litert` (and `litert_int8`) block, and `runtimes`
    when the runtimes were timed."""

    block: dict[str, Any]
    runtimes: dict[str, Any] | None = None
    versions: dict[str, str | None] = field(default_factory=dict)
    figures: dict[str, RuntimeFigures] = field(default_factory=dict)
    int8: dict[str, Any] = field(default_factory=lambda: int8_block("off", INT8_OFF))
    int8_target: Int8Target | None = None  # what the int8 step decided, when it ran

    @property
    def status(self) -> str:
        return str(self.block["status"])


@dataclass(frozen=True)
class TfjsProven:
    """What the TF.js proof tells the runtime advice: the model's cost against Keras, and each browser
    backend's batch-1 timing (RESULT's batch1_ms and batch1_calls, export/chromium_proof.py)."""

    accuracy: dict[str, Any] | None = None
    ms_per_call: dict[str, float] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Int8Options:
    """--litert int8: how the full-integer twin is made."""

    allow_float_fallback: bool = False
    data_dir: str | Path | None = None


def status_block(status: str, reason: str | None, tflite: TfliteModel | None = None,
                 proof: dict[str, Any] | None = None) -> dict[str, Any]:
    """metadata.json's `litert` block; the model and its signature only where there is a file."""
    exists = tflite is not None and tflite.path.is_file()
    return {"model": LITERT_MODEL if status in PUBLISHED else None, "status": status, "reason": reason,
            "bytes": tflite.path.stat().st_size if exists else None,
            "batch": BATCH, "signature": tflite.signature if tflite else None,
            "inputs": tflite.inputs if tflite else None, "outputs": tflite.outputs if tflite else None,
            "proof": proof}


def _refuse(status: str, reason: str, tflite: TfliteModel, proof: dict[str, Any] | None = None
            ) -> LitertTarget:
    """Take the `.tflite` back out of the staging folder, keep its figures and the reason."""
    block = status_block(status, reason, tflite, proof)
    tflite.path.unlink(missing_ok=True)
    return LitertTarget(block)


def litert_target(model: Any, inputs: list[TensorSpec], outputs: list[TensorSpec], reference: Reference,
                  staging: Path, *, wanted: bool, verify: bool, browser: bool, budget_s: float | None,
                  quantize: str = "none", int8: bool = False, allow_float_fallback: bool = False,
                  tfjs: TfjsProven | None = None, data_dir: str | Path | None = None,
                  verbose: bool = False, say: Callable[[str], None] = lambda _message: None) -> LitertTarget:
    """Write, prove and keep (or leave out) `staging/model.tflite` beside the proven TF.js model, and
    with `int8` its full-integer twin `model.int8.tflite`.

    Off unless `wanted` (--litert); with `verify` False the files are written unverified (like the
    TF.js model). Without `browser` they are not written at all (LiteRT.js runs only in a browser).
    `tfjs`: what the TF.js proof measured, weighed against LiteRT.js in the runtime advice.
    """
    # One fixed-shape SavedModel for both conversions: writing it again would cost seconds.
    with tempfile.TemporaryDirectory(prefix="litert-export-savedmodel-") as tmp:
        target = float_target(model, inputs, outputs, reference, staging, wanted=wanted, verify=verify,
                              browser=browser, budget_s=budget_s, quantize=quantize, verbose=verbose, say=say,
                              saved_model=Path(tmp) / "saved_model",
                              int8=Int8Options(allow_float_fallback, data_dir) if int8 else None)
    found = target.int8_target
    if int8 and found is None:
        target.int8 = int8_block("unproven", f"not tried: model.tflite was not published ({target.status})")
    elif found is not None:
        target.int8 = found.block
        if target.figures and found.status == "proven":
            target.figures["litert_int8"] = _int8_figures(found, target.figures["litert"])
    tfjs_figures = _tfjs_figures(staging, tfjs, quantize) if tfjs is not None and tfjs.ms_per_call else None
    if target.figures and tfjs_figures is not None:
        target.figures["tfjs"] = tfjs_figures
        target.runtimes = runtimes_block(target.figures)
    else:
        target.figures = {}
    return target


def _tfjs_figures(staging: Path, tfjs: TfjsProven, quantize: str) -> RuntimeFigures | None:
    """The TF.js model as a page meets it: its downloads, and its proof's timings."""
    model_files = [p for p in sorted(staging.iterdir())
                   if p.name == "model.json" or (p.name.startswith("group") and p.suffix == ".bin")]
    return _page_figures("tfjs", model_files, tfjs.ms_per_call, tfjs.calls, accuracy=tfjs.accuracy,
                         precision=TFJS_PRECISION.get(quantize, quantize))


def _page_figures(runtime: str, model_files: list[Path], ms: dict[str, float], calls: dict[str, int],
                  **details: Any) -> RuntimeFigures | None:
    """A runtime as a page meets it: the runtime's files and the model's (raw and gzip), its batch-1
    timings, and `details` (precision, accuracy, software); None without the npm packages."""
    try:
        modules = node_modules()
    except NpmPackagesMissing:
        return None
    runtime_raw, runtime_gzip = sizes(runtime_paths(runtime, modules))
    model_raw, model_gzip = sizes(model_files)
    return RuntimeFigures(runtime_raw, runtime_gzip, model_raw, model_gzip, ms, calls,
                          tuple(file for _, file in RUNTIME_FILES[runtime]), **details)


def _int8_figures(found: Int8Target, litert: RuntimeFigures) -> RuntimeFigures:
    """The int8 model as a page meets it: LiteRT.js' own download, the int8 file, its timing and cost."""
    assert found.tflite is not None and found.batch1_ms is not None
    model_raw, model_gzip = sizes([found.tflite.path])
    verdict = found.block["proof"]["browser"]["wasm"]
    accuracy = {name: {key: figures[key] for key in ("agreement", "ties", "rms_error_of_spread")
                       if figures.get(key) is not None}
                for name, figures in verdict["outputs"].items()}
    cost: dict[str, Any] = {"samples": verdict["samples"], "held_out": True, "outputs": accuracy}
    if "accuracy" in verdict:
        cost["accuracy_change_pp"] = verdict["accuracy"]["change_pp"]
    return RuntimeFigures(litert.runtime_bytes, litert.runtime_gzip_bytes, model_raw, model_gzip,
                          found.batch1_ms, found.batch1_calls or {}, litert.files, precision="int8",
                          accuracy=cost, software=tuple(b for b in litert.software if b in found.batch1_ms))


def float_target(model: Any, inputs: list[TensorSpec], outputs: list[TensorSpec], reference: Reference,
                 staging: Path, *, wanted: bool, verify: bool, browser: bool, budget_s: float | None,
                 quantize: str = "none", verbose: bool = False,
                 say: Callable[[str], None] = lambda _message: None,
                 saved_model: Path | None = None, int8: Int8Options | None = None) -> LitertTarget:
    """The float `model.tflite`: written, proven and timed beside TF.js, or left out with the reason;
    with `int8`, its full-integer twin converted next and proven in the same Chromium page."""
    if not wanted:
        return LitertTarget(status_block("off", OFF))
    if verify and not browser:
        return LitertTarget(status_block("unproven", NO_BROWSER))
    say("converting to model.tflite for LiteRT.js (batch 1)")
    try:
        tflite = write_tflite(model, inputs, outputs, reference.samples.arrays, staging / LITERT_MODEL,
                              verbose, quantize, saved_model=saved_model)
    except TfliteUnavailable as exc:
        (staging / LITERT_MODEL).unlink(missing_ok=True)
        return LitertTarget(status_block("unavailable", str(exc)))
    prepared: Int8Prepared | None = None
    ended: Int8Target | None = None
    if int8 is not None:
        step = prepare_int8(model, inputs, outputs, reference, staging, verify=verify,
                            allow_float_fallback=int8.allow_float_fallback, data_dir=int8.data_dir,
                            verbose=verbose, say=say, saved_model=saved_model)
        prepared, ended = (step, None) if isinstance(step, Int8Prepared) else (None, step)
    if not verify:
        return LitertTarget(status_block("unverified", "--no-verify: never compared with Keras", tflite),
                            int8_target=ended)
    def keras_float32_error() -> Float32Rounding | None:
        return measure_rounding(model, reference.samples.arrays, reference.expected)

    rounding = Float32Allowance(keras_float32_error, say) if quantize == "none" else None
    target = prove_tflite(tflite, reference, staging, budget_s, say, LITERT_PRECISION.get(quantize, quantize),
                          prepared, rounding)
    target.int8_target = target.int8_target or ended
    return target


def prove_tflite(tflite: TfliteModel, reference: Reference, staging: Path, budget_s: float | None,
                 say: Callable[[str], None], precision: str = "float32",
                 int8: Int8Prepared | None = None, rounding: Float32Allowance | None = None) -> LitertTarget:
    """LiteRT.js' proof in Chromium on the browser bundle; the verdict and, when proven, the advice.
    With `int8`, the int8 twin is then proven in the same page on its held-out samples. `rounding`:
    float32 weights' allowance (export/rounding.py), measured only when LiteRT.js fails by max |Δ|
    alone, as the TF.js proof measures it."""
    target = _prove_in_chromium(tflite, reference, staging, budget_s, say, precision, int8, rounding)
    if int8 is not None and target.int8_target is None:
        target.int8_target = not_tried(int8, f"model.tflite was not published ({target.status})")
    return target


def _litert_run(litert_proof: Callable[..., Any], reference: Reference, staging: Path, budget_s: float | None,
                say: Callable[[str], None], int8: Int8Prepared | None) -> Any:
    """One LiteRT.js page: the proof on the browser bundle (with `reference`'s thresholds), timings,
    and with `int8` its twin on the held-out samples."""
    classifiers = [name for name, is_classifier in reference.classifiers.items() if is_classifier]
    with tempfile.TemporaryDirectory(prefix="litert-export-proof-") as tmp:
        bundle = Path(tmp)
        most = bundle_count(reference.samples.arrays, reference.expected, limit=BROWSER_BUNDLE_BYTES,
                            most=reference.samples.count)
        write_bundle(bundle, reference.samples.arrays, reference.expected, reference.classifiers,
                     reference.thresholds, max(1, most))
        held_out = None
        if int8 is not None:
            held_out = bundle / "int8"
            write_held_out(held_out, int8, reference)
        return litert_proof(staging, bundle_dir=bundle, budget_s=budget_s,
                            classifiers=classifiers,
                            int8_bundle_dir=held_out, int8_budget_s=int8_budget(reference, budget_s),
                            on_progress=ProgressLine("LiteRT.js", say, budget_s))


def _only_max_diff_failures(results: dict[str, Any]) -> bool:
    """Some accelerator failed, and every failure is the max |Δ| rule alone (what float32 rounding
    can explain)."""
    outputs = [entry for result in results.values() if not result.get("passed")
               for entry in (result.get("outputs") or {}).values()]
    failed = [set(entry.get("failed_rules") or ()) for entry in outputs]
    return any(failed) and all(rules <= {"max_relative_diff"} for rules in failed)


def _prove_in_chromium(tflite: TfliteModel, reference: Reference, staging: Path, budget_s: float | None,
                       say: Callable[[str], None], precision: str, int8: Int8Prepared | None,
                       rounding: Float32Allowance | None = None) -> LitertTarget:
    try:
        from .chromium_proof import litert_proof
    except ImportError:
        return _refuse("unproven", "the browser proof (export.chromium_proof, Playwright) is not installed",
                       tflite)
    also = " and its int8 twin" if int8 is not None else ""
    say(f"proving in headless Chromium through LiteRT.js{also}, then timing it at batch 1")
    try:
        run = _litert_run(litert_proof, reference, staging, budget_s, say, int8)
        if rounding is not None and _only_max_diff_failures(run.results):
            rounding.forgive("LiteRT.js", copy.deepcopy(run.results))  # Keras' own float32 error, once
            if rounding.allowances():  # judged again in the page, so that its timings and int8 follow
                reference = replace(reference, thresholds=rounding.thresholds(reference.thresholds))
                say("proving LiteRT.js again within float32 rounding")
                run = _litert_run(litert_proof, reference, staging, budget_s, say, int8)
    except ExportError as exc:
        return _refuse("unavailable", f"LiteRT.js did not run in Chromium: {exc}", tflite)
    versions = {"litertjs": npm_version("@litertjs/core")}
    # LiteRT.js on WebGPU cannot compile some models its wasm build runs (ops that need its JSPI
    # build there): the .tflite is kept for wasm, the pages offer only the accelerators it was
    # proven on, and `unavailable` says why.
    granted = rounding.rounding if rounding is not None and rounding.allowances() else None
    proof = {"browser": run.results or None, "skipped": run.skipped or None,
             "unavailable": run.unavailable or None, "threads": run.threads,
             "float32_rounding": granted.as_dict() if granted else None, "passed": None}
    if run.errors or not run.results:
        accelerator, error = next(iter(run.errors.items()), ("wasm", "no result"))
        target = _refuse("unavailable", f"LiteRT.js ({accelerator}) cannot run model.tflite: {error}", tflite,
                         proof)
    elif failures := failures_of("LiteRT.js", run.results):
        proof["passed"] = False
        more = f"; {len(failures) - 1} more" if len(failures) > 1 else ""
        target = _refuse("refused", f"disagrees with Keras ({failures[0]}{more})", tflite, proof)
    else:
        proof["passed"] = True
        figures = _litert_figures(run, tflite, precision)
        target = LitertTarget(status_block("proven", None, tflite, proof),
                              figures={"litert": figures} if figures else {})
        if int8 is not None:
            target.int8_target = int8_verdict(int8, reference, run.int8_results, run.int8_errors, run.threads,
                                              run.int8_s)
    target.versions = versions
    return target


def _worst(result: dict[str, Any] | None) -> dict[str, Any]:
    """A proof RESULT's cost against Keras: the largest relative difference, the lowest agreement."""
    outputs = [o for o in ((result or {}).get("outputs") or {}).values() if isinstance(o, dict)]
    agreements = [o["agreement"] for o in outputs if o.get("agreement") is not None]
    return {"max_relative_diff": max((o["relative_diff"] for o in outputs), default=None),
            "agreement": min(agreements) if agreements else None}


def _litert_figures(run: Any, tflite: TfliteModel, precision: str) -> RuntimeFigures | None:
    """LiteRT.js as a page meets it: its downloads, and each accelerator's timing."""
    ms = {name: result["batch1_ms"] for name, result in run.results.items() if "batch1_ms" in result}
    if not ms:
        return None
    calls = {name: result["batch1_calls"] for name, result in run.results.items() if "batch1_calls" in result}
    return _page_figures("litert", [tflite.path], ms, calls, precision=precision,
                         accuracy=_worst(run.results.get("wasm")),
                         software=tuple(b for b in run.software_backends if b in ms))
