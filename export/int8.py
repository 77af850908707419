"""The full-integer LiteRT.js model (`--litert int8`): calibrate, convert, prove on held-out samples
in LiteRT.js itself, and keep it only when it meets the quantization rules (export.rules.INT8_*).

An int8 model cannot agree with Keras to 1e-4, so its proof is of another kind: argmax agreement
for classifier outputs, the error relative to the output's spread across samples for the others,
and for digit models the test accuracy before and after on every test digit. The samples it is
proven on are never the ones it was calibrated on: digit models calibrate on MNIST training digits
and are proven on the 10,000 test digits; other models calibrate on the last proof samples and are
proven on the rest.

Every rule but the accuracy one is judged by the proof runner export/proof.js, which reads them
from the held-out bundle's thresholds (the output's int8 steps included): the exporter's Chromium
page and the model page (which reads them from metadata.json's `litert_int8.thresholds`) judge
them with the same code. The test accuracy needs the labels, which no bundle carries: it is judged
here, as the TF.js proof's accuracy rules are.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mnist_tfjs.export_files import LITERT_INT8_MODEL, LITERT_MODEL
from mnist_tfjs.model_kinds import MNIST_KIND

from .errors import ExportError
from .options import LitertJob
from .prove import Reference
from .rules import INT8_THRESHOLDS, MNIST_INT8_THRESHOLDS
from .samples import bundle_count, write_bundle
from .specs import TensorSpec
from .tflite import (
    BATCH,
    TfliteModel,
    TfliteQuantization,
    TfliteUnavailable,
    float_ops,
    output_steps,
    write_tflite,
)

# TensorFlow's post-training quantization guide asks for "a few hundred" representative samples;
# the quick digit model lands within 0.02-0.04 pp of Keras' test accuracy with 50 to 1,000
# training digits, so 500 costs half a second and leaves margin. Other models calibrate on at most
# 100 proof samples (an application net runs them through the float interpreter, ~0.1 s each) and
# never on more than half, so the other half is left for the proof.
CALIBRATION_DIGITS = 500
CALIBRATION_SAMPLES = 100
# The held-out samples reach Chromium in one bundle: every test digit of a digit model (31 MB),
# as many generic samples as fit.
INT8_BUNDLE_BYTES = 40 * 1024 * 1024
OFF = f"not asked for (--litert int8 adds a full-integer {LITERT_INT8_MODEL} beside {LITERT_MODEL})"


@dataclass(frozen=True)
class Calibration:
    """The samples the converter calibrates on, those the proof holds out, and where they came from."""

    arrays: dict[str, np.ndarray]
    held_out: int  # the first `held_out` proof samples
    info: dict[str, Any]


def calibration_split(reference: Reference, data_dir: str | Path | None = None) -> Calibration:
    """Digit models: MNIST training digits (all test digits held out). Others: the last proof samples
    (at most CALIBRATION_SAMPLES, at most half), the rest held out. ExportError when too few."""
    samples = reference.samples
    if samples.kind == MNIST_KIND:
        from mnist_tfjs.mnist import DataError, load_mnist

        try:
            train = load_mnist(data_dir).x_train[:CALIBRATION_DIGITS]
        except DataError as exc:
            raise ExportError(str(exc)) from None
        name = next(iter(samples.arrays))
        return Calibration({name: train}, samples.count,
                           {"source": "mnist-train", "samples": len(train), "held_out": samples.count,
                            "why": "a few hundred samples, as TensorFlow's post-training quantization guide "
                                   "asks; training digits, so none of the test digits it is proven on"})
    count = samples.count
    calibrate = min(CALIBRATION_SAMPLES, count // 2)
    if calibrate < 1:
        raise ExportError(f"full-integer quantization needs at least 2 samples (one to calibrate on, one "
                          f"to prove on); the proof has {count}: pass more with --samples or --samples-count")
    held_out = count - calibrate
    arrays = {name: values[held_out:] for name, values in samples.arrays.items()}
    return Calibration(arrays, held_out,
                       {"source": f"the last {calibrate} proof samples", "samples": calibrate,
                        "held_out": held_out,
                        "why": f"at most {CALIBRATION_SAMPLES} (a few hundred is TensorFlow's advice; each "
                               "costs a float inference) and at most half, so the other half proves it"})


def thresholds_for(reference: Reference, steps: dict[str, float] | None = None) -> dict[str, Any]:
    """The int8 rules for `reference`'s kind of model, with each output's int8 step (`int8_step`,
    read from the converted model: a flip between classes closer than one step is a tie)."""
    rules = MNIST_INT8_THRESHOLDS if reference.samples.kind == MNIST_KIND else INT8_THRESHOLDS
    return {**rules, "int8_step": dict(steps or {})}


def accuracy_rule(scores: np.ndarray, reference: Reference, count: int, thresholds: dict[str, Any],
                  every_digit: bool = True) -> tuple[dict[str, Any], list[str]]:
    """Digit models' test accuracy of Keras and of the int8 model (`scores`, its first output) on the
    first `count` test digits, and the failure when it drops more than `max_accuracy_drop_pp`; the
    rule needs every test digit where `every_digit` (a runtime that compares only what its budget
    allows is judged by the runner's rules alone)."""
    labels = reference.samples.labels
    assert labels is not None
    first = reference.outputs[0].name
    native = float((reference.expected[first][:count].argmax(axis=1) == labels[:count]).mean())
    scores = np.asarray(scores).reshape(-1, reference.expected[first].shape[-1])[:count]
    quantized = float((scores.argmax(axis=1) == labels[:count]).mean())
    change = 100.0 * (quantized - native)
    accuracy = {"digits": count, "keras": native, "int8": quantized, "change_pp": round(change, 4)}
    limit = thresholds["max_accuracy_drop_pp"]
    if count < reference.samples.count:
        if every_digit:
            return accuracy, [f"test accuracy on {count:,} of {reference.samples.count:,} digits only: "
                              "the rule needs every test digit"]
    elif -change > limit + 1e-9:
        return accuracy, [f"test accuracy {100 * quantized:.2f} % is {-change:.3f} pp below Keras' "
                          f"{100 * native:.2f} % (at most {limit:g} pp)"]
    return accuracy, []


@dataclass
class Int8Target:
    """What the int8 step decided: metadata's `litert_int8` block, and its LiteRT.js timing."""

    block: dict[str, Any]
    tflite: TfliteModel | None = None
    batch1_ms: dict[str, float] | None = None
    batch1_calls: dict[str, int] | None = None

    @property
    def status(self) -> str:
        return str(self.block["status"])


def int8_block(status: str, reason: str | None, tflite: TfliteModel | None = None,
               **figures: Any) -> dict[str, Any]:
    """metadata.json's `litert_int8` block; the model and its signature only where there is a file."""
    exists = tflite is not None and tflite.path.is_file()
    block = {"model": LITERT_INT8_MODEL if status in ("proven", "unverified") else None, "status": status,
             "reason": reason, "precision": "int8", "bytes": tflite.path.stat().st_size if exists else None,
             "batch": BATCH, "signature": tflite.signature if tflite else None,
             "inputs": tflite.inputs if tflite else None, "outputs": tflite.outputs if tflite else None,
             "calibration": None, "float_fallback": False, "float_ops": None, "thresholds": None,
             "proof": None, "seconds": None}
    block.update(figures)
    return block


def int8_off() -> Int8Target:
    """The int8 step where `--litert int8` was not asked for."""
    return Int8Target(int8_block("off", OFF))


def unproven(reason: str) -> Int8Target:
    """The int8 step where the float model.tflite it follows was not published, nothing converted."""
    return Int8Target(int8_block("unproven", f"not tried: {reason}"))


def _refuse(status: str, reason: str, tflite: TfliteModel, **figures: Any) -> Int8Target:
    block = int8_block(status, reason, tflite, **figures)
    tflite.path.unlink(missing_ok=True)
    return Int8Target(block)


@dataclass
class Int8Prepared:
    """A converted model.int8.tflite waiting for its proof (run in the float model's Chromium page)."""

    tflite: TfliteModel
    calibration: Calibration
    figures: dict[str, Any]
    started: float
    prepare_s: float = 0.0  # calibration and conversion

    def seconds(self, page_s: float = 0.0) -> float:
        """What the int8 model adds to the export: its conversion, and its part of the Chromium page."""
        return round((self.prepare_s or time.monotonic() - self.started) + page_s, 2)


def prepare_int8(model: Any, inputs: list[TensorSpec], outputs: list[TensorSpec], reference: Reference,
                 staging: Path, job: LitertJob, saved_model: Path | None = None) -> Int8Prepared | Int8Target:
    """Calibrate and write `staging/model.int8.tflite` as `job.int8` asks: what its proof needs, or the
    Int8Target that ends the step (unavailable; unverified without `job.verify`)."""
    assert job.int8 is not None
    started = time.monotonic()
    path = staging / LITERT_INT8_MODEL
    calibration = calibration_split(reference, job.int8.data_dir)
    fallback = job.int8.allow_float_fallback
    figures: dict[str, Any] = {"calibration": calibration.info, "float_fallback": fallback,
                               "thresholds": thresholds_for(reference)}
    job.say(f"converting to {LITERT_INT8_MODEL} (full integer, calibrated on {calibration.info['samples']:,} "
            f"{'training digits' if reference.samples.kind == MNIST_KIND else 'proof samples'})")
    try:
        quantization = TfliteQuantization("int8", calibration.arrays, fallback)
        tflite = write_tflite(model, inputs, outputs, reference.samples.arrays, path, quantization,
                              job.verbose, saved_model)
    except TfliteUnavailable as exc:
        path.unlink(missing_ok=True)
        return Int8Target(int8_block("unavailable", str(exc), seconds=round(time.monotonic() - started, 2),
                                     **figures))
    figures["float_ops"] = float_ops(path)
    figures["thresholds"] = thresholds_for(reference, output_steps(path))
    prepared = Int8Prepared(tflite, calibration, figures, started, round(time.monotonic() - started, 2))
    if not job.verify:
        block = int8_block("unverified", "--no-verify: never compared with Keras", tflite,
                           seconds=prepared.seconds(), **figures)
        return Int8Target(block, tflite)
    return prepared


def write_held_out(folder: Path, prepared: Int8Prepared, reference: Reference) -> int:
    """The int8 proof's bundle in `folder`: the held-out samples, Keras' outputs and the int8 rules
    (judged by export/proof.js in the page); how many samples it holds."""
    held = prepared.calibration.held_out
    arrays = {name: values[:held] for name, values in reference.samples.arrays.items()}
    expected = {name: values[:held] for name, values in reference.expected.items()}
    count = max(1, bundle_count(arrays, expected, limit=INT8_BUNDLE_BYTES, most=held))
    folder.mkdir(parents=True, exist_ok=True)
    write_bundle(folder, arrays, expected, reference.classifiers, prepared.figures["thresholds"], count)
    return count


def int8_budget(reference: Reference, budget_s: float | None) -> float | None:
    """Every held-out digit of a digit model (the accuracy rule needs them all); others, the budget."""
    return None if reference.samples.kind == MNIST_KIND else budget_s


def not_tried(prepared: Int8Prepared, reason: str) -> Int8Target:
    """The float model.tflite was not published: its int8 twin is not proven either."""
    return _refuse("unproven", f"not tried: {reason}", prepared.tflite, seconds=prepared.seconds(),
                   **prepared.figures)


def int8_verdict(prepared: Int8Prepared, reference: Reference, results: dict[str, dict[str, Any]],
                 errors: dict[str, str], threads: bool, page_s: float) -> Int8Target:
    """The int8 rules on what LiteRT.js computed for the held-out samples (`page_s` seconds in the
    page): keep the model or leave it out."""
    figures, tflite = prepared.figures, prepared.tflite
    judged = time.monotonic()
    if errors or "wasm" not in results:
        accelerator, error = next(iter(errors.items()), ("wasm", "no result"))
        return _refuse("unavailable", f"LiteRT.js ({accelerator}) cannot run {LITERT_INT8_MODEL}: {error}",
                       tflite, seconds=prepared.seconds(page_s), **figures)
    verdicts = {accelerator: _verdict(result, reference, figures["thresholds"], accelerator == "wasm")
                for accelerator, result in results.items()}
    failures = [f"LiteRT.js {accelerator}: {failure}" for accelerator, verdict in verdicts.items()
                for failure in verdict["failures"]]
    proof = {"browser": verdicts, "threads": threads, "passed": not failures}
    page_s += time.monotonic() - judged
    if failures:
        more = f"; {len(failures) - 1} more" if len(failures) > 1 else ""
        return _refuse("refused", f"misses the int8 rules ({failures[0]}{more})",
                       tflite, proof=proof, seconds=prepared.seconds(page_s), **figures)
    timed = {accelerator: verdict for accelerator, verdict in verdicts.items() if "batch1_ms" in verdict}
    ms = {accelerator: verdict["batch1_ms"] for accelerator, verdict in timed.items()} or None
    calls = {accelerator: verdict["batch1_calls"] for accelerator, verdict in timed.items()} or None
    block = int8_block("proven", None, tflite, proof=proof, seconds=prepared.seconds(page_s), **figures)
    return Int8Target(block, tflite, ms, calls)


def _verdict(result: dict[str, Any], reference: Reference, thresholds: dict[str, Any],
             every_digit: bool) -> dict[str, Any]:
    """One accelerator's int8 verdict: the runner's RESULT (the int8 rules and its repeat rule, judged
    by export/proof.js) and, for digit models, the test accuracy rule on its kept outputs."""
    verdict = dict(result)
    values = verdict.pop("values", None) or {}
    failures = list(verdict.get("failures") or [])
    if reference.samples.labels is not None:
        first = reference.outputs[0].name
        verdict["accuracy"], more = accuracy_rule(np.asarray(values[first], np.float32), reference,
                                                  int(verdict["samples"]), thresholds, every_digit)
        failures += more
    verdict["failures"], verdict["passed"] = failures, not failures
    return verdict
