"""What a Keras model takes and gives: names, dtypes and shapes of its inputs and outputs.

The graph model's signature, `metadata.json`, the samples and the proof all use these specs,
in the model's own order. Dtypes are the two TF.js computes with: float32 and int32.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mnist_tfjs.contract import MNIST_CLASSES, MNIST_IMAGE_SHAPE

from .errors import ExportError


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
    """The model's inputs, in its order, named as in `keras.Input(name=...)`."""
    names, tensors, _ = input_structure(model)
    if not tensors:
        raise ExportError(f"model {model.name!r} has no known inputs (not built); build it with "
                          "keras.Input(...) or call it once on data before saving")
    return _specs("input", names, tensors)


def _specs(role: str, names: list[str], tensors: list[Any]) -> list[TensorSpec]:
    specs = []
    for name, tensor in zip(names, tensors, strict=True):
        keras_dtype = str(tensor.dtype)
        specs.append(TensorSpec(name, _js_dtype(keras_dtype, f"{role} {name!r}"),
                                tuple(None if d is None else int(d) for d in tensor.shape), keras_dtype))
    return specs


def output_structure(model: Any) -> tuple[list[str], list[Any]]:
    """(names, symbolic output tensors) in the model's order; dict outputs keep their keys."""
    outputs = model.outputs
    raw = getattr(model, "_outputs_struct", None)
    if isinstance(raw, dict):
        return _unique(list(raw.keys())), list(raw.values())
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
