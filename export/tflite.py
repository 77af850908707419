"""The LiteRT.js target: a Keras model as `model.tflite`, compiled for one sample per call.

Route: a `keras.export.ExportArchive` SavedModel whose endpoint has fixed shapes (batch 1, and
the proof samples' sizes for other dynamic dimensions), named like the TF.js signature, →
`tf.lite.TFLiteConverter.from_saved_model`. (`from_keras_model` and `from_concrete_functions`
leave READ_VARIABLE ops on a Keras 3 model that crash at inference; LiteRT.js rejects a `-1`
batch for a `[1, ...]` tensor.) Builtin TFLite ops only: LiteRT.js has no TensorFlow (Flex) ops.
`--quantize float16` stores float16 weights, as the TF.js model does (computed in float32 once
loaded); uint8 keeps float32 weights (TFLite's 8-bit schemes change the arithmetic, not only the
download), so the `.tflite` is then proven against the export's looser thresholds in full precision.

`--litert int8` adds a full-integer model (`quantize="int8"`): TensorFlow's own post-training
quantization (`Optimize.DEFAULT`, a representative dataset, `TFLITE_BUILTINS_INT8`) with float32
at the model's inputs and outputs, so callers feed and read the same tensors. An op with no integer
kernel stops the conversion unless float fallback is allowed; `float_ops` names the ops left in float.
"""

from __future__ import annotations

import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mnist_tfjs.quiet import captured_output

from .convert import release_freed_memory, serving_function
from .specs import TensorSpec

BATCH = 1


class TfliteUnavailable(Exception):
    """The TFLite converter cannot take the model (one line: what it said)."""


@dataclass(frozen=True)
class TfliteModel:
    """The converted file and its signature, as metadata.json's `litert` block records it."""

    path: Path
    signature: str
    inputs: list[dict[str, Any]]  # {name, dtype, shape, index} in the Keras order
    outputs: list[dict[str, Any]]


@dataclass(frozen=True)
class TfliteQuantization:
    """What a `.tflite` stores and computes in, as `_configure` sets the converter up for it: `quantize`
    "none" (float32), "float16" (float16 weights) or "int8" (full integer, calibrated on `calibration`,
    float only for ops that have no integer kernel when `allow_float_fallback`)."""

    quantize: str = "none"
    calibration: dict[str, np.ndarray] | None = None
    allow_float_fallback: bool = False


FLOAT32 = TfliteQuantization()


def fixed_specs(inputs: list[TensorSpec], samples: dict[str, np.ndarray]) -> list[TensorSpec]:
    """The inputs with batch 1 and every other dynamic dimension set to the samples' size."""
    fixed = []
    for spec in inputs:
        sample_shape = samples[spec.name].shape[1:]
        shape = tuple(int(size if dim is None else dim) for dim, size in zip(spec.shape[1:], sample_shape,
                                                                              strict=True))
        fixed.append(TensorSpec(spec.name, spec.dtype, (BATCH, *shape), spec.keras_dtype))
    return fixed


def _converter_message(exc: Exception) -> str:
    """The line of the converter's error that names the problem (its messages run to pages)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    for line in lines:
        if "not supported" in line or "error:" in line:
            return line.split("error:", 1)[-1].strip()[:200]
    return (lines[0][:200] if lines else type(exc).__name__)


def representative_dataset(calibration: dict[str, np.ndarray]
                           ) -> Callable[[], Iterator[dict[str, np.ndarray]]]:
    """The converter's calibration feed: one sample at a time (batch 1), keyed by input name."""
    count = len(next(iter(calibration.values())))

    def feed() -> Iterator[dict[str, np.ndarray]]:
        for index in range(count):
            yield {name: values[index:index + 1] for name, values in calibration.items()}

    return feed


def _configure(converter: Any, quantization: TfliteQuantization) -> None:
    """Ops and optimizations for `quantization`: none, float16 weights, or full integer (int8)."""
    import tensorflow as tf

    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if quantization.quantize == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif quantization.quantize == "int8":
        if not quantization.calibration:
            raise ValueError("full-integer quantization needs calibration samples")
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative_dataset(quantization.calibration)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8] + (
            [tf.lite.OpsSet.TFLITE_BUILTINS] if quantization.allow_float_fallback else [])
        # float32 at the model's edges: a Quantize op after each input, a Dequantize before each output
        converter.inference_input_type = tf.float32
        converter.inference_output_type = tf.float32


def write_tflite(model: Any, inputs: list[TensorSpec], outputs: list[TensorSpec],
                 samples: dict[str, np.ndarray], path: Path, quantization: TfliteQuantization = FLOAT32,
                 verbose: bool = False, saved_model: Path | None = None) -> TfliteModel:
    """Convert `model` to a batch-1 `.tflite` at `path`, stored and computed as `quantization` says;
    TfliteUnavailable when the converter refuses. `saved_model`: a folder the fixed-shape SavedModel
    is kept in (written there when empty, read when not), so a second conversion of the same model
    skips writing it again; the caller removes it. Without it, a temporary one."""
    import keras
    import tensorflow as tf

    fixed = fixed_specs(inputs, samples)
    kept = saved_model is not None
    saved_model = saved_model or Path(tempfile.mkdtemp(prefix="litert-export-savedmodel-"))
    strict_int8 = quantization.quantize == "int8" and not quantization.allow_float_fallback
    try:
        with captured_output(verbose):
            if not (saved_model / "saved_model.pb").is_file():
                saved_model.mkdir(parents=True, exist_ok=True)
                archive = keras.export.ExportArchive()
                archive.track(model)
                archive.add_endpoint("serve", serving_function(model, fixed, outputs))
                archive.write_out(str(saved_model), verbose=verbose)
            converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model))
            _configure(converter, quantization)
            path.write_bytes(converter.convert())
        # The converter keeps an op with no integer kernel in float between a Dequantize and a
        # Quantize without a word, even with TFLITE_BUILTINS_INT8 alone: that is only allowed on request.
        left = float_ops(path) if strict_int8 else []
        if left:
            path.unlink(missing_ok=True)
            raise TfliteUnavailable(f"{', '.join(left)} ha{'ve' if len(left) > 1 else 's'} no integer kernel "
                                    f"in TFLite, so {path.name} would compute it in float: "
                                    "--allow-float-fallback accepts that (and names the ops)")
    except TfliteUnavailable:
        raise
    except Exception as exc:  # the converter raises many types (ConverterError, ValueError, ...)
        message = _converter_message(exc)
        if strict_int8:
            message += (" (an op with no integer kernel: --allow-float-fallback keeps such ops in float "
                        "and names them)")
        raise TfliteUnavailable(f"the TFLite converter cannot take this model: {message}") from None
    finally:
        if not kept:
            shutil.rmtree(saved_model, ignore_errors=True)
        release_freed_memory()
    return describe(path, inputs, outputs)


# Ops at the edges of a full-integer model that convert between float32 and int8 by design.
_EDGE_OPS = frozenset({"QUANTIZE", "DEQUANTIZE"})


def float_ops(path: Path) -> list[str]:
    """The ops of a `.tflite` that compute in float (by name, each once, in graph order), apart from
    the Quantize/Dequantize ops that bring float32 inputs and outputs in and out."""
    import tensorflow as tf

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        interpreter = tf.lite.Interpreter(model_path=str(path))
    dtypes = {t["index"]: np.dtype(t["dtype"]) for t in interpreter.get_tensor_details()}
    found: list[str] = []
    for op in interpreter._get_ops_details():  # the public API lists tensors, not ops
        name = op["op_name"]
        tensors = [i for i in (*op["inputs"], *op["outputs"]) if i >= 0]
        if name not in _EDGE_OPS and any(dtypes.get(i) == np.float32 for i in tensors) \
                and name not in found:
            found.append(name)
    return found


def output_steps(path: Path) -> dict[str, float]:
    """Per output of a full-integer `.tflite`, by signature name: the step of the int8 grid it is
    computed on (the scale of the tensor its Dequantize reads); differences below it are ties."""
    import tensorflow as tf

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        interpreter = tf.lite.Interpreter(model_path=str(path))
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    producers = {out: op for op in interpreter._get_ops_details() for out in op["outputs"]}
    key = next(iter(interpreter.get_signature_list()))
    steps = {}
    for name, index in interpreter.get_signature_runner(key).get_output_details().items():
        op = producers.get(index["index"])
        if op is not None and op["op_name"] == "DEQUANTIZE":
            scale, _zero = tensors[op["inputs"][0]]["quantization"]
            steps[name] = float(scale)
    return steps


def describe(path: Path, inputs: list[TensorSpec], outputs: list[TensorSpec]) -> TfliteModel:
    """The `.tflite`'s signature: names, shapes and dtypes as LiteRT sees them, in the Keras order."""
    import tensorflow as tf

    with warnings.catch_warnings():  # tf.lite.Interpreter warns of its move to ai_edge_litert
        warnings.simplefilter("ignore")
        interpreter = tf.lite.Interpreter(model_path=str(path))
    signatures = interpreter.get_signature_list()
    if len(signatures) != 1:
        raise TfliteUnavailable(f"the converted model has {len(signatures)} signatures, expected one")
    key = next(iter(signatures))
    runner = interpreter.get_signature_runner(key)
    return TfliteModel(path, key, _entries(runner.get_input_details(), signatures[key]["inputs"], inputs),
                       _entries(runner.get_output_details(), signatures[key]["outputs"], outputs))


def _entries(details: dict[str, dict[str, Any]], order: list[str],
             specs: list[TensorSpec]) -> list[dict[str, Any]]:
    missing = [spec.name for spec in specs if spec.name not in details]
    if missing:
        raise TfliteUnavailable(f"the converted model's signature lacks {missing[0]!r} "
                                f"(it has {', '.join(details)})")
    return [{"name": spec.name, "dtype": np.dtype(details[spec.name]["dtype"]).name,
             "shape": [int(d) for d in details[spec.name]["shape"]], "index": order.index(spec.name)}
            for spec in specs]
