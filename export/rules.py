"""What a proof must show before a model is published: the thresholds TF.js must meet against
Keras, the MNIST accuracy rules, the time each backend may spend, and the rule that refuses a proof
whose reference outputs do not vary (a model that ignored its input would pass it).
"""

from __future__ import annotations

import numpy as np

# Float32 rounding (export/rounding.py): where Keras' own float32 outputs are far from the exact
# (float64) ones, a float32 backend may differ from Keras by up to this many times Keras' own error:
# two float32 evaluations, each that far from the exact result. Measured on this many samples, and
# never granted where Keras itself is more than the ceiling (of the output's scale) from exact: there
# float32 does not determine the outputs to three digits, and no float32 runtime can be proven on them.
FLOAT32_ROUNDING_FACTOR = 2.0
FLOAT32_ROUNDING_SAMPLES = 32
FLOAT32_ROUNDING_CEILING = 1e-3

# Per quantization: what TF.js must achieve against Keras, per output and backend. The relative
# difference is max |TF.js - Keras| over max |Keras| of that output; agreement is argmax agreement
# for classifier outputs (softmax), where a flip between two classes closer than the allowed error
# counts as a tie, not a disagreement.
THRESHOLDS: dict[str, dict[str, float]] = {
    "none": {"max_relative_diff": 1e-4, "min_agreement": 1.0},
    "float16": {"max_relative_diff": 2e-2, "min_agreement": 0.99},
    "uint8": {"max_relative_diff": 0.1, "min_agreement": 0.95},
}
# MNIST digit models keep the rules they were published under (accuracy on the test digits).
MNIST_THRESHOLDS: dict[str, dict[str, float]] = {
    "none": {"max_relative_diff": 1e-4, "min_agreement": 1.0},
    "float16": {"min_agreement": 0.9995, "max_accuracy_change_pp": 0.02},
    "uint8": {"max_accuracy_drop_pp": 0.1},
}
# The weight quantizations `--quantize` offers: the ones the proof has rules for.
QUANTIZATIONS = tuple(THRESHOLDS)

# What a full-integer (int8) LiteRT.js model must achieve against Keras on held-out samples (never
# the ones it was calibrated on): argmax agreement for classifier outputs; for other outputs the RMS
# error over the output's spread (its standard deviation across samples), the int8 counterpart of
# the relative difference (an 8-bit grid cannot meet 1e-4 of the scale). Digit models: at most this
# drop of test accuracy on every test digit, the cost a user feels. A flip between two classes whose
# Keras scores differ by no more than one step of the output's int8 grid is a tie, not a disagreement,
# but ties may excuse no more samples than the agreement rule lets fail (`max_tie_share`): on a
# softmax too flat for the 8-bit grid (a network with random weights) every sample would be a tie
# and the proof would show nothing.
INT8_THRESHOLDS: dict[str, float] = {"min_agreement": 0.95, "max_tie_share": 0.05,
                                     "max_rms_error_of_spread": 0.2}
MNIST_INT8_THRESHOLDS: dict[str, float] = {"min_agreement": 0.995, "max_tie_share": 0.005,
                                           "max_accuracy_drop_pp": 0.1}

# Seconds each backend may spend comparing samples (after its warm-up call): fast backends get
# through every sample, slow ones (TF.js' plain-JS cpu backend needs over a second for a
# 224x224 image) compare at least a few. 0 means no limit: every sample on every backend.
DEFAULT_PROOF_SECONDS = 8.0

# Outputs vary "too little" when the largest deviation of any sample from the mean output is at
# most this share of the output's scale, or at most the allowed difference itself: then a model
# that returned the mean for every input would pass, and the proof shows nothing.
MIN_SPREAD = 1e-3


def accuracy_failures(native_accuracy: float, exported_accuracy: float,
                      limits: dict[str, float]) -> list[str]:
    """The MNIST accuracy rules (float16, uint8) that the exported model misses."""
    change = 100.0 * (exported_accuracy - native_accuracy)
    eps = 1e-9  # figures are ratios of integers; compare without float noise
    failures = []
    if "max_accuracy_change_pp" in limits and abs(change) > limits["max_accuracy_change_pp"] + eps:
        failures.append(f"accuracy change {change:+.3f} pp exceeds ±{limits['max_accuracy_change_pp']} pp")
    if "max_accuracy_drop_pp" in limits and -change > limits["max_accuracy_drop_pp"] + eps:
        failures.append(f"accuracy drop {-change:.3f} pp exceeds {limits['max_accuracy_drop_pp']} pp")
    return failures


SPREAD_ROWS = 16  # samples compared with the mean at a time: no float64 copy of a whole output


def output_scale(values: np.ndarray) -> float:
    """The scale differences are measured against: the largest |value| Keras gave (1.0 if all zero)."""
    scale = max(float(np.max(values)), -float(np.min(values))) if values.size else 0.0
    return scale if scale > 0 and np.isfinite(scale) else 1.0


def output_spread(values: np.ndarray) -> float:
    """How much one output varies across samples: max |value - mean over samples| / the output's scale.

    A row at a time: DeepLabV3's 256 outputs of 64x64x256 are a gigabyte in float32."""
    if len(values) < 2:
        return 0.0
    mean = values.mean(axis=0, dtype=np.float64)
    spread = max(float(np.max(np.abs(values[start:start + SPREAD_ROWS].astype(np.float64) - mean)))
                 for start in range(0, len(values), SPREAD_ROWS))
    return spread / output_scale(values)


def constant_outputs(spreads: dict[str, float], thresholds: dict[str, float]) -> list[str]:
    """Names of the outputs that vary too little across the samples for the proof to mean anything."""
    floor = max(MIN_SPREAD, thresholds.get("max_relative_diff", 0.0))
    return [name for name, spread in spreads.items() if spread <= floor]
