"""Load a `.keras` model, then turn it into a TF.js graph model named after its inputs and outputs.

Route: Keras 3 model → a `tf.function` named after the model's inputs and outputs, traced with
the rewrites TF.js needs → the TF.js converter's own steps on that function in memory
(`export.graph_model`: freeze, Grappler, its graph rewrites, `model.json` + weight shards). The
Keras 3 layers format is never produced: TF.js 4.22 cannot load it.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import warnings
import zipfile
from pathlib import Path
from typing import Any

from mnist_tfjs.export_files import MODEL_JSON
from mnist_tfjs.quiet import captured_output, import_tensorflowjs

from .errors import ExportError
from .graph_model import UNSUPPORTED_OPS, captures_tables, release_freed_memory, write_graph_model
from .rules import QUANTIZATIONS
from .specs import (
    TensorSpec,
    fixed_axes,
    input_specs,
    input_structure,
    output_specs,
    output_structure,
    output_values,
)

DEFAULT_SHARD_BYTES = 4 * 1024 * 1024  # TF.js' convention: weight files a browser caches well
# What to change for the ops TF.js 4.22 is known to lack.
OP_ADVICE = {
    "Erfc": "use activation='gelu' (the exporter rewrites exact GELU) or keras.activations.gelu(x, "
            "approximate=True)",
    "StringToHashBucketFast": "hash strings outside the model and feed integer ids",
    "RaggedTensorToTensor": "pad sequences to a fixed length outside the model",
    "FFT": "compute spectra outside the model",
}


def check_model_file(path: Path) -> None:
    """Cheap checks before TensorFlow is imported: the file exists and is a Keras zip archive."""
    if not path.exists():
        raise ExportError(f"model file {path} not found; "
                          "train one with `python -m train` or pass --model PATH")
    if path.is_dir():
        raise ExportError(f"--model {path} is a folder; pass a .keras file (model.save('model.keras'))")
    if path.suffix != ".keras" or not zipfile.is_zipfile(path):
        raise ExportError(f"{path} is not a Keras model file (.keras zip archive); "
                          "save the model with model.save('model.keras')")


def use_tensorflow_backend() -> None:
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras

    if keras.backend.backend() != "tensorflow":
        raise ExportError(f"Keras runs on the {keras.backend.backend()} backend; export needs TensorFlow: "
                          "set KERAS_BACKEND=tensorflow")


def _load_failure(path: Path, exc: Exception) -> ExportError:
    text = str(exc).strip()
    if "Lambda" in text and ("safe_mode" in text or "unsafe" in text):
        return ExportError(f"{path} holds a Lambda layer, which Keras will not load safely; replace the "
                           "Lambda with a layer class registered with "
                           "@keras.saving.register_keras_serializable()")
    match = re.search(r"Could not locate (?:class|function) '([^']+)'", text)
    if match:
        return ExportError(f"{path} uses the unregistered custom object {match.group(1)!r}; decorate its "
                           "class with @keras.saving.register_keras_serializable() and import it before "
                           "exporting (Python API: export_model(model, ...))")
    reason = text.splitlines()[0][:160] if text else type(exc).__name__
    return ExportError(f"{path} is not a loadable Keras model ({reason}); "
                       "save it with model.save('model.keras')")


def load_model(path: Path) -> Any:
    """Load a `.keras` model with the TensorFlow backend (no compile, safe mode)."""
    check_model_file(path)
    use_tensorflow_backend()
    import keras

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return keras.saving.load_model(path, compile=False)
    except Exception as exc:  # Keras raises many types for a damaged archive; all mean the same here
        raise _load_failure(path, exc) from None


def quantization_map(quantize: str) -> dict[str, bool] | None:
    """The converter's `quantization_dtype_map` for a --quantize choice (all weights, or none)."""
    if quantize not in QUANTIZATIONS:
        raise ExportError(f"--quantize {quantize!r} is not one of {', '.join(QUANTIZATIONS)}")
    return None if quantize == "none" else {quantize: True}


def serving_function(model: Any, inputs: list[TensorSpec], outputs: list[TensorSpec]) -> Any:
    """A `tf.function` whose signature is named after the Keras inputs and returns {output name: tensor}."""
    import tensorflow as tf

    _, _, takes_dict = input_structure(model)
    output_names, _ = output_structure(model)
    signature = [tf.TensorSpec(spec.shape, getattr(tf, spec.dtype), name=spec.name) for spec in inputs]

    def serve(*args: Any) -> dict[str, Any]:
        cast = [tf.cast(arg, spec.keras_dtype) if spec.keras_dtype != spec.dtype else arg
                for arg, spec in zip(args, inputs, strict=True)]
        if takes_dict:
            feed: Any = {spec.name: value for spec, value in zip(inputs, cast, strict=True)}
        else:
            feed = cast[0] if len(cast) == 1 else list(cast)
        values = output_values(model, model(feed, training=False))
        return {name: tf.cast(value, getattr(tf, spec.dtype))
                for name, value, spec in zip(output_names, values, outputs, strict=True)}

    # Plain Python control flow only: AutoGraph has nothing to convert (and warns when it tries).
    return tf.function(tf.autograph.experimental.do_not_convert(serve), input_signature=signature)


def _layer_of(op_name: str, layer_names: set[str]) -> str | None:
    """The Keras layer an op of the traced graph belongs to (its name scope), when one matches."""
    for part in reversed(op_name.split("/")[:-1]):
        for candidate in (part, re.sub(r"_\d+$", "", part)):
            if candidate in layer_names:
                return candidate
    return None


def _unsupported(message: str, function: Any, model: Any) -> ExportError:
    """One line naming the op(s) TF.js lacks, the layer(s) that use them, and what to change."""
    listed = message.split("\n", 1)[1] if "\n" in message else message.split(":", 1)[-1]
    ops = [op.strip() for op in listed.split(",") if op.strip()]
    layers: list[str] = []
    try:
        names = {layer.name for layer in model._flatten_layers(include_self=False)}
        graph = function.get_concrete_function().graph
        for operation in graph.get_operations():
            if operation.type in ops:
                layers.append(_layer_of(operation.name, names) or operation.name.split("/")[0])
    except Exception:
        pass
    where = f" in layer {', '.join(sorted(set(layers)))}" if layers else ""
    advice = "; ".join(OP_ADVICE[op] for op in ops if op in OP_ADVICE) or (
        "replace that layer with standard layers whose ops TF.js supports "
        "(tfjs-converter docs/supported_ops.md)")
    return ExportError(f"TF.js has no {', '.join(ops) or 'implementation of an op'}{where}: {advice}")


def convert_to_graph_model(model: Any, out_dir: Path, quantize: str = "none", verbose: bool = False,
                           shard_bytes: int = DEFAULT_SHARD_BYTES) -> list[dict[str, Any]]:
    """Write `model` as a TF.js graph model (`model.json` + shards) into the existing folder `out_dir`.

    The signature uses the Keras input and output names (see `export.specs`). Weights go into
    files of at most `shard_bytes` (`group1-shard1ofN.bin`, ...). Returns the rewrites made while
    tracing and on the converted graph (`metadata.rewrites` entries).
    """
    rewrites = _trace_and_convert(model, out_dir, quantize, verbose, shard_bytes)
    release_freed_memory()
    model_json = out_dir / MODEL_JSON
    if not model_json.is_file():
        raise ExportError(f"the TF.js converter wrote no {MODEL_JSON}; rerun with --verbose for its log")
    return rewrites + rewrite_graph(model_json)


def _trace_and_convert(model: Any, out_dir: Path, quantize: str, verbose: bool,
                       shard_bytes: int) -> list[dict[str, Any]]:
    """Trace the serving function with the rewrites TF.js needs, then convert it; the tracing rewrites."""
    from .rewrites.tracing import tracing_rewrites

    dtype_map = quantization_map(quantize)
    import_tensorflowjs()
    inputs, outputs = input_specs(model), output_specs(model)
    fixed = fixed_axes(model)
    rewrites: list[dict[str, Any]] = ([{"layer": None, "class": "input shape", "what": fixed}]
                                      if fixed else [])
    function = None
    try:
        with captured_output(verbose), tracing_rewrites() as traced:
            function = serving_function(model, inputs, outputs)
            concrete = function.get_concrete_function()
            rewrites += traced.entries()
            if captures_tables(concrete):
                convert_saved_model(model, function, out_dir, dtype_map, shard_bytes, verbose)
            else:
                write_graph_model(concrete, out_dir, dtype_map, shard_bytes)
    except ExportError:
        raise
    except Exception as exc:
        text = str(exc)
        if UNSUPPORTED_OPS in text:
            raise _unsupported(text.strip(), function, model) from None
        raise ExportError(f"the TF.js converter failed ({type(exc).__name__}: {text.strip()[:160]}); "
                          "rerun with --verbose for its log") from None
    return rewrites


def convert_saved_model(model: Any, function: Any, out_dir: Path, dtype_map: dict[str, bool] | None,
                        shard_bytes: int, verbose: bool) -> None:
    """The converter's own route, for models with lookup tables: SavedModel → `convert_tf_saved_model`.

    It initializes the tables in TF.js (`modelInitializer`) from the SavedModel's resources, at the
    cost of more copies of the weights than `export.graph_model` makes.
    """
    import keras

    tfjs = import_tensorflowjs()
    saved_model = Path(tempfile.mkdtemp(prefix="tfjs-export-savedmodel-"))
    try:
        archive = keras.export.ExportArchive()
        archive.track(model)
        archive.add_endpoint("serve", function)
        archive.write_out(str(saved_model), verbose=verbose)
        tfjs.converters.convert_tf_saved_model(str(saved_model), str(out_dir),
                                               quantization_dtype_map=dtype_map,
                                               weight_shard_size_bytes=shard_bytes)
    finally:
        shutil.rmtree(saved_model, ignore_errors=True)


def rewrite_graph(model_json: Path) -> list[dict[str, Any]]:
    """The rewrites of the converted graph itself (export/rewrites/graph.py), each as a
    `metadata.rewrites` entry."""
    from .rewrites.graph import HARD_SWISH, strip_control_edges, unfuse_activations, unfuse_odd_biases

    rewrites = []
    removed = strip_control_edges(model_json)
    if removed:
        rewrites.append({"layer": None, "class": "while loop",
                         "what": f"removed {removed} control-only edges of the converted while loop(s) "
                                 "(TF.js' executor never schedules their NoOp sources)"})
    split = unfuse_odd_biases(model_json)
    if split:
        rewrites.append({"layer": None, "class": "fused bias",
                         "what": f"split {split} fused MatMul/Conv2D node(s) whose bias is not 1-D into "
                                 "base op + AddV2 (TF.js' wasm backend takes rank-1 biases only)"})
    activations = unfuse_activations(model_json)
    swishes = activations.pop(HARD_SWISH, 0)
    if swishes:
        rewrites.append({"layer": None, "class": "hard swish",
                         "what": f"split {swishes} convolution(s) fused with a hard swish into the fused "
                                 "convolution + x·relu6(x + 3)·⅙ (no TF.js backend has _FusedHardSwish)"})
    for activation, count in activations.items():
        rewrites.append({"layer": None, "class": "fused activation",
                         "what": f"split {count} MatMul/convolution node(s) fused with {activation} into the "
                                 f"fused op + {activation} (TF.js' wasm backend cannot fuse it)"})
    return rewrites
