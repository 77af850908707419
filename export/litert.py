"""The LiteRT.js target of an export: convert to `model.tflite`, prove it in headless Chromium with
the TF.js proof's samples and thresholds, keep it only when it agrees with Keras, and say which
runtime to ship (metadata.json's `litert` and `runtimes` blocks, docs/export-format.md).

The TF.js model is published whatever happens here: a `.tflite` the converter cannot write,
LiteRT.js cannot run, or that disagrees with Keras is left out, with the reason in one line.
With `--litert int8`, a full-integer twin (export/int8.py) follows a proven float model.tflite,
judged by the quantization rules, and the advice weighs all three: TF.js, LiteRT.js float, LiteRT.js
int8. What the step does comes from the export's options once, as a `LitertJob` (export/options.py).
"""

from __future__ import annotations

import copy
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from mnist_tfjs.export_files import LITERT_MODEL, tfjs_model_files
from mnist_tfjs.js_runtimes import RUNTIME_FILES
from mnist_tfjs.npm_packages import NpmPackagesMissing, node_modules
from mnist_tfjs.versions import npm_version

from .errors import ExportError
from .int8 import (
    Int8Prepared,
    Int8Target,
    int8_budget,
    int8_off,
    int8_verdict,
    not_tried,
    prepare_int8,
    unproven,
    write_held_out,
)
from .options import LitertJob
from .prove import BROWSER_BUNDLE_BYTES, ProgressLine, Reference, failures_of
from .rounding import Float32Allowance, Float32Rounding, measure_rounding
from .runtime_advice import RuntimeFigures, runtime_paths, runtimes_block, sizes
from .samples import bundle_count, write_bundle
from .specs import TensorSpec
from .tflite import BATCH, TfliteModel, TfliteQuantization, TfliteUnavailable, write_tflite

PUBLISHED = ("proven", "unverified")
OFF = f"not asked for (--litert adds a proven {LITERT_MODEL} and says which runtime to ship)"
NO_BROWSER = ("no browser proof (--no-browser, or Chromium not found), and LiteRT.js runs only in a "
              "browser")


# What each target computes in, by --quantize: TF.js and the float .tflite store float16 weights
# with float16 (computed in float32 once loaded); uint8 is TF.js only (the .tflite keeps float32).
TFJS_PRECISION = {"none": "float32", "float16": "float16 weights", "uint8": "uint8 weights"}
LITERT_PRECISION = {"none": "float32", "float16": "float16 weights", "uint8": "float32"}


@dataclass(frozen=True)
class LitertTarget:
    """What the LiteRT.js step decided: metadata's `litert` block, the int8 step's decision (its
    `block` is metadata's `litert_int8`), and `runtimes` when the runtimes were timed."""

    block: dict[str, Any]
    int8_target: Int8Target = field(default_factory=int8_off)
    runtimes: dict[str, Any] | None = None
    versions: dict[str, str | None] = field(default_factory=dict)
    figures: dict[str, RuntimeFigures] = field(default_factory=dict)

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
                  staging: Path, job: LitertJob, tfjs: TfjsProven | None = None) -> LitertTarget:
    """Write, prove and keep (or leave out) `staging/model.tflite` beside the proven TF.js model, and
    with `job.int8` its full-integer twin `model.int8.tflite`.

    Off unless `job.wanted` (--litert); without `job.verify` the files are written unverified (like
    the TF.js model). Without `job.browser` they are not written at all (LiteRT.js runs only in a
    browser). `tfjs`: what the TF.js proof measured, weighed against LiteRT.js in the runtime advice.
    """
    # One fixed-shape SavedModel for both conversions: writing it again would cost seconds.
    with tempfile.TemporaryDirectory(prefix="litert-export-savedmodel-") as tmp:
        target = float_target(model, inputs, outputs, reference, staging, job, Path(tmp) / "saved_model")
    figures = _advice_figures(target, staging, tfjs, job.quantize)
    return replace(target, figures=figures, runtimes=runtimes_block(figures) if figures else None)


def _advice_figures(target: LitertTarget, staging: Path, tfjs: TfjsProven | None,
                    quantize: str) -> dict[str, RuntimeFigures]:
    """Every runtime the advice weighs: LiteRT.js (and its int8 twin, when proven) as timed in its
    page, TF.js as timed in its proof; none unless both runtimes were timed."""
    tfjs_figures = _tfjs_figures(staging, tfjs, quantize) if tfjs is not None and tfjs.ms_per_call else None
    if not target.figures or tfjs_figures is None:
        return {}
    figures = dict(target.figures)
    if target.int8_target.status == "proven":
        figures["litert_int8"] = _int8_figures(target.int8_target, figures["litert"])
    return {**figures, "tfjs": tfjs_figures}


def _tfjs_figures(staging: Path, tfjs: TfjsProven, quantize: str) -> RuntimeFigures | None:
    """The TF.js model as a page meets it: its downloads, and its proof's timings."""
    model_files = [staging / name for name in tfjs_model_files(staging)]
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
                 staging: Path, job: LitertJob, saved_model: Path | None = None) -> LitertTarget:
    """The float `model.tflite`: written, proven and timed beside TF.js, or left out with the reason;
    with `job.int8`, its full-integer twin converted next and proven in the same Chromium page."""
    if not job.wanted:
        return LitertTarget(status_block("off", OFF))
    if job.verify and not job.browser:
        return _left_out(job, status_block("unproven", NO_BROWSER))
    job.say(f"converting to {LITERT_MODEL} for LiteRT.js (batch 1)")
    try:
        tflite = write_tflite(model, inputs, outputs, reference.samples.arrays, staging / LITERT_MODEL,
                              TfliteQuantization(job.quantize), job.verbose, saved_model)
    except TfliteUnavailable as exc:
        (staging / LITERT_MODEL).unlink(missing_ok=True)
        return _left_out(job, status_block("unavailable", str(exc)))
    int8 = prepare_int8(model, inputs, outputs, reference, staging, job, saved_model) if job.int8 else None
    if not job.verify:
        return LitertTarget(status_block("unverified", "--no-verify: never compared with Keras", tflite),
                            int8 if isinstance(int8, Int8Target) else int8_off())

    def keras_float32_error() -> Float32Rounding | None:
        return measure_rounding(model, reference.samples.arrays, reference.expected)

    allowance = Float32Allowance(keras_float32_error, job.say) if job.quantize == "none" else None
    return prove_tflite(tflite, reference, staging, job, int8, allowance)


def _left_out(job: LitertJob, block: dict[str, Any]) -> LitertTarget:
    """No model.tflite: nor its int8 twin, where one was asked for."""
    int8 = unproven(f"{LITERT_MODEL} was not published ({block['status']})") if job.int8 else int8_off()
    return LitertTarget(block, int8)


def prove_tflite(tflite: TfliteModel, reference: Reference, staging: Path, job: LitertJob,
                 int8: Int8Prepared | Int8Target | None = None,
                 allowance: Float32Allowance | None = None) -> LitertTarget:
    """LiteRT.js' proof in Chromium on the browser bundle; the verdict and, when proven, the advice.
    `int8`: the twin converted for its proof (then proven in the same page on its held-out samples),
    or the int8 step already ended (its conversion failed). `allowance`: float32 weights' rounding
    allowance (export/rounding.py), measured only when LiteRT.js fails by max |Δ| alone, as the
    TF.js proof measures it."""
    prepared = int8 if isinstance(int8, Int8Prepared) else None
    target, run = _prove_in_chromium(tflite, reference, staging, job, prepared, allowance)
    if prepared is None:
        return replace(target, int8_target=int8 if isinstance(int8, Int8Target) else int8_off())
    if run is None or target.status != "proven":
        reason = f"{LITERT_MODEL} was not published ({target.status})"
        return replace(target, int8_target=not_tried(prepared, reason))
    verdict = int8_verdict(prepared, reference, run.int8_results, run.int8_errors, run.threads, run.int8_s)
    return replace(target, int8_target=verdict)


def _litert_run(litert_proof: Callable[..., Any], reference: Reference, staging: Path, job: LitertJob,
                int8: Int8Prepared | None) -> Any:
    """One LiteRT.js page: the proof on the browser bundle (with `reference`'s thresholds), timings,
    and with `int8` its twin on the held-out samples (with the int8 rules)."""
    from .litert_proof import Int8Bundle

    classifiers = [name for name, is_classifier in reference.classifiers.items() if is_classifier]
    with tempfile.TemporaryDirectory(prefix="litert-export-proof-") as tmp:
        bundle = Path(tmp)
        most = bundle_count(reference.samples.arrays, reference.expected, limit=BROWSER_BUNDLE_BYTES,
                            most=reference.samples.count)
        write_bundle(bundle, reference.samples.arrays, reference.expected, reference.classifiers,
                     reference.thresholds, max(1, most))
        twin = None
        if int8 is not None:
            write_held_out(bundle / "int8", int8, reference)
            twin = Int8Bundle(bundle / "int8", int8_budget(reference, job.budget_s))
        return litert_proof(staging, bundle_dir=bundle, budget_s=job.budget_s, classifiers=classifiers,
                            int8=twin, on_progress=ProgressLine("LiteRT.js", job.say, job.budget_s))


def _only_max_diff_failures(results: dict[str, Any]) -> bool:
    """Some accelerator failed, and every failure is the max |Δ| rule alone (what float32 rounding
    can explain)."""
    outputs = [entry for result in results.values() if not result.get("passed")
               for entry in (result.get("outputs") or {}).values()]
    failed = [set(entry.get("failed_rules") or ()) for entry in outputs]
    return any(failed) and all(rules <= {"max_relative_diff"} for rules in failed)


def _prove_in_chromium(tflite: TfliteModel, reference: Reference, staging: Path, job: LitertJob,
                       int8: Int8Prepared | None, allowance: Float32Allowance | None = None,
                       ) -> tuple[LitertTarget, Any]:
    """The float model's verdict, and the page's run (None where it did not run)."""
    try:
        from .litert_proof import litert_proof
    except ImportError:
        return _refuse("unproven", "the browser proof (export.litert_proof, Playwright) is not installed",
                       tflite), None
    also = " and its int8 twin" if int8 is not None else ""
    job.say(f"proving in headless Chromium through LiteRT.js{also}, then timing it at batch 1")
    try:
        run = _litert_run(litert_proof, reference, staging, job, int8)
        if allowance is not None and _only_max_diff_failures(run.results):
            allowance.forgive("LiteRT.js", copy.deepcopy(run.results))  # Keras' own float32 error, once
            if allowance.allowances():  # judged again in the page, so that its timings and int8 follow
                reference = replace(reference, thresholds=allowance.thresholds(reference.thresholds))
                job.say("proving LiteRT.js again within float32 rounding")
                run = _litert_run(litert_proof, reference, staging, job, int8)
    except ExportError as exc:
        return _refuse("unavailable", f"LiteRT.js did not run in Chromium: {exc}", tflite), None
    versions = {"litertjs": npm_version("@litertjs/core")}
    return replace(_verdict(run, tflite, allowance, LITERT_PRECISION.get(job.quantize, job.quantize)),
                   versions=versions), run


def _verdict(run: Any, tflite: TfliteModel, allowance: Float32Allowance | None,
             precision: str) -> LitertTarget:
    """What LiteRT.js' page says of the float model: proven (with its figures), refused or unavailable."""
    # LiteRT.js on WebGPU cannot compile some models its wasm build runs (ops that need its JSPI
    # build there): the .tflite is kept for wasm, the pages offer only the accelerators it was
    # proven on, and `unavailable` says why.
    granted = allowance.granted() if allowance is not None else None
    proof = {"browser": run.results or None, "skipped": run.skipped or None,
             "unavailable": run.unavailable or None, "threads": run.threads,
             "float32_rounding": granted.as_dict() if granted else None, "passed": None}
    if run.errors or not run.results:
        accelerator, error = next(iter(run.errors.items()), ("wasm", "no result"))
        return _refuse("unavailable", f"LiteRT.js ({accelerator}) cannot run {LITERT_MODEL}: {error}", tflite,
                       proof)
    if failures := failures_of("LiteRT.js", run.results):
        more = f"; {len(failures) - 1} more" if len(failures) > 1 else ""
        return _refuse("refused", f"disagrees with Keras ({failures[0]}{more})", tflite,
                       {**proof, "passed": False})
    figures = _litert_figures(run, tflite, precision)
    return LitertTarget(status_block("proven", None, tflite, {**proof, "passed": True}),
                        figures={"litert": figures} if figures else {})


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
