"""The first-divergence locator's own logic, without Node.js: matching layers to graph nodes, choosing
the divergence, and the float64 reference that says whether float32 rounding explains it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from export.layer_nodes import layer_nodes
from export.locate import FailedProof, explain_failure, first_divergence
from export.located import LayerDiff, Located
from export.rounding import WITHIN, Float32Check, OutputRounding, float64_outputs


def _diff(layer: str, error: float, inputs: list[str], inputs_error: float) -> LayerDiff:
    return LayerDiff(layer, "Conv2D", f"m/{layer}_1/op", "Conv2D", error, 1.0, inputs_error, [], inputs)


def test_layer_output_is_the_node_that_leaves_its_scope() -> None:
    manifest = {"modelTopology": {"node": [
        {"name": "image", "op": "Placeholder"},
        {"name": "m/conv_1/kernel", "op": "Const"},
        {"name": "m/conv_1/convolution", "op": "Conv2D", "input": ["image", "m/conv_1/kernel"]},
        {"name": "m/conv_1/Relu", "op": "Relu", "input": ["m/conv_1/convolution"]},
        {"name": "m/split_1/split", "op": "Split", "input": ["m/conv_1/Relu"]},
        {"name": "m/add_1/add", "op": "AddV2", "input": ["m/split_1/split:1", "^m/conv_1/Relu"]},
        {"name": "Identity", "op": "Identity", "input": ["m/add_1/add"]},
    ]}}
    scopes = {"conv": ["m/conv", "m/conv_1"], "split": ["m/split_1"], "add": ["m/add_1"]}
    assert layer_nodes(manifest, scopes) == {"conv": ("m/conv_1/Relu", "Relu"),
                                             "split": ("m/split_1/split:1", "Split"),
                                             "add": ("m/add_1/add", "AddV2")}


def test_nested_scopes_give_a_block_and_each_sublayer_their_own_output_node() -> None:
    """A block's scope holds its sublayers' scopes: the block's output is the node leaving the block,
    each sublayer's the node leaving the sublayer, though the same name repeats in other blocks."""
    scope, other = "m/encoder_0_1/attention_1", "m/encoder_1_1/attention_1/softmax_1"
    manifest = {"modelTopology": {"node": [
        {"name": "x", "op": "Placeholder"},
        {"name": f"{scope}/query_1/MatMul", "op": "MatMul", "input": ["x"]},
        {"name": f"{scope}/MatMul", "op": "BatchMatMulV2", "input": [f"{scope}/query_1/MatMul", "x"]},
        {"name": f"{scope}/softmax_1/Softmax", "op": "Softmax", "input": [f"{scope}/MatMul"]},
        {"name": f"{scope}/output_1/MatMul", "op": "MatMul", "input": [f"{scope}/softmax_1/Softmax"]},
        {"name": "m/encoder_0_1/add", "op": "AddV2", "input": [f"{scope}/output_1/MatMul", "x"]},
        {"name": f"{other}/Softmax", "op": "Softmax", "input": ["m/encoder_0_1/add"]},
        {"name": "Identity", "op": "Identity", "input": [f"{other}/Softmax"]},
    ]}}
    scopes = {"encoder_0": ["m/encoder_0_1"], "encoder_0/attention": [scope],
              "encoder_0/attention/softmax": [f"{scope}/softmax_1"],
              "encoder_1/attention/softmax": [other]}
    assert layer_nodes(manifest, scopes) == {
        "encoder_0": ("m/encoder_0_1/add", "AddV2"),
        "encoder_0/attention": (f"{scope}/output_1/MatMul", "MatMul"),
        "encoder_0/attention/softmax": (f"{scope}/softmax_1/Softmax", "Softmax"),
        "encoder_1/attention/softmax": (f"{other}/Softmax", "Softmax")}


def test_a_sublayer_is_named_with_the_blocks_it_lies_in() -> None:
    located = Located("wasm", 4, 1e-4, [], None)
    located.first = LayerDiff("softmax", "Softmax", "m/b_1/attention_1/softmax_1/SelectV2_1", "SelectV2",
                              0.98, 1.0, 3e-7, [], [], ["backbone", "encoder_0", "attention"])
    assert located.sentence().startswith("first divergence at layer 'softmax' in "
                                         "'backbone/encoder_0/attention' (Softmax → TF.js node")


def test_divergence_is_the_jump_not_the_layers_it_spreads_to_nor_one_that_heals() -> None:
    compared = [_diff("a", 1e-7, [], 0.0),
                _diff("b", 5e-3, ["a"], 1e-7),   # heals: the one layer it feeds agrees again
                _diff("c", 2e-7, ["b"], 5e-3),
                _diff("d", 3e-2, ["c"], 2e-7),   # the jump
                _diff("e", 3e-2, ["d"], 3e-2)]
    first = first_divergence(compared, 1e-4)
    assert first is not None and first.layer == "d"
    assert [diff.heals for diff in compared] == [False, True, False, False, False]
    assert first_divergence(compared[:1], 1e-4) is None


def test_float32_is_named_only_where_the_allowance_rule_says_it_is_too_coarse() -> None:
    """The locator explains a refusal by the proof's own rule (`OutputRounding.judge`): float32 is
    named only where Keras itself is too far from float64 for an allowance (past the ceiling) and
    TF.js no further from Keras than that; a difference the allowance forgives, or one beyond it, is
    never called float32 rounding."""
    located = Located("wasm", 4, 1e-4, [_diff("d", 3e-2, [], 1e-6)], None)
    located.first = located.layers[0]

    def check(keras_error: float, tfjs_diff: float, peak: float) -> Float32Check:
        return Float32Check("y", OutputRounding(keras_error, 1.0), tfjs_diff, peak)

    located.float32 = check(0.3, 0.4, 4e5)  # float32 too coarse, huge activations
    assert "float32 is too coarse for these outputs" in located.sentence()
    assert "first divergence at layer 'd'" in located.sentence()
    assert "statistics from real data" in located.sentence()
    located.float32 = check(0.3, 0.7, 6.0)  # beyond twice Keras' own error: the conversion
    assert "float32" not in located.sentence()
    located.float32 = check(1e-7, 3e-2, 10.0)  # TF.js far from exact: the conversion
    assert "float32" not in located.sentence()
    located.float32 = check(6.6e-5, 9.6e-5, 6.0)  # within the allowance: it cannot be the refusal's cause
    assert located.float32.verdict == WITHIN and "float32" not in located.sentence()


def test_float64_outputs_follow_the_float32_model_closely() -> None:
    import keras

    keras.utils.set_random_seed(0)
    x_in = keras.Input((6,), name="features")
    hidden = keras.layers.Dense(8, activation="relu")(x_in)
    model = keras.Model(x_in, {"probs": keras.layers.Dense(3, activation="softmax", name="probs")(hidden)})
    x = np.random.default_rng(0).normal(size=(4, 6)).astype(np.float32)
    exact = float64_outputs(model, {"features": x})
    assert exact is not None and exact["probs"].dtype == np.float64
    single = np.asarray(model(x)["probs"], np.float64)
    assert np.abs(exact["probs"] - single).max() < 1e-6


def test_the_float32_check_reuses_float64_outputs_already_measured(monkeypatch: pytest.MonkeyPatch) -> None:
    import keras

    import export.rounding

    x_in = keras.Input((2,), name="features")
    model = keras.Model(x_in, {"y": keras.layers.Dense(1, name="y")(x_in)})
    few = {"features": np.zeros((4, 2), np.float32)}
    expected = {"y": np.full((32, 1), 2.0, np.float32)}
    exact = {"y": np.full((32, 1), 2.5, np.float64)}  # measured on the first 32 samples
    monkeypatch.setattr(export.rounding, "float64_outputs",
                        lambda *args: pytest.fail("float64 computed again"))
    check = export.rounding.float32_check(model, few, expected, {"y": np.full((4, 1), 3.0)}, 6.0, exact)
    assert check is not None  # Keras 0.5 from float64 and TF.js 1.0 from Keras, of the proof's scale 2
    assert check.rounding.relative == pytest.approx(0.25) and check.max_abs_diff == pytest.approx(1.0)


def test_a_model_without_a_layer_graph_still_gets_its_report(tmp_path: Path) -> None:
    import keras

    class Scaled(keras.Model):
        def call(self, x: Any) -> Any:
            return 2.0 * x

    model = Scaled()
    model(np.zeros((1, 3), np.float32))
    failed = FailedProof(["node wasm: output_0: max |Δ| ..."], ("node", "wasm"), 1e-4)
    clause = explain_failure(model, tmp_path, tmp_path / "web_model", {"x": np.zeros((4, 3), np.float32)},
                             {"output_0": np.zeros((4, 3), np.float32)}, failed)
    assert clause.startswith("no layer-by-layer comparison (Scaled has no layer graph")
    assert "keras.Model(inputs, outputs)" in clause  # what to build instead
    report = json.loads((tmp_path / "web_model.proof-failure.json").read_text())
    assert report["located"] is None and "no layer graph" in report["locate_error"]
    assert not (tmp_path / "web_model").exists()


def test_a_model_that_mixes_the_samples_of_a_batch_is_named_so() -> None:
    """Keras' outputs for a few samples on their own against the proof's reference, computed with others
    in the batch: a batch-mean model differs, a per-sample one does not; the refusal says which, and
    names the layer that mixes them."""
    import keras

    from export.batch_mixing import batch_dependence, first_mixing_layer
    from export.reference import keras_outputs
    from export.specs import input_specs, output_specs

    x_in = keras.Input((3,), name="features")
    per_sample = keras.Model(x_in, {"y": keras.layers.Dense(2, name="y")(x_in)})
    centred = keras.layers.Lambda(lambda x: x - keras.ops.mean(x, axis=0, keepdims=True), name="centred")
    hidden = keras.layers.Dense(3, name="z")(x_in)
    mixing = keras.Model(x_in, {"y": keras.layers.Dense(2, name="y")(centred(hidden))})
    arrays = {"features": np.random.default_rng(0).normal(size=(16, 3)).astype(np.float32)}
    few = {name: values[:4] for name, values in arrays.items()}
    for model, mixes in ((per_sample, False), (mixing, True)):
        expected = keras_outputs(model, input_specs(model), output_specs(model), arrays)
        measured = batch_dependence(model, few, {name: values[:4] for name, values in expected.items()})
        assert measured is not None and (measured > 1e-2 if mixes else measured < 1e-6)
        others = {name: values[4:] for name, values in arrays.items()}
        assert first_mixing_layer(model, few, others, 1e-4) == ("'centred' (Lambda)" if mixes else None)
    located = Located("wasm", 4, 1e-4, [], None, batch_dependence=0.05, mixing_layer="'centred' (Lambda)")
    assert "the model mixes the samples of a batch, first at layer 'centred' (Lambda)" in located.sentence()
    located.batch_dependence = 1e-7
    assert "batch" not in located.sentence()
