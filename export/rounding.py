"""How finely float32 determines a model's outputs, and the proof's allowance for it.

Keras' float32 outputs are one float32 evaluation of the model; TF.js' are another, summed in
another order (BatchNorms folded into convolutions, fused kernels, other convolution algorithms).
Where a graph carries large activations, float32 itself does not determine the outputs to the
proof's 1e-4 of their scale. A float64 copy of the model gives the exact outputs, and Keras' own
distance from them is the rounding any float32 runtime incurs on this graph. Two float32
evaluations each that far from the exact result can differ by about twice that, so a backend whose
only failure is its largest difference, and whose difference is within FLOAT32_ROUNDING_FACTOR times
Keras' own float32 error, passes "within float32 rounding".

The allowance is measured on the model's own samples, never set by hand, and it is only asked for
once a backend has failed the plain threshold (computing the float64 outputs costs a forward pass).
It is never granted where float32 is too coarse for the outputs to mean much: when Keras itself is
more than FLOAT32_ROUNDING_CEILING of an output's scale from the exact result, the refusal stands
(the locator then says that float32 is too coarse for these outputs).

One rule judges it everywhere: `OutputRounding.judge`. The TF.js and LiteRT.js proofs forgive a
backend by it (`Float32Allowance`), export/proof.js applies the granted allowances it publishes
(`thresholds.float32_max_abs_diff`), and the locator explains a refusal by it (`Float32Check`), so a
refusal never calls float32 rounding what the allowance refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .graph_model import release_freed_memory
from .rules import FLOAT32_ROUNDING_CEILING, FLOAT32_ROUNDING_FACTOR, FLOAT32_ROUNDING_SAMPLES, output_scale
from .specs import input_structure, output_specs, output_structure, output_values

# Samples per float64 forward pass: fewer hold less at once (the copy's activations are twice the
# float32 ones), more spread the graph's overhead; 4 was both leaner and faster than 2 or 8 on InceptionV3.
FLOAT64_BATCH = 4
# The key of the proof's thresholds that carries each output's allowance (read by export/proof.js).
ALLOWANCE_KEY = "float32_max_abs_diff"
# What the rule says of a runtime's difference from Keras on one output.
WITHIN = "within float32 rounding"  # it passes
TOO_COARSE = "float32 too coarse"  # as far as float32 rounding goes, but float32 is too coarse to prove
BEYOND = "beyond float32 rounding"  # more than float32 explains: the conversion


@dataclass(frozen=True)
class OutputRounding:
    """One output's float32 rounding: Keras' float32 result against the exact (float64) one."""

    keras_max_abs_diff: float  # max |Keras float32 - Keras float64| over the measured samples
    scale: float  # the output's scale in the proof (max |Keras| over every sample)

    @property
    def relative(self) -> float:
        return self.keras_max_abs_diff / self.scale

    @property
    def granted(self) -> bool:
        """Float32 determines this output finely enough for an allowance to mean something."""
        return self.relative <= FLOAT32_ROUNDING_CEILING

    @property
    def allowed_abs_diff(self) -> float:
        return FLOAT32_ROUNDING_FACTOR * self.keras_max_abs_diff

    def judge(self, max_abs_diff: float) -> str:
        """The rule, on a runtime's max |runtime - Keras| for this output: WITHIN its allowance where one
        is granted; TOO_COARSE where the difference is no more than the allowance would be but float32
        is too coarse here for one; else BEYOND."""
        if not max_abs_diff <= self.allowed_abs_diff:
            return BEYOND
        return WITHIN if self.granted else TOO_COARSE


@dataclass(frozen=True)
class Float32Rounding:
    """Every float32 output's rounding, measured on the first `samples` proof samples."""

    samples: int
    outputs: dict[str, OutputRounding]
    # the exact (float64) outputs on those samples, for the locator should the proof still fail
    exact: dict[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    def allowances(self) -> dict[str, float]:
        """{output: the largest |TF.js - Keras| to accept} for the outputs an allowance is granted."""
        return {name: rounding.allowed_abs_diff for name, rounding in self.outputs.items()
                if rounding.granted}

    def as_dict(self) -> dict[str, Any]:
        return {"samples": self.samples, "factor": FLOAT32_ROUNDING_FACTOR,
                "ceiling": FLOAT32_ROUNDING_CEILING,
                "outputs": {name: {"keras_vs_float64": r.keras_max_abs_diff,
                                   "keras_vs_float64_relative": r.relative,
                                   "allowed_max_abs_diff": r.allowed_abs_diff if r.granted else None}
                            for name, r in self.outputs.items()}}


def measure_rounding(model: Any, arrays: dict[str, np.ndarray], expected: dict[str, np.ndarray],
                     ) -> Float32Rounding | None:
    """Keras' float32 outputs (`expected`, the proof's own) against float64 on the first
    FLOAT32_ROUNDING_SAMPLES samples, per float32 output (None when the model has no float64 form)."""
    few = {name: values[:FLOAT32_ROUNDING_SAMPLES] for name, values in arrays.items()}
    exact = float64_outputs(model, few)
    release_freed_memory()  # the float64 copy's weights and activations, before Chromium starts
    if exact is None:
        return None
    measured = {}
    for name, values in expected.items():
        if values.dtype != np.float32:
            continue
        single = values[:FLOAT32_ROUNDING_SAMPLES].astype(np.float64)
        measured[name] = OutputRounding(float(np.max(np.abs(single - exact[name]))), output_scale(values))
    return Float32Rounding(len(next(iter(few.values()))), measured, exact)


def float64_outputs(model: Any, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray] | None:
    """The model's outputs computed in float64 (a copy of every layer with a float64 dtype policy),
    FLOAT64_BATCH samples at a time; None when a layer has no float64 form."""
    import keras
    import tensorflow as tf

    def in_float64(layer: Any) -> Any:
        config = layer.get_config()
        if "dtype" in config:
            config["dtype"] = "float64"
        return type(layer).from_config(config)

    names, _, takes_dict = input_structure(model)
    output_names, _ = output_structure(model)
    count = len(next(iter(arrays.values())))
    parts: dict[str, list[np.ndarray]] = {name: [] for name in output_names}
    try:
        exact = keras.models.clone_model(model, clone_function=in_float64)
        exact.set_weights([np.asarray(w, np.float64) if np.asarray(w).dtype.kind == "f" else w
                           for w in model.get_weights()])
        # A graph frees each activation once its last consumer has run; eager Keras holds them all
        # until the call returns (gigabytes in float64 for a 299x299 InceptionV3 batch).
        forward = tf.function(lambda feed: exact(feed, training=False), reduce_retracing=True)
        for start in range(0, count, FLOAT64_BATCH):
            values = [arrays[name][start:start + FLOAT64_BATCH] for name in names]
            values = [v.astype(np.float64) if v.dtype.kind == "f" else v for v in values]
            feed: Any = (dict(zip(names, values, strict=True)) if takes_dict
                         else values[0] if len(values) == 1 else values)
            result = forward(feed)
            got = output_values(exact, result)
            for name, value in zip(output_names, got, strict=True):
                parts[name].append(np.asarray(value, np.float64))
    except Exception:  # a layer without a float64 form: no exact reference, the comparison stands alone
        return None
    return {name: np.concatenate(values) for name, values in parts.items()}


def within_rounding(results: dict[str, Any] | None, rounding: Float32Rounding | None) -> list[str]:
    """Judge again every failed backend in `results` whose only failures are max |Δ| ones, each
    WITHIN its output's float32 rounding: it passes, marked `within_float32_rounding`.
    Returns the backends that passed this way."""
    outputs = rounding.outputs if rounding else {}
    allowances = rounding.allowances() if rounding else {}
    passed = []
    for backend, result in (results or {}).items():
        if not isinstance(result, dict) or result.get("passed") or not result.get("outputs"):
            continue
        if result.get("error"):
            continue
        figures = result["outputs"]
        failing = {name: entry for name, entry in figures.items() if entry.get("failed_rules")}
        if not failing or not all(_only_too_far(entry, outputs.get(name)) for name, entry in failing.items()):
            continue
        if len(result.get("failures") or []) > len(failing):  # a rule judged elsewhere (test accuracy)
            continue
        result["passed"], result["failures"] = True, []
        result["within_float32_rounding"] = {name: {"max_abs_diff": entry["max_abs_diff"],
                                                    "allowed_max_abs_diff": allowances[name]}
                                             for name, entry in failing.items()}
        passed.append(backend)
    return passed


def _only_too_far(entry: dict[str, Any], rounding: OutputRounding | None) -> bool:
    """The output failed only the max |Δ| rule, by no more than its float32 rounding."""
    return (entry.get("failed_rules") == ["max_relative_diff"] and rounding is not None
            and rounding.judge(entry["max_abs_diff"]) == WITHIN)


class Float32Allowance:
    """The float32 rounding allowance of one proof, measured the first time a backend fails the plain
    threshold (`measure`: None where none applies, float16 or uint8 weights), and the failed backends
    it lets pass."""

    def __init__(self, measure: Callable[[], Float32Rounding | None] | None,
                 say: Callable[[str], None]) -> None:
        self.measure, self.say = measure, say
        self.rounding: Float32Rounding | None = None
        self.measured = False

    def forgive(self, where: str, results: dict[str, Any] | None) -> None:
        """Judge the failed backends of `results` again within float32 rounding."""
        failed = [b for b, r in (results or {}).items() if isinstance(r, dict) and not r.get("passed")]
        if not failed or self.measure is None:
            return
        if not self.measured:
            self.measured = True
            self.say("measuring float32 rounding (the model in float64 on a few samples)")
            self.rounding = self.measure()
        for backend in within_rounding(results, self.rounding):
            self.say(f"{where} {backend}: within float32 rounding")

    def allowances(self) -> dict[str, float]:
        return self.rounding.allowances() if self.rounding else {}

    def granted(self) -> Float32Rounding | None:
        """The rounding measured, where it granted an allowance to some output (else None)."""
        return self.rounding if self.allowances() else None

    def thresholds(self, base: dict[str, Any]) -> dict[str, Any]:
        """The proof's thresholds with each output's allowance, once one is granted."""
        allowances = self.allowances()
        return {**base, ALLOWANCE_KEY: allowances} if allowances else dict(base)


@dataclass(frozen=True)
class Float32Check:
    """The rule on the few samples a failed proof is located on (`float32_check`): the output that
    diverges most, Keras' own float32 error there against float64, and TF.js' difference from Keras."""

    output: str
    rounding: OutputRounding  # Keras' float32 error on these samples, and the output's proof scale
    max_abs_diff: float  # max |TF.js - Keras| on these samples
    activation_peak: float  # the largest |value| among the compared layers' outputs

    @property
    def verdict(self) -> str:
        return self.rounding.judge(self.max_abs_diff)

    def sentence(self) -> str:
        """Why float32 explains the refusal ("" unless TOO_COARSE): a difference the allowance would
        forgive cannot be a refusal's cause, and one beyond it is the conversion's."""
        if self.verdict != TOO_COARSE:
            return ""
        return (f"; Keras itself in float32 differs from float64 by {self.rounding.relative:.1e} of output "
                f"{self.output!r}'s scale on these samples (TF.js from Keras "
                f"{self.max_abs_diff / self.rounding.scale:.1e}), with activations up to "
                f"{self.activation_peak:.0e}: float32 is too coarse for these outputs (the float32 "
                f"allowance ends at {FLOAT32_ROUNDING_CEILING:g} of the scale), so no float32 runtime can "
                "be proven on them")

    def as_dict(self) -> dict[str, Any]:
        return {"output": self.output, "keras_vs_float64": self.rounding.relative,
                "tfjs_vs_keras": self.max_abs_diff / self.rounding.scale,
                "activation_peak": self.activation_peak, "factor": FLOAT32_ROUNDING_FACTOR,
                "ceiling": FLOAT32_ROUNDING_CEILING, "verdict": self.verdict}


def float32_check(model: Any, arrays: dict[str, np.ndarray], expected: dict[str, np.ndarray],
                  tfjs: dict[str, np.ndarray | None], peak: float,
                  exact: dict[str, np.ndarray] | None = None) -> Float32Check | None:
    """Keras' float32 outputs (the proof's `expected`) against Keras in float64 on the samples of
    `arrays`, beside TF.js' difference from Keras, for the output that diverges most; `exact` when
    already measured, else computed (None where float64 is not possible)."""
    outputs = output_specs(model)
    count = len(next(iter(arrays.values())))
    if exact:
        exact = {name: values[:count] for name, values in exact.items()}
    else:
        exact = float64_outputs(model, arrays)
    if exact is None or any(tfjs.get(spec.name) is None for spec in outputs):
        return None
    checks = []
    for spec in outputs:
        if spec.dtype != "float32":
            continue
        single = expected[spec.name][:count].astype(np.float64)
        keras_error = float(np.max(np.abs(single - exact[spec.name])))
        diff = float(np.max(np.abs(np.asarray(tfjs[spec.name], np.float64) - single)))
        rounding = OutputRounding(keras_error, output_scale(expected[spec.name]))
        checks.append(Float32Check(spec.name, rounding, diff, peak))
    return max(checks, key=lambda check: check.max_abs_diff / check.rounding.scale, default=None)
