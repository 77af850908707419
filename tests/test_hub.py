"""keras-hub models through the exporter: inputs drawn as the model means them (0/1 masks with the
padding at the end, segment ids within their table, also inside a nested backbone), a Keras failure on
the samples in one line, and a refused proof located down to a sublayer of a Transformer block."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from export import export_model
from export.errors import ExportError
from export.reference import keras_outputs
from export.samples import generate
from export.specs import input_specs, output_specs
from tests.helpers import require

SEQUENCE = 16


def _keras_hub() -> Any:
    require(importlib.util.find_spec("keras_hub") is not None, "keras-hub (the test extra)")
    import keras_hub

    return keras_hub


def _bert_backbone() -> Any:
    import keras

    keras.utils.set_random_seed(0)
    return _keras_hub().models.BertBackbone(vocabulary_size=1000, num_layers=2, num_heads=2, hidden_dim=64,
                                            intermediate_dim=128, max_sequence_length=64)


def _bert_classifier() -> Any:
    return _keras_hub().models.BertTextClassifier(backbone=_bert_backbone(), num_classes=3, preprocessor=None)


def _assert_masks_keep_a_leading_run(mask: np.ndarray) -> None:
    assert set(np.unique(mask)) == {0, 1}
    assert (mask[:, 0] == 1).all()  # no sequence of only padding
    kept = mask.sum(axis=1)
    assert (mask == (np.arange(mask.shape[1]) < kept[:, None])).all()  # the padding at the end


@pytest.mark.parametrize("which", ["backbone", "functional", "classifier"])
def test_bert_inputs_are_drawn_as_the_model_means_them(which: str) -> None:
    import keras

    backbone = _bert_backbone()
    model = {"backbone": backbone, "functional": keras.Model(backbone.inputs, backbone.outputs),
             "classifier": _bert_classifier()}[which]
    arrays, how = generate(model, input_specs(model), 64, seed=0)
    _assert_masks_keep_a_leading_run(arrays["padding_mask"])
    assert how["padding_mask"]["distribution"] == "mask" and how["padding_mask"]["min_kept"] == 1
    assert arrays["segment_ids"].min() >= 0 and arrays["segment_ids"].max() == 1  # a 2-row table
    assert how["segment_ids"]["rule"] == "read by Embedding 'segment_embedding'"
    assert arrays["token_ids"].max() > 10 and arrays["token_ids"].max() < 1000
    assert how["token_ids"]["high"] == 1000


def test_masks_ids_and_nested_embeddings_without_keras_hub() -> None:
    """A boolean mask, an Embedding inside a nested Sequential, and an id named like segment ids that no
    layer reads."""
    import keras

    tokens = keras.Input((SEQUENCE,), dtype="int32", name="tokens")
    segments = keras.Input((SEQUENCE,), dtype="int32", name="token_type_ids")
    keep = keras.Input((SEQUENCE,), dtype="bool", name="keep")
    inner = keras.Sequential([keras.Input((SEQUENCE,), dtype="int32"), keras.layers.Embedding(7, 4)])
    x = inner(tokens) * keras.ops.expand_dims(keras.ops.cast(keep, "float32"), -1)
    x = x + keras.ops.expand_dims(keras.ops.cast(segments, "float32"), -1)
    model = keras.Model([tokens, segments, keep], keras.layers.Dense(2)(keras.layers.Flatten()(x)))
    arrays, how = generate(model, input_specs(model), 32, seed=1)
    _assert_masks_keep_a_leading_run(arrays["keep"])
    assert how["keep"]["rule"] == "boolean input"
    assert arrays["tokens"].max() == 6 and how["tokens"]["high"] == 7  # the nested Embedding's table
    assert arrays["token_type_ids"].max() == 1 and how["token_type_ids"]["rule"] == "named like segment ids"


def test_an_attention_mask_over_queries_and_keys_keeps_a_key_for_every_query() -> None:
    from export.samples import mask_values

    mask = mask_values(np.random.default_rng(0), [32, 6, 6])
    assert (mask[:, :, 0] == 1).all()  # every query attends at least to the first key
    assert (mask == mask[:, :1, :]).all()  # the padding is the keys', the same for every query
    _assert_masks_keep_a_leading_run(mask[:, 0, :])

def test_images_follow_preprocessing_layers_inside_a_nested_model() -> None:
    """A Rescaling(1/255) front end inside a nested model draws raw pixels; a Normalization's statistics
    draw values around its mean."""
    import keras

    inner_in = keras.Input((8, 8, 3))
    inner = keras.Model(inner_in, keras.layers.Conv2D(2, 3)(keras.layers.Rescaling(1 / 255)(inner_in)))
    pixels = keras.Input((8, 8, 3), name="pixels")
    features = keras.Input((4,), name="features")
    norm = keras.layers.Normalization(mean=[10.0] * 4, variance=[4.0] * 4)
    joined = keras.layers.Concatenate()([keras.layers.Flatten()(inner(pixels)), norm(features)])
    model = keras.Model([pixels, features], keras.layers.Dense(2)(joined))
    arrays, how = generate(model, input_specs(model), 64, seed=0)
    assert how["pixels"]["distribution"] == "uniform" and how["pixels"]["high"] == pytest.approx(255.0)
    assert arrays["pixels"].min() >= 0 and arrays["pixels"].max() > 200
    assert how["features"]["mean"] == pytest.approx(10.0) and how["features"]["std"] == pytest.approx(2.0)

def test_keras_failing_on_the_samples_is_one_line_naming_the_input() -> None:
    model = _bert_classifier()
    inputs = input_specs(model)
    rng = np.random.default_rng(0)
    arrays = {"token_ids": rng.integers(0, 1000, (8, SEQUENCE)).astype(np.int32),
              "segment_ids": np.full((8, SEQUENCE), 5, np.int32),  # a 2-row table
              "padding_mask": np.ones((8, SEQUENCE), np.int32)}
    with pytest.raises(ExportError) as failure:
        keras_outputs(model, inputs, output_specs(model), arrays)
    message = str(failure.value)
    assert "\n" not in message and "Traceback" not in message
    assert message.startswith("Keras cannot compute the proof's samples (input 'segment_ids', read by "
                              "Embedding 'segment_embedding'): indices[0,0] = 5 is not in [0, 2)"), message
    assert "--samples FILE.npz" in message


@pytest.mark.node
def test_bert_classifier_exports_like_its_backbone(tmp_path: Path, node_ready: str) -> None:
    """A backbone inside a task model: the samples reach its embeddings, the proof passes, and
    metadata.json says how each input was drawn."""
    metadata = export_model(_bert_classifier(), tmp_path / "web_model", samples_count=32, browser=False)
    proof = metadata["proof"]
    assert proof["passed"] and set(proof["node"]) == {"wasm", "cpu"}
    drawn = proof["generated"]
    assert drawn["padding_mask"] == {"distribution": "mask", "values": [0, 1], "padding": "end",
                                     "min_kept": 1, "rule": "named like a mask"}
    assert drawn["segment_ids"]["high"] == 2 and drawn["token_ids"]["high"] == 1000


@pytest.mark.node
def test_a_divergence_inside_bert_is_named_down_to_the_sublayer(tmp_path: Path, node_ready: str,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A weight of the first encoder's feed-forward Dense tampered after conversion: the locator
    descends from the classifier into the backbone and the encoder, and names that Dense."""
    from export.errors import VerificationError
    from tests.test_export_models import tamper_weights

    tamper_weights(monkeypatch, "/transformer_layer_0_1/feedforward_intermediate_dense_1/Cast/ReadVariableOp")
    out = tmp_path / "web_model"
    with pytest.raises(VerificationError) as failure:
        export_model(_bert_classifier(), out, samples_count=16, browser=False, backends=["wasm"])
    message = str(failure.value)
    # keras names each new backbone bert_backbone, bert_backbone_1, ...
    assert re.search(r"first divergence at layer 'feedforward_intermediate_dense' in "
                     r"'bert_backbone(_\d+)?/transformer_layer_0' \(Dense → TF.js node", message), message
    report = json.loads((tmp_path / "web_model.proof-failure.json").read_text())
    first = report["located"]["first_divergence"]
    assert first["within"][1:] == ["transformer_layer_0"]
    assert first["inputs_relative_diff"] < 1e-5



@pytest.mark.slow  # Chromium on four backends beside Node's two: about a minute
@pytest.mark.browser
@pytest.mark.node
def test_llama_is_proven_on_every_browser_backend(tmp_path: Path, node_ready: str) -> None:
    """Grouped-query attention and rotary embeddings: without their rewrites TF.js webgpu loses its
    device on the keys' repeat (software adapter), and webgl's sines are 2e-4 off."""
    from mnist_tfjs.chromium import find_chromium

    require(find_chromium() is not None, "Chromium (Debian's `chromium`, or set CHROMIUM_PATH)")
    import keras

    keras.utils.set_random_seed(0)
    llama = _keras_hub().models.LlamaBackbone(vocabulary_size=1000, num_layers=2, num_query_heads=2,
                                              num_key_value_heads=1, hidden_dim=64, intermediate_dim=128)
    metadata = export_model(llama, tmp_path / "web_model", samples_count=32, browser=True, backends=["wasm"])
    browser = metadata["proof"]["browser"]
    require("skipped" not in browser["webgpu"], "a WebGPU adapter in headless Chromium")
    assert all(result.get("passed") for result in browser.values()), browser
    assert {"repeat", "sin/cos"} <= {rewrite["class"] for rewrite in metadata["rewrites"]}
