"""export.graph_model: the TF.js converter's steps on the traced function in memory give the graph
model the converter gives from a SavedModel; names survive where the converter lost them; models
with lookup tables keep the converter's route."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from export import export_model
from export.convert import convert_saved_model, quantization_map, serving_function
from export.graph_model import captures_tables, write_graph_model
from export.specs import input_specs, output_specs
from harness.zoo_models import ZOO

SHARD_BYTES = 4 * 1024 * 1024

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")


def _read(folder: Path) -> tuple[dict[str, Any], list[np.ndarray]]:
    """model.json and every weight as stored (quantized weights as their stored bytes)."""
    manifest = json.loads((folder / "model.json").read_text())
    arrays = []
    for group in manifest["weightsManifest"]:
        data = b"".join((folder / path).read_bytes() for path in group["paths"])
        offset = 0
        for weight in group["weights"]:
            dtype = np.dtype(weight.get("quantization", {}).get("dtype", weight["dtype"]))
            size = int(np.prod(weight["shape"])) * dtype.itemsize
            arrays.append(np.frombuffer(data[offset:offset + size], dtype).reshape(weight["shape"]))
            offset += size
        assert offset == len(data)
    return manifest, arrays


def _both_routes(model: Any, tmp_path: Path, quantize: str = "none") -> tuple[Path, Path]:
    inputs, outputs = input_specs(model), output_specs(model)
    function = serving_function(model, inputs, outputs)
    ours, converters = tmp_path / "in_memory", tmp_path / "saved_model"
    ours.mkdir()
    converters.mkdir()
    write_graph_model(function.get_concrete_function(), ours, quantization_map(quantize), SHARD_BYTES)
    convert_saved_model(model, function, converters, quantization_map(quantize), SHARD_BYTES, verbose=False)
    return ours, converters


def _weight_key(array: np.ndarray) -> tuple[Any, ...]:
    return (array.shape, array.dtype.str, array.tobytes())


@pytest.mark.parametrize(("name", "quantize"), [("cnn_batchnorm_depthwise", "none"),
                                                ("separable_conv", "uint8"),
                                                ("attention_block", "float16"),
                                                ("lstm_variable_length", "none")])
def test_same_graph_model_as_the_converter_from_a_saved_model(name: str, quantize: str,
                                                              tmp_path: Path) -> None:
    """Same signature, ops, weight values and quantization; node names may differ (no
    StatefulPartitionedCall/ prefix)."""
    ours, converters = _both_routes(ZOO[name].build(), tmp_path, quantize)
    got, got_weights = _read(ours)
    want, want_weights = _read(converters)
    assert got["signature"] == want["signature"]
    assert got["format"] == want["format"] == "graph-model"
    assert (Counter(node["op"] for node in got["modelTopology"]["node"])
            == Counter(node["op"] for node in want["modelTopology"]["node"]))
    assert sorted(map(_weight_key, got_weights)) == sorted(map(_weight_key, want_weights))
    quantized = [w.get("quantization") for g in got["weightsManifest"] for w in g["weights"]]
    assert all(q is None for q in quantized) == (quantize == "none")
    assert sorted(p.name for p in ours.iterdir()) == sorted(p.name for p in converters.iterdir())


def test_inputs_and_outputs_of_one_shape_keep_their_keras_names(tmp_path: Path, node_ready: str) -> None:
    """The converter keys such a signature by tensor names ("Identity_1:0"); ours by the Keras
    names, and the proof (which asks for the Keras names) passes."""
    import keras

    a, b = keras.Input((5,), name="a"), keras.Input((5,), name="b")
    hidden = keras.layers.Dense(4, activation="tanh")(keras.layers.Concatenate()([a, b]))
    model = keras.Model([a, b], [keras.layers.Dense(3, name="left")(hidden),
                                 keras.layers.Dense(3, name="right")(hidden)])
    ours, converters = _both_routes(model, tmp_path)
    signature = json.loads((ours / "model.json").read_text())["signature"]
    assert sorted(signature["inputs"]) == ["a", "b"]
    assert sorted(signature["outputs"]) == ["left", "right"]
    assert "left" not in json.loads((converters / "model.json").read_text())["signature"]["outputs"]

    metadata = export_model(model, tmp_path / "web_model", samples_count=16, browser=False, litert=False)
    assert metadata["proof"]["passed"] is True


def test_lookup_table_keeps_the_converters_route(tmp_path: Path) -> None:
    """A table needs the initializer graph TF.js runs first (`modelInitializer`)."""
    import keras

    from export.convert import convert_to_graph_model

    ids = keras.Input((4,), dtype="int32", name="ids")
    found = keras.layers.IntegerLookup(vocabulary=[3, 5, 7, 11])(ids)
    outputs = keras.layers.Dense(2)(keras.layers.Flatten()(keras.layers.Embedding(6, 3)(found)))
    model = keras.Model(ids, outputs)
    function = serving_function(model, input_specs(model), output_specs(model))
    assert captures_tables(function.get_concrete_function())

    convert_to_graph_model(model, tmp_path)
    manifest = json.loads((tmp_path / "model.json").read_text())
    assert manifest["modelInitializer"]["node"]
    assert "ids" in manifest["signature"]["inputs"]


def test_variables_alone_are_not_tables() -> None:
    model = ZOO["cnn_batchnorm_depthwise"].build()
    function = serving_function(model, input_specs(model), output_specs(model))
    assert not captures_tables(function.get_concrete_function())
