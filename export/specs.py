"""What a Keras model takes and gives: names, dtypes and shapes of its inputs and outputs.

The graph model's signature, `metadata.json`, the samples and the proof all use these specs,
in the model's own order. Dtypes are the two TF.js computes with: float32 and int32.
"""

from __future__ import annotations

import contextlib
import math
import re
import weakref
from dataclasses import dataclass
from typing import Any

from mnist_tfjs.model_kinds import MNIST_CLASSES, MNIST_IMAGE_SHAPE

from .errors import ExportError

DYNAMIC_SIZE = 16  # what a dynamic (None) dimension other than the batch becomes in generated samples
# per model: why its dynamic axes are fixed (None: they are not), so that it is traced for this once
_FIXED_AXES: weakref.WeakKeyDictionary[Any, str | None] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class TensorSpec:
    """One model input or output as the exported model sees it."""

    name: str
    dtype: str  # "float32" or "int32" (what TF.js computes with)
    shape: tuple[int | None, ...]  # batch first; None = dynamic
    keras_dtype: str  # the model's own dtype (cast to and from `dtype` at the signature)

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, "shape": list(self.shape)}


def _js_dtype(keras_dtype: str, what: str) -> str:
    if "float" in keras_dtype:
        return "float32"
    if "int" in keras_dtype or keras_dtype == "bool":
        return "int32"
    raise ExportError(f"{what} has dtype {keras_dtype}; TF.js takes float32 and int32 tensors only: "
                      "cast it inside the model")


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    result = []
    for name in names:
        clean = "".join(c if c.isalnum() or c in "_-." else "_" for c in name) or "output"
        if clean in seen:
            seen[clean] += 1
            clean = f"{clean}_{seen[clean]}"
        else:
            seen[clean] = 0
        result.append(clean)
    return result


def input_structure(model: Any) -> tuple[list[str], list[Any], bool]:
    """(names, symbolic input tensors, the model takes a dict) in the model's order."""
    raw = getattr(model, "_inputs_struct", None)
    if isinstance(raw, dict):
        return [str(k) for k in raw], list(raw.values()), True
    try:
        tensors = list(model.inputs)
    except (AttributeError, ValueError):
        tensors = []
    return _unique([str(t.name).split(":")[0] for t in tensors]), tensors, False


def input_specs(model: Any) -> list[TensorSpec]:
    """The model's inputs, in its order, named as in `keras.Input(name=...)`; their dynamic axes other
    than the batch fixed at DYNAMIC_SIZE where the model cannot be traced with them dynamic
    (`fixed_axes` says why)."""
    names, tensors, _ = input_structure(model)
    if not tensors:
        raise ExportError(f"model {model.name!r} has no known inputs (not built); build it with "
                          "keras.Input(...) or call it once on data before saving")
    specs = _specs("input", names, tensors)
    return specs if _fixed_axes(model, specs) is None else _fixed(specs)


def _fixed(specs: list[TensorSpec]) -> list[TensorSpec]:
    """The specs with every dynamic axis but the batch set to DYNAMIC_SIZE."""
    return [TensorSpec(spec.name, spec.dtype, (spec.shape[0], *(DYNAMIC_SIZE if d is None else d
                                                                for d in spec.shape[1:])), spec.keras_dtype)
            for spec in specs]


def fixed_axes(model: Any) -> str | None:
    """Why `input_specs` fixes the model's dynamic axes other than the batch (None: it does not)."""
    names, tensors, _ = input_structure(model)
    return _fixed_axes(model, _specs("input", names, tensors)) if tensors else None


def _fixed_axes(model: Any, specs: list[TensorSpec]) -> str | None:
    """Why the model's dynamic axes other than the batch are fixed at DYNAMIC_SIZE (None: they stay dynamic).

    Some layers loop or branch in Python over a sequence length (RWKV7's `for t in range(T)`, Qwen3.5's
    gated delta rule `if pad_size > 0` on its chunk padding), which a trace with that axis dynamic
    cannot do ("'SymbolicTensor' object cannot be interpreted as an integer"): Keras' own predict
    retraces at each concrete shape, a TF.js graph cannot. Found by tracing the serving function with
    the axes dynamic and, where that fails and fixed ones trace, fixing them. Traced once per model.
    """
    if not any(d is None for spec in specs for d in spec.shape[1:]):
        return None
    try:
        return _FIXED_AXES[model]
    except (KeyError, TypeError):
        pass
    from .convert import serving_function

    outputs = output_specs(model)
    try:
        serving_function(model, specs, outputs).get_concrete_function()
        reason = None
    except Exception as exc:  # the model's own error: kept only if fixed axes do not trace either
        try:
            serving_function(model, _fixed(specs), outputs).get_concrete_function()
        except Exception:
            reason = None  # not a matter of dynamic axes: the caller meets the error where it traces
        else:
            reason = (f"dynamic axes other than the batch fixed at {DYNAMIC_SIZE}: the model cannot be "
                      f"traced with them dynamic ({_cause(exc)})")
    with contextlib.suppress(TypeError):
        _FIXED_AXES[model] = reason
    return reason


def _cause(exc: Exception) -> str:
    """The line of a failed trace that says why: Keras wraps the error in lines of its own, in bold."""
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", line).strip() for line in str(exc).splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        return type(exc).__name__
    line = next((line for line in lines if "symbolic" in line.lower()), lines[0])
    return line.split(". ", 1)[0].rstrip(".")[:160]  # TensorFlow's advice after the first sentence


def sample_bytes(specs: list[TensorSpec]) -> int:
    """Bytes of one sample of these tensors (4 per value; an axis of unknown size counts as
    DYNAMIC_SIZE)."""
    return sum(4 * math.prod(DYNAMIC_SIZE if d is None else d for d in spec.shape[1:]) for spec in specs)


def output_values(model: Any, result: Any) -> list[Any]:
    """A call's outputs in `output_structure`'s order."""
    raw = getattr(model, "_outputs_struct", None)
    if isinstance(raw, dict):
        return _flattened({key: result[key] for key in raw})[1]
    return list(result) if isinstance(result, (list, tuple)) else [result]


def _flattened(outputs: dict[str, Any]) -> tuple[list[str], list[Any]]:
    """A dict's values in its keys' order, each nested structure flattened: `key`, or `key_0`, `key_1`, …"""
    import keras

    names, values = [], []
    for key, value in outputs.items():
        for path, leaf in keras.tree.flatten_with_path(value):
            names.append("_".join([str(key), *(str(part) for part in path)]))
            values.append(leaf)
    return names, values


def _specs(role: str, names: list[str], tensors: list[Any]) -> list[TensorSpec]:
    specs = []
    for name, tensor in zip(names, tensors, strict=True):
        keras_dtype = str(tensor.dtype)
        specs.append(TensorSpec(name, _js_dtype(keras_dtype, f"{role} {name!r}"),
                                tuple(None if d is None else int(d) for d in tensor.shape), keras_dtype))
    return specs


def output_structure(model: Any) -> tuple[list[str], list[Any]]:
    """(names, symbolic output tensors) in the model's order; dict outputs keep their keys, a value
    that nests several tensors (D-FINE's per-layer hidden states) gives one output each."""
    outputs = model.outputs
    raw = getattr(model, "_outputs_struct", None)
    if isinstance(raw, dict):
        names, tensors = _flattened(raw)
        return _unique(names), tensors
    names = []
    for i, tensor in enumerate(outputs):
        history = getattr(tensor, "_keras_history", None)
        names.append(str(history[0].name) if history else f"output_{i}")
    return _unique(names), list(outputs)


def output_specs(model: Any) -> list[TensorSpec]:
    """The model's outputs, in its order, named after their layers (or their dict keys)."""
    names, tensors = output_structure(model)
    return _specs("output", names, tensors)


def looks_like_mnist(inputs: list[TensorSpec], outputs: list[TensorSpec]) -> bool:
    """28x28x1 float image in, 10 values out (the digit demo's contract; probabilities checked later)."""
    return (len(inputs) == 1 and len(outputs) == 1 and inputs[0].dtype == "float32"
            and tuple(inputs[0].shape[1:]) == MNIST_IMAGE_SHAPE
            and tuple(outputs[0].shape[1:]) == (MNIST_CLASSES,) and outputs[0].dtype == "float32")
