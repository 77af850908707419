"""The float32 rounding allowance: Keras' own float32 error measured against a float64 copy, the
backends it lets pass (only max |Δ| failures, only within twice that error, never past the ceiling),
and the export that is judged with it end to end in TF.js."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import export.pipeline
from export import VerificationError, export_model
from export.located import Located
from export.rounding import (
    ALLOWANCE_KEY,
    BEYOND,
    TOO_COARSE,
    WITHIN,
    Float32Check,
    Float32Rounding,
    OutputRounding,
    measure_rounding,
    within_rounding,
)
from export.rules import (
    FLOAT32_ROUNDING_CEILING,
    FLOAT32_ROUNDING_FACTOR,
    FLOAT32_ROUNDING_SAMPLES,
    output_scale,
)


def _wide_regressor(weight_scale: float = 1.0) -> Any:
    """features (64) → Dense(256, relu) → Dense(3): sums of many terms, where float32 rounds."""
    import keras

    keras.utils.set_random_seed(3)
    x_in = keras.Input((64,), name="features")
    init = keras.initializers.RandomNormal(stddev=weight_scale)
    hidden = keras.layers.Dense(256, activation="relu", kernel_initializer=init)(x_in)
    return keras.Model(x_in, keras.layers.Dense(3, name="values", kernel_initializer=init)(hidden))


def test_keras_float32_error_is_measured_against_float64_by_hand() -> None:
    model = _wide_regressor(weight_scale=30.0)
    x = np.random.default_rng(0).normal(0, 100, (40, 64)).astype(np.float32)
    expected = {"values": np.asarray(model(x), np.float32)}
    rounding = measure_rounding(model, {"features": x}, expected)
    assert rounding is not None and rounding.samples == FLOAT32_ROUNDING_SAMPLES

    w1, b1, w2, b2 = (np.asarray(w, np.float64) for w in model.get_weights())
    few = x[:FLOAT32_ROUNDING_SAMPLES].astype(np.float64)
    exact = np.maximum(few @ w1 + b1, 0) @ w2 + b2
    by_hand = float(np.max(np.abs(expected["values"][:FLOAT32_ROUNDING_SAMPLES] - exact)))
    measured = rounding.outputs["values"]
    assert by_hand > 0 and measured.keras_max_abs_diff == pytest.approx(by_hand, rel=1e-3)
    assert measured.scale == output_scale(expected["values"])
    assert measured.allowed_abs_diff == FLOAT32_ROUNDING_FACTOR * measured.keras_max_abs_diff


def test_no_allowance_where_float32_is_too_coarse() -> None:
    fine = OutputRounding(keras_max_abs_diff=6.6e-5, scale=1.0)
    coarse = OutputRounding(keras_max_abs_diff=3.1 * FLOAT32_ROUNDING_CEILING, scale=1.0)
    rounding = Float32Rounding(32, {"fine": fine, "coarse": coarse})
    assert rounding.allowances() == {"fine": pytest.approx(1.32e-4)}
    described = rounding.as_dict()["outputs"]
    assert described["coarse"]["allowed_max_abs_diff"] is None
    assert described["fine"]["keras_vs_float64_relative"] == pytest.approx(6.6e-5)


def _failed(outputs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {"passed": False, "failures": ["..."], "samples": 5, "outputs": outputs}


def test_only_max_diff_failures_within_the_allowance_pass_again() -> None:
    results = {
        "cpu": _failed({"y": {"max_abs_diff": 1.08e-4, "failed_rules": ["max_relative_diff"]},
                        "z": {"max_abs_diff": 1e-9, "failed_rules": []}}),
        "wasm": _failed({"y": {"max_abs_diff": 1.5e-4, "failed_rules": ["max_relative_diff"]}}),
        "webgl": _failed({"y": {"max_abs_diff": 1e-4,
                                "failed_rules": ["max_relative_diff", "min_agreement"]}}),
        "other": _failed({"z": {"max_abs_diff": 1.1e-4, "failed_rules": ["max_relative_diff"]}}),
        "broken": {"passed": False, "error": "no kernel", "failures": [], "outputs": {}},
        "digits": {**_failed({"y": {"max_abs_diff": 1.1e-4, "failed_rules": ["max_relative_diff"]}}),
                   "failures": ["y: max |Δ| ...", "accuracy drop 0.2 pp exceeds 0.1 pp"]},
    }
    assert within_rounding(results, Float32Rounding(32, {"y": OutputRounding(6.6e-5, 1.0)})) == ["cpu"]
    assert results["cpu"]["passed"] and results["cpu"]["failures"] == []
    assert results["cpu"]["within_float32_rounding"] == {"y": {"max_abs_diff": 1.08e-4,
                                                               "allowed_max_abs_diff": 1.32e-4}}
    for backend in ("wasm", "webgl", "other", "broken", "digits"):  # too far, another rule, no allowance,
        # no run, a rule judged outside proof.js
        assert not results[backend]["passed"] and "within_float32_rounding" not in results[backend]


def test_one_rule_judges_the_allowance_and_the_refusal() -> None:
    """The rule that forgives a backend is the one that explains a refusal: where the allowance
    refuses, the refusal never calls the difference float32 rounding."""
    fine = OutputRounding(keras_max_abs_diff=6.6e-5, scale=1.0)
    coarse = OutputRounding(keras_max_abs_diff=3.1 * FLOAT32_ROUNDING_CEILING, scale=1.0)
    assert fine.judge(1.3e-4) == WITHIN and fine.judge(1.4e-4) == BEYOND
    assert coarse.judge(5 * FLOAT32_ROUNDING_CEILING) == TOO_COARSE and coarse.judge(1.0) == BEYOND

    def refusal(check: Float32Check) -> str:
        located = Located("wasm", 4, 1e-4, [], None, float32=check)
        return located.sentence()

    # TF.js 1.5x its allowance (within ten times Keras' own error): the conversion, not float32
    beyond = Float32Check("y", fine, 1.5 * fine.allowed_abs_diff, activation_peak=6.0)
    assert beyond.verdict == BEYOND and "float32" not in refusal(beyond)
    assert within_rounding({"wasm": _failed({"y": {"max_abs_diff": beyond.max_abs_diff,
                                                   "failed_rules": ["max_relative_diff"]}})},
                           Float32Rounding(32, {"y": fine})) == []
    # float32 too coarse for any allowance: the refusal says so, and never calls it rounding
    too_coarse = Float32Check("y", coarse, 2 * coarse.keras_max_abs_diff, activation_peak=4e5)
    assert too_coarse.verdict == TOO_COARSE
    said = refusal(too_coarse)
    assert "float32 is too coarse" in said and "float32 rounding" not in said
    assert "statistics from real data" in said
    assert too_coarse.as_dict()["verdict"] == TOO_COARSE
    # within the allowance on the located samples: the proof refused elsewhere, float32 is not named
    within = Float32Check("y", fine, fine.allowed_abs_diff, activation_peak=6.0)
    assert within.verdict == WITHIN and "float32" not in refusal(within)


def _regressor_off_by(monkeypatch: pytest.MonkeyPatch, offset: float, keras_error: float) -> Any:
    """A model whose Keras reference is `offset` of its scale away from what it computes (as if Keras'
    float32 had rounded that far), and whose measured float32 error is `keras_error` of the scale."""
    real_predict = export.pipeline.predict

    def predict(*args: Any) -> tuple[Any, dict[str, np.ndarray]]:
        samples, outputs = real_predict(*args)
        return samples, {name: values + np.float32(offset * output_scale(values))
                         for name, values in outputs.items()}

    def measure(model: Any, arrays: Any, expected: Any) -> Float32Rounding:
        scale = output_scale(expected["values"])
        measured = OutputRounding(keras_error * scale, scale)
        return Float32Rounding(FLOAT32_ROUNDING_SAMPLES, {"values": measured})

    monkeypatch.setattr(export.pipeline, "predict", predict)
    monkeypatch.setattr(export.pipeline, "measure_rounding", measure)
    return _wide_regressor()


@pytest.mark.node
def test_an_export_within_float32_rounding_passes_and_says_so(tmp_path: Path, node_ready: str,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "web_model"
    lines: list[str] = []
    metadata = export_model(_regressor_off_by(monkeypatch, 3e-4, keras_error=2e-4), out, samples_count=64,
                            browser=False, log=lines.append)
    proof = metadata["proof"]
    assert proof["passed"] is True
    for result in proof["node"].values():
        assert result["passed"] and result["within_float32_rounding"]["values"]["max_abs_diff"] > 0
    allowed = proof["float32_rounding"]["outputs"]["values"]["allowed_max_abs_diff"]
    assert proof["thresholds"][ALLOWANCE_KEY] == {"values": allowed}
    assert json.loads((out / "proof.json").read_text())["thresholds"][ALLOWANCE_KEY] == {"values": allowed}
    assert any("within float32 rounding" in line for line in lines)


@pytest.mark.node
@pytest.mark.parametrize("keras_error", [1e-4, 3 * FLOAT32_ROUNDING_CEILING])
def test_an_export_beyond_float32_rounding_is_refused(tmp_path: Path, node_ready: str, keras_error: float,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "web_model"
    with pytest.raises(VerificationError) as caught:
        export_model(_regressor_off_by(monkeypatch, 3e-4, keras_error=keras_error), out, samples_count=64,
                     browser=False)
    assert "parity proof failed" in str(caught.value) and not out.exists()
    assert "not the conversion" not in str(caught.value)  # the allowance refused: float32 is not blamed
    proof = caught.value.metadata["proof"]
    assert not any(result.get("within_float32_rounding") for result in proof["node"].values())
