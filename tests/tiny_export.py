"""A tiny generic export built by hand, as docs/export-format.md describes it (metadata.json schema 2,
proof.json + proof.bin), for the browser proof and the model page without the exporter.

The model: 6 features → Dense(8, relu) → two outputs, "scores" (3 softmax probabilities, a
classifier) and "value" (2 linear values). TF.js signature names are the Keras ones.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from export.rules import THRESHOLDS as THRESHOLDS_BY_QUANTIZATION

INPUT = "features"
FEATURES = 6
OUTPUTS = {"scores": 3, "value": 2}
CLASSIFIERS = ("scores",)
THRESHOLDS = THRESHOLDS_BY_QUANTIZATION["none"]


def write_proof(folder: Path, inputs: dict[str, np.ndarray], expected: dict[str, np.ndarray],
                thresholds: dict[str, float] = THRESHOLDS) -> None:
    """proof.json + proof.bin: the arrays little-endian and concatenated, inputs first."""
    arrays: list[dict[str, Any]] = []
    blob = bytearray()
    for role, group in (("input", inputs), ("expected", expected)):
        for name, array in group.items():
            dtype = "int32" if np.issubdtype(array.dtype, np.integer) else "float32"
            data = np.ascontiguousarray(array, dtype="<i4" if dtype == "int32" else "<f4").tobytes()
            arrays.append({"role": role, "name": name, "dtype": dtype, "shape": list(array.shape),
                           "offset": len(blob), "bytes": len(data)})
            blob += data
    samples = next(iter(inputs.values())).shape[0]
    (folder / "proof.json").write_text(json.dumps({"samples": samples, "thresholds": thresholds,
                                                   "arrays": arrays}))
    (folder / "proof.bin").write_bytes(bytes(blob))


def tiny_model() -> Any:
    import keras

    keras.utils.set_random_seed(0)
    features = keras.Input((FEATURES,), name=INPUT)
    hidden = keras.layers.Dense(8, activation="relu")(features)
    scores = keras.layers.Dense(OUTPUTS["scores"], activation="softmax", name="scores")(hidden)
    value = keras.layers.Dense(OUTPUTS["value"], name="value")(hidden)
    return keras.Model(features, {"scores": scores, "value": value})


def convert(model: Any, out_dir: Path) -> None:
    """model → SavedModel whose signature uses the Keras names → TF.js graph model in `out_dir`."""
    import keras
    import tensorflow as tf
    import tensorflowjs

    saved = Path(tempfile.mkdtemp(prefix="tiny-savedmodel-"))
    try:
        archive = keras.export.ExportArchive()
        archive.track(model)
        archive.add_endpoint(name="serve", fn=lambda x: model(x, training=False),
                             input_signature=[tf.TensorSpec([None, FEATURES], tf.float32, name=INPUT)])
        archive.write_out(str(saved), verbose=False)
        tensorflowjs.converters.convert_tf_saved_model(str(saved), str(out_dir))
    finally:
        shutil.rmtree(saved, ignore_errors=True)


def build_generic_export(folder: Path, samples: int = 64) -> Path:
    """Write the tiny model's export into `folder` (created): model, shards, metadata, proof bundle."""
    from mnist_tfjs.quiet import captured_output

    folder.mkdir(parents=True, exist_ok=True)
    model = tiny_model()
    with captured_output(False):
        convert(model, folder)
    inputs = np.random.default_rng(0).standard_normal((samples, FEATURES)).astype(np.float32)
    outputs = {name: np.asarray(value, np.float32) for name, value in model(inputs, training=False).items()}
    expected = {name: outputs[name] for name in OUTPUTS}
    write_proof(folder, {INPUT: inputs}, expected)
    files = {p.name: {"bytes": p.stat().st_size, "sha256": hashlib.sha256(p.read_bytes()).hexdigest()}
             for p in sorted(folder.iterdir()) if p.name == "model.json" or p.name.startswith("group")}
    node_result = {"passed": True, "samples": samples, "batch": 32, "ms_per_call": 0.4, "failures": [],
                   "outputs": {name: {"max_abs_diff": 1e-7, "scale": 1.0, "relative_diff": 1e-7,
                                      "agreement": 1.0 if name in CLASSIFIERS else None, "all_finite": True}
                               for name in OUTPUTS}}
    metadata = {
        "schema": 2,
        "format": "tfjs-graph-model",
        "model": "model.json",
        "kind": "generic",
        "verified": True,
        "warning": None,
        "inputs": [{"name": INPUT, "dtype": "float32", "shape": [None, FEATURES]}],
        "outputs": [{"name": name, "dtype": "float32", "shape": [None, width],
                     "classifier": name in CLASSIFIERS} for name, width in OUTPUTS.items()],
        "rewrites": [],
        "quantization": "none",
        "proof": {"samples": samples, "source": "generated", "seed": 0, "bundled": samples,
                  "thresholds": THRESHOLDS, "node": {"cpu": node_result}, "browser": None, "passed": True},
        "download_bytes": sum(entry["bytes"] for entry in files.values()),
        "files": files,
        "source": {"name": "tiny", "parameters": int(model.count_params())},
        "versions": {},
        "created_utc": "2026-01-01T00:00:00Z",
        "export_seconds": 0.0,
    }
    (folder / "metadata.json").write_text(json.dumps(metadata, indent=2))
    return folder
