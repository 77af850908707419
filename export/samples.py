"""The proof's samples: given in an .npz file or as arrays, generated from the input specs, or MNIST
test digits; and the bundle (`proof.json` + `proof.bin`) that carries them and Keras' outputs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mnist_tfjs.export_files import PROOF_BIN, PROOF_JSON
from mnist_tfjs.model_kinds import GENERIC_KIND, MNIST_KIND, MNIST_TEST_DIGITS

from .errors import ExportError
from .rules import output_scale
from .specs import DYNAMIC_SIZE, TensorSpec, input_specs, input_structure, output_specs

DEFAULT_SAMPLES = 256
BUNDLE_LIMIT = 1_000_000  # bytes of proof.bin
BUNDLE_MAX_SAMPLES = 256
# The fewest samples the model page re-checks, past BUNDLE_LIMIT when they need more room: one
# 224x224x3 image alone fills a megabyte, and a check of one sample means little. The page fetches
# proof.bin only when a visitor runs the check.
BUNDLE_MIN_SAMPLES = 8


@dataclass(frozen=True)
class Samples:
    """The proof's inputs, {input name: array}, and what they are (metadata.json's proof fields)."""

    kind: str  # MNIST_KIND: MNIST test digits with `labels`; GENERIC_KIND: anything else
    arrays: dict[str, np.ndarray]
    info: dict[str, Any]
    labels: np.ndarray | None = None

    @property
    def count(self) -> int:
        return len(next(iter(self.arrays.values())))


def mnist_digits(inputs: list[TensorSpec], digits: int | None, data_dir: str | Path | None) -> Samples:
    """The first `digits` MNIST test digits (all of them by default), with their labels."""
    from mnist_tfjs.mnist import DataError, load_test_set

    if digits is not None and not 1 <= digits <= MNIST_TEST_DIGITS:
        raise ExportError(f"--digits {digits} is out of range; use 1 to {MNIST_TEST_DIGITS}")
    try:
        images, labels = load_test_set(data_dir)
    except DataError as exc:
        raise ExportError(str(exc)) from None
    count = len(labels) if digits is None else digits
    return Samples(MNIST_KIND, {inputs[0].name: images[:count]}, {"source": "mnist-test", "seed": None},
                   labels[:count])


def generic_samples(model: Any, inputs: list[TensorSpec],
                    given: str | Path | Mapping[str, Any] | None, count: int, seed: int) -> Samples:
    """The samples a user gave (an .npz path or {input name: array}), else `count` generated ones."""
    if given is None:
        arrays, how = generate(model, inputs, count, seed)
        return Samples(GENERIC_KIND, arrays, {"source": "generated", "seed": seed, "generated": how})
    if isinstance(given, (str, Path)):
        return Samples(GENERIC_KIND, load_samples(Path(given), inputs),
                       {"source": "file", "seed": None, "file": str(given)})
    return Samples(GENERIC_KIND, check_samples(dict(given), inputs, "samples"),
                   {"source": "given", "seed": None})


# What an input means when its name says it (keras-hub names its inputs this way throughout): masks
# are 0/1 with the padding at the end; segment ids index a table of (by default) two rows.
MASK_SUFFIX = "mask"
SEGMENT_NAMES = ("segment_ids", "token_type_ids")
DEFAULT_SEGMENTS = 2
DEFAULT_INT_HIGH = 10  # ints no layer explains: small non-negative values
# Ops a value passes through unchanged in meaning between a model input and the layer that reads it
PASS_THROUGH_OPS = {"Identity", "Cast", "Reshape", "ExpandDims", "Squeeze"}


def _reader_classes() -> tuple[type, ...]:
    """Layers whose input says what values the model expects."""
    import keras

    return (keras.layers.Embedding, keras.layers.CategoryEncoding, keras.layers.IntegerLookup,
            keras.layers.StringLookup, keras.layers.Rescaling, keras.layers.Normalization)


def _consumers(model: Any, tensor: Any) -> list[Any]:
    """The layers of `model`'s own graph that read `tensor` directly."""
    found = []
    for layer in getattr(model, "layers", []):
        for node in getattr(layer, "_inbound_nodes", []):
            if any(t is tensor for t in getattr(node, "input_tensors", [])):
                found.append(layer)
    if not found and type(model).__name__ == "Sequential" and model.layers:
        found.append(model.layers[0])
    return found


def _is_container(layer: Any) -> bool:
    """A layer with layers of its own (a nested model, a Transformer block): who reads the input inside
    it is only seen by tracing."""
    try:
        return bool(layer._flatten_layers(include_self=False, recursive=False))
    except AttributeError:
        return False


def input_readers(model: Any, inputs: list[TensorSpec]) -> dict[str, list[Any]]:
    """{input name: the layers that read it}: the model's own graph, and where an input goes into a
    nested model or block, the layers that read it in there (found by tracing the model)."""
    try:
        _, tensors, _ = input_structure(model)
    except (AttributeError, ValueError):
        tensors = []
    readers = {spec.name: (_consumers(model, tensors[i]) if i < len(tensors) else [])
               for i, spec in enumerate(inputs)}
    hidden = [name for name, layers in readers.items()
              if layers and not any(isinstance(layer, _reader_classes()) for layer in layers)
              and any(_is_container(layer) for layer in layers)]
    if hidden:
        traced = traced_readers(model, inputs)
        for name in hidden:
            readers[name] = traced.get(name) or readers[name]
    return readers


def traced_readers(model: Any, inputs: list[TensorSpec]) -> dict[str, list[Any]]:
    """{input name: reader layers (Embedding, Rescaling, ...) at any depth whose input is that model
    input}, from one trace of the serving function that records what each reader is called on."""
    from keras.src.layers.layer import Layer

    from .convert import serving_function

    classes = _reader_classes()
    calls: list[tuple[Any, Any]] = []
    original = Layer.__call__

    def recording(self: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(self, classes):
            first = args[0] if args else kwargs.get("inputs")
            calls.append((self, first))
        return original(self, *args, **kwargs)

    Layer.__call__ = recording
    try:
        serving_function(model, inputs, output_specs(model)).get_concrete_function()
    except Exception:
        return {}  # the caller keeps what the model's own graph says
    finally:
        Layer.__call__ = original
    names = {spec.name for spec in inputs}
    found: dict[str, list[Any]] = {}
    for layer, tensor in calls:
        source = _placeholder(tensor)
        if source in names and layer not in found.setdefault(source, []):
            found[source].append(layer)
    return found


def _placeholder(tensor: Any) -> str | None:
    """The graph input `tensor` is, through ops that keep its values (casts, reshapes)."""
    op = getattr(tensor, "op", None)
    while op is not None and op.type in PASS_THROUGH_OPS and op.inputs:
        op = op.inputs[0].op
    return op.name if op is not None and op.type == "Placeholder" else None


def is_mask(spec: TensorSpec) -> bool:
    """A 0/1 mask: a boolean input, or an int one named like a mask (`padding_mask`, `attention_mask`)."""
    name = spec.name.lower()
    return spec.keras_dtype == "bool" or (spec.dtype == "int32" and (name == MASK_SUFFIX
                                                                      or name.endswith("_" + MASK_SUFFIX)))


def int_range(model: Any, index: int, inputs: list[TensorSpec] | None = None,
              readers: dict[str, list[Any]] | None = None) -> tuple[int, int, bool, str]:
    """[low, high) for generated ints of input `index`, whether 0 is padding (mask_zero), and why."""
    import keras

    inputs = inputs if inputs is not None else _specs_of(model)
    spec = inputs[index]
    readers = readers if readers is not None else input_readers(model, inputs)
    for layer in readers.get(spec.name, []):
        if isinstance(layer, keras.layers.Embedding):
            return 0, int(layer.input_dim), bool(getattr(layer, "mask_zero", False)), _read_by(layer)
        if isinstance(layer, keras.layers.CategoryEncoding):
            return 0, int(layer.num_tokens), False, _read_by(layer)
        if isinstance(layer, (keras.layers.IntegerLookup, keras.layers.StringLookup)):
            return 0, max(2, int(layer.vocabulary_size())), False, _read_by(layer)
    if spec.name.lower() in SEGMENT_NAMES:
        return 0, DEFAULT_SEGMENTS, False, "named like segment ids"
    return 0, DEFAULT_INT_HIGH, False, "no layer says"


def float_range(model: Any, index: int, inputs: list[TensorSpec] | None = None,
                readers: dict[str, list[Any]] | None = None) -> tuple[str, float, float]:
    """("normal", mean, std) or ("uniform", low, high) for generated floats of input `index`."""
    return _float_rule(model, index, inputs, readers)[:3]


def _float_rule(model: Any, index: int, inputs: list[TensorSpec] | None,
                readers: dict[str, list[Any]] | None) -> tuple[str, float, float, str]:
    import keras

    inputs = inputs if inputs is not None else _specs_of(model)
    readers = readers if readers is not None else input_readers(model, inputs)
    for layer in readers.get(inputs[index].name, []):
        if isinstance(layer, keras.layers.Rescaling):
            scale = float(np.max(np.abs(np.asarray(layer.scale, dtype=np.float64))))
            if 0 < scale < 0.1:  # e.g. Rescaling(1/255): the model expects raw pixel values
                return "uniform", 0.0, 1.0 / scale, _read_by(layer)
        if isinstance(layer, keras.layers.Normalization) and getattr(layer, "built", False):
            mean, variance = _normalization_stats(layer)
            if mean is not None:  # values as the statistics it was adapted to say they come
                return "normal", mean, float(np.sqrt(max(variance, 0.0))) or 1.0, _read_by(layer)
    return "normal", 0.0, 1.0, "no layer says"


def _normalization_stats(layer: Any) -> tuple[float | None, float]:
    """One mean and variance for a Normalization layer's input (the averages over its features)."""
    try:
        mean = np.asarray(layer.mean, dtype=np.float64)
        variance = np.asarray(layer.variance, dtype=np.float64)
    except (AttributeError, TypeError, ValueError):
        return None, 1.0
    if not np.all(np.isfinite(mean)) or not np.all(np.isfinite(variance)):
        return None, 1.0
    return float(mean.mean()), float(variance.mean())


def _read_by(layer: Any) -> str:
    return f"read by {type(layer).__name__} {layer.name!r}"


def _specs_of(model: Any) -> list[TensorSpec]:
    return input_specs(model)


def mask_values(rng: np.random.Generator, shape: list[int]) -> np.ndarray:
    """0/1 masks that keep a leading run of each sequence (at least its first position) and pad the rest,
    as a tokenizer pads a batch: the kept length is drawn per sample, along axis 1 of a [batch, length]
    mask and along the last (the keys) of a [batch, queries, keys] one, so every query keeps a key."""
    values = np.zeros(shape, dtype=np.int32)
    if len(shape) < 2:
        values[:] = 1
        return values
    axis = 1 if len(shape) == 2 else len(shape) - 1
    lengths = rng.integers(1, shape[axis] + 1, size=shape[0])
    kept = np.arange(shape[axis]) < lengths[:, None]  # [batch, length]
    view = kept.reshape([shape[0]] + [1] * (axis - 1) + [shape[axis]] + [1] * (len(shape) - axis - 1))
    values[...] = np.broadcast_to(view, shape)
    return values


def generate(model: Any, inputs: list[TensorSpec], count: int, seed: int) -> tuple[dict[str, np.ndarray],
                                                                                      dict[str, Any]]:
    """`count` samples per input from the specs, reproducible from `seed`; and how they were drawn."""
    rng = np.random.default_rng(seed)
    readers = input_readers(model, inputs)
    arrays: dict[str, np.ndarray] = {}
    how: dict[str, Any] = {}
    for index, spec in enumerate(inputs):
        shape = [count] + [DYNAMIC_SIZE if d is None else d for d in spec.shape[1:]]
        if is_mask(spec):
            arrays[spec.name] = mask_values(rng, shape)
            how[spec.name] = {"distribution": "mask", "values": [0, 1], "padding": "end",
                              "min_kept": 1, "rule": "boolean input" if spec.keras_dtype == "bool"
                              else "named like a mask"}
        elif spec.dtype == "int32":
            arrays[spec.name], how[spec.name] = _draw_ints(rng, shape, model, index, inputs, readers)
        else:
            kind, a, b, why = _float_rule(model, index, inputs, readers)
            arrays[spec.name] = (rng.normal(a, b, size=shape) if kind == "normal"
                                 else rng.uniform(a, b, size=shape)).astype(np.float32)
            how[spec.name] = {"distribution": kind, **({"mean": a, "std": b} if kind == "normal"
                                                       else {"low": a, "high": b}), "rule": why}
    return arrays, how


def _draw_ints(rng: np.random.Generator, shape: list[int], model: Any, index: int, inputs: list[TensorSpec],
               readers: dict[str, list[Any]]) -> tuple[np.ndarray, dict[str, Any]]:
    """Integers within what reads them; zero padding at the end of each sequence under a mask_zero
    Embedding, to exercise the mask."""
    low, high, padded, why = int_range(model, index, inputs, readers)
    low = 1 if padded and high > 1 else low
    values = rng.integers(low, high, size=shape, dtype=np.int64).astype(np.int32)
    if padded and len(shape) >= 2:
        lengths = rng.integers(1, shape[1] + 1, size=shape[0])
        for row, length in enumerate(lengths):
            values[row, length:] = 0
    return values, {"distribution": "integers", "low": low, "high": high, "zero_padded": padded,
                    "rule": why}


def _matches(shape: tuple[int, ...], spec: TensorSpec) -> bool:
    return len(shape) == len(spec.shape) and all(d is None or d == s
                                                 for d, s in zip(spec.shape[1:], shape[1:], strict=True))


def check_samples(arrays: dict[str, Any], inputs: list[TensorSpec], where: str) -> dict[str, np.ndarray]:
    """Arrays keyed by input name, checked against the specs and cast to float32/int32."""
    names = [spec.name for spec in inputs]
    missing = [name for name in names if name not in arrays]
    if missing:
        raise ExportError(f"{where} has no array for input {missing[0]!r}; it needs arrays named "
                          f"{', '.join(names)}")
    checked = {}
    counts = set()
    for spec in inputs:
        value = np.asarray(arrays[spec.name])
        shape_text = "(N, " + ", ".join("any" if d is None else str(d) for d in spec.shape[1:]) + ")"
        if not _matches(value.shape, spec):
            raise ExportError(f"{where}: array {spec.name!r} has shape {value.shape}; input {spec.name!r} "
                              f"takes {shape_text}")
        if spec.dtype == "int32" and not np.issubdtype(value.dtype, np.integer):
            raise ExportError(f"{where}: array {spec.name!r} is {value.dtype}; input {spec.name!r} takes "
                              "integers (int32)")
        if spec.dtype == "float32" and not (np.issubdtype(value.dtype, np.floating)
                                            or np.issubdtype(value.dtype, np.integer)):
            raise ExportError(f"{where}: array {spec.name!r} is {value.dtype}; input {spec.name!r} takes "
                              "numbers (float32)")
        if spec.dtype == "int32" and value.size and (value.min() < -2**31 or value.max() >= 2**31):
            raise ExportError(f"{where}: array {spec.name!r} holds values outside int32")
        if value.shape[0] == 0:
            raise ExportError(f"{where}: array {spec.name!r} holds no samples")
        counts.add(value.shape[0])
        dtype = np.int32 if spec.dtype == "int32" else np.float32
        checked[spec.name] = np.ascontiguousarray(value, dtype=dtype)
    if len(counts) > 1:
        raise ExportError(f"{where}: the arrays hold different sample counts ({sorted(counts)}); "
                          "give every input the same number of samples")
    return checked


def load_samples(path: Path, inputs: list[TensorSpec]) -> dict[str, np.ndarray]:
    """Read `--samples FILE.npz` (arrays keyed by input name) and check it against the specs."""
    if not path.is_file():
        raise ExportError(f"samples file {path} not found; pass an .npz with one array per input "
                          f"({', '.join(s.name for s in inputs)})")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except Exception as exc:
        raise ExportError(f"{path} is not a readable .npz file ({type(exc).__name__}); write it with "
                          "numpy.savez(path, **{input_name: array})") from None
    return check_samples(arrays, inputs, str(path))


def bundle_count(inputs: dict[str, np.ndarray], expected: dict[str, np.ndarray],
                 limit: int = BUNDLE_LIMIT, most: int = BUNDLE_MAX_SAMPLES, least: int = 0) -> int:
    """How many samples fit in proof.bin (≤ `limit` bytes, ≤ `most` samples), but at least `least`
    of them where there are that many."""
    total = len(next(iter(inputs.values())))
    per_sample = sum(a[0].nbytes for a in (*inputs.values(), *expected.values()))
    return max(0, min(total, most, max(least, limit // max(1, per_sample))))


def write_bundle(folder: Path, inputs: dict[str, np.ndarray], expected: dict[str, np.ndarray],
                 classifiers: dict[str, bool], thresholds: dict[str, float], count: int) -> dict[str, Any]:
    """Write proof.json + proof.bin with the first `count` samples; returns the manifest."""
    arrays = []
    offset = 0
    with (folder / PROOF_BIN).open("wb") as handle:
        for role, group in (("input", inputs), ("expected", expected)):
            for name, values in group.items():
                part = np.ascontiguousarray(values[:count]).astype(values.dtype.newbyteorder("<"), copy=False)
                data = part.tobytes()
                entry: dict[str, Any] = {"role": role, "name": name, "dtype": str(values.dtype),
                                         "shape": list(part.shape), "offset": offset, "bytes": len(data)}
                if role == "expected":
                    entry["classifier"] = classifiers[name]
                    entry["scale"] = output_scale(part)
                arrays.append(entry)
                handle.write(data)
                offset += len(data)
    manifest = {"samples": count, "thresholds": thresholds, "arrays": arrays}
    (folder / PROOF_JSON).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return manifest


def is_classifier(values: np.ndarray) -> bool:
    """Class scores along the last axis: ≥ 2 of them, non-negative and summing to 1 (softmax)."""
    if values.dtype != np.float32 or values.ndim < 2 or values.shape[-1] < 2:
        return False
    sums = values.sum(axis=-1, dtype=np.float64)
    return bool((values >= 0).all() and np.allclose(sums, 1.0, atol=1e-3))
