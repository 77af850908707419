"""Where a failed proof first went wrong: each Keras layer's output beside the TF.js graph node that
computes it, on a few samples, in the model's order; the first layer whose error jumps past the
proof's threshold while its inputs still agree is named in the refusal and in a report file.

How a layer is matched to its TF.js node: tracing the serving function again (with the same tracing
rewrites as the conversion, so TensorFlow numbers the name scopes the same way) records the name
scope each layer's ops get; every node of the converted graph whose name lies in that scope belongs
to the layer, and the node whose value leaves the scope (feeds another layer or the output) is the
layer's output. A layer whose ops TensorFlow fused into a later one (a convolution and its
BatchNorm folded into the activation's `_FusedConv2D`) has no node of its own and is compared
where the fused node is. TF.js fetches any node: `GraphModel.execute(inputs, [node names])`
(export/locate.js).

Whether float32 itself explains the divergence: a copy of the model in float64 gives the exact
outputs on the same samples; when Keras' own float32 outputs miss the threshold against them and
TF.js' are about as far (activations of 1e4-1e5 feeding a sigmoid gate do this), no conversion step
is at fault and the refusal says so.
"""

from __future__ import annotations

import contextlib
import json
import re
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ExportError
from .node_proof import _node_error, _run_node
from .rounding import float64_outputs
from .rules import output_scale
from .samples import write_bundle
from .specs import input_specs, input_structure, output_specs

SCRIPT = Path(__file__).resolve().parent / "locate.js"
LOCATE_SAMPLES = 4  # enough to see a divergence the proof saw on most samples; activations of all
# layers for these few stay well under the memory the proof itself needs
JUMP = 10.0  # a layer diverges where its error passes the threshold and grows this much over its inputs'
# TF.js' float32 result as far from the exact (float64) one as this many times Keras' own float32
# result is: the same rounding, summed in another order (folded BatchNorms, other kernels)
FLOAT32_FACTOR = 10.0
HUGE_ACTIVATION = 1e3  # activations beyond this in a network with BatchNorm mean statistics of other inputs
LOCATE_TIMEOUT_S = 600


@dataclass
class LayerDiff:
    """One layer's output in TF.js against Keras on the located samples."""

    layer: str
    layer_class: str
    node: str
    op: str
    relative_diff: float  # max |TF.js - Keras| over max |Keras| of this layer's output
    scale: float
    inputs_relative_diff: float  # the largest error of the compared layers feeding it (0: model inputs)
    folded: list[str]  # layers between those and this one with no node of their own (fused into this)
    inputs: list[str]  # the nearest compared layers feeding it
    heals: bool = False  # past the threshold, yet every compared layer it feeds is JUMP times closer:
    # the node is not the layer's whole output (Grappler moved part of it into the next op: a folded
    # BatchNorm's offset into the residual add, a Relu hoisted past a Concat), so it is no divergence


@dataclass
class Float32Check:
    """How far float32 itself is from the exact result here: Keras' float32 outputs and TF.js' against
    Keras in float64 on the same samples (worst output, relative to its scale)."""

    keras_vs_float64: float
    tfjs_vs_float64: float
    activation_peak: float  # the largest |value| among the compared layers' outputs

    def is_rounding(self, threshold: float) -> bool:
        """TF.js is about as close to the exact result as Keras' own float32 result, and the threshold
        is within FLOAT32_FACTOR of that float32 error: float32 does not determine the outputs much
        finer than the threshold, so the difference is rounding, not the conversion."""
        bound = FLOAT32_FACTOR * self.keras_vs_float64
        return self.tfjs_vs_float64 <= bound and threshold < bound


@dataclass
class Located:
    """The comparison of every matched layer, and the first divergence (None: all agree)."""

    backend: str
    samples: int
    threshold: float
    layers: list[LayerDiff]
    first: LayerDiff | None
    float32: Float32Check | None = None

    def sentence(self) -> str:
        """Where it diverged, and whether float32 rounding explains it."""
        found = self._where()
        check = self.float32
        if check is not None and check.is_rounding(self.threshold):
            found += (f"; Keras itself in float32 differs from float64 by {check.keras_vs_float64:.1e} of "
                      f"the output's scale on these samples (TF.js {check.tfjs_vs_float64:.1e}), with "
                      f"activations up to {check.activation_peak:.0e}: float32 rounding, not the conversion")
            if check.activation_peak > HUGE_ACTIVATION:
                found += "; give BatchNorm layers statistics from real data (or train the model)"
        return found

    def _where(self) -> str:
        """"first divergence at layer 'X' (Conv2D → TF.js node 'Y' Conv2D) on wasm: 3.1e-02 of ..."."""
        if self.first is None:
            return (f"no layer diverges on the first {self.samples} sample(s) on {self.backend} "
                    f"({len(self.layers)} layers compared)")
        first = self.first
        fused = f", computed with {', '.join(repr(name) for name in first.folded)}" if first.folded else ""
        return (f"first divergence at layer {first.layer!r} ({first.layer_class}{fused} → TF.js node "
                f"{first.node!r} {first.op}) on {self.backend}: {first.relative_diff:.1e} of its scale; its "
                f"inputs agree to {first.inputs_relative_diff:.0e}")

    def as_dict(self) -> dict[str, Any]:
        return {"backend": self.backend, "samples": self.samples, "threshold": self.threshold,
                "jump": JUMP, "first_divergence": asdict(self.first) if self.first else None,
                "float32": ({**asdict(self.float32), "factor": FLOAT32_FACTOR,
                             "is_rounding": self.float32.is_rounding(self.threshold)}
                            if self.float32 else None),
                "layers": [asdict(layer) for layer in self.layers]}


def report_path(out_dir: Path) -> Path:
    """The report beside the output folder (never inside it: a refused export leaves it unchanged)."""
    return out_dir.parent / f"{out_dir.name}.proof-failure.json"


def locate_divergence(model: Any, model_dir: Path, arrays: dict[str, np.ndarray],
                      expected: dict[str, np.ndarray], backend: str, threshold: float,
                      exact: dict[str, np.ndarray] | None = None) -> Located:
    """Compare every matched layer of `model` with the TF.js graph in `model_dir` on the first
    LOCATE_SAMPLES samples of `arrays` (Keras' outputs for them: `expected`), on the Node `backend`.
    `exact`: the float64 outputs, when already measured on at least those samples. Raises ExportError
    when the model has no layer graph (a subclassed model) or Node fails."""
    import keras

    if not isinstance(model, keras.Model) or type(model).__name__ not in ("Functional", "Sequential"):
        raise ExportError(f"{type(model).__name__} has no layer graph to compare layer by layer")
    few = {name: values[:LOCATE_SAMPLES] for name, values in arrays.items()}
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)
              and _single_output(layer)]
    nodes = layer_nodes(json.loads((model_dir / "model.json").read_text()), layer_scopes(model, layers))
    layers = [layer for layer in layers if layer.name in nodes]
    wanted = keras_layer_outputs(model, layers, few)
    outputs = output_specs(model)
    got = tfjs_node_values(model_dir, few, [nodes[layer.name][0] for layer in layers]
                           + [spec.name for spec in outputs], backend)
    got, tfjs_outputs = got[:len(layers)], dict(zip([spec.name for spec in outputs], got[len(layers):],
                                                    strict=True))
    diffs: dict[str, float] = {}
    compared: list[LayerDiff] = []
    for layer, value in zip(layers, got, strict=True):
        want = wanted[layer.name]
        if value is None or value.shape != want.shape:
            continue
        scale = output_scale(want)
        diffs[layer.name] = float(np.max(np.abs(value.astype(np.float64) - want.astype(np.float64)))) / scale
        node, op = nodes[layer.name]
        inputs_diff, folded, feeding = _inputs_diff(layer, diffs)
        compared.append(LayerDiff(layer.name, type(layer).__name__, node, op, diffs[layer.name], scale,
                                  inputs_diff, folded, feeding))
    peak = max((diff.scale for diff in compared), default=0.0)
    return Located(backend, len(next(iter(few.values()))), threshold, compared,
                   first_divergence(compared, threshold),
                   float32_check(model, few, expected, tfjs_outputs, peak, exact))


def float32_check(model: Any, arrays: dict[str, np.ndarray], expected: dict[str, np.ndarray],
                  tfjs: dict[str, np.ndarray | None], peak: float,
                  exact: dict[str, np.ndarray] | None = None) -> Float32Check | None:
    """Keras' float32 outputs (the proof's `expected`) and TF.js' against Keras in float64 on the
    samples of `arrays`; `exact` when already measured, else computed (None where float64 is not
    possible)."""
    outputs = output_specs(model)
    count = len(next(iter(arrays.values())))
    if exact:
        exact = {name: values[:count] for name, values in exact.items()}
    else:
        exact = float64_outputs(model, arrays)
    if exact is None or any(tfjs.get(spec.name) is None for spec in outputs):
        return None
    single = {name: values[:count] for name, values in expected.items()}

    def worst(values: dict[str, Any]) -> float:
        return max(float(np.max(np.abs(np.asarray(values[spec.name], np.float64) - exact[spec.name])))
                   / output_scale(exact[spec.name]) for spec in outputs if spec.dtype == "float32")

    return Float32Check(worst(single), worst(tfjs), peak)


def first_divergence(compared: list[LayerDiff], threshold: float) -> LayerDiff | None:
    """The first layer past `threshold` whose error is JUMP times its inputs' (else the first past it),
    leaving out layers whose error every layer they feed has shed again (`heals`)."""
    fed: dict[str, list[LayerDiff]] = {}
    for diff in compared:
        for source in diff.inputs:
            fed.setdefault(source, []).append(diff)
    for diff in compared:
        children = fed.get(diff.layer, [])
        diff.heals = (diff.relative_diff > threshold and bool(children)
                      and all(JUMP * child.relative_diff < diff.relative_diff for child in children))
    over = [diff for diff in compared if diff.relative_diff > threshold and not diff.heals]
    jumps = [diff for diff in over if diff.relative_diff > JUMP * diff.inputs_relative_diff]
    return (jumps or over or [None])[0]


def _single_output(layer: Any) -> bool:
    try:
        return not isinstance(layer.output, (list, tuple, dict))
    except (AttributeError, ValueError):
        return False


def _inputs_diff(layer: Any, diffs: dict[str, float]) -> tuple[float, list[str], list[str]]:
    """The largest error among the nearest compared layers feeding `layer` (0 for the model's inputs),
    the layers passed on the way (no node of their own: TensorFlow fused them into this one), and
    those nearest compared layers."""
    import keras

    worst, seen, folded, feeding = 0.0, set(), [], []
    pending = _parents(layer)
    while pending:
        parent = pending.pop()
        if parent.name in seen:
            continue
        seen.add(parent.name)
        if parent.name in diffs:
            worst = max(worst, diffs[parent.name])
            feeding.append(parent.name)
        elif not isinstance(parent, keras.layers.InputLayer):
            folded.append(parent.name)
            pending += _parents(parent)
    return worst, folded, feeding


def _parents(layer: Any) -> list[Any]:
    parents = []
    for node in getattr(layer, "_inbound_nodes", [])[:1]:
        parents += [parent.operation for parent in node.parent_nodes]
    return parents


@contextlib.contextmanager
def _recording_scopes(layers: list[Any]) -> Iterator[dict[str, list[str]]]:
    """While tracing, record the TensorFlow name scopes each of `layers` runs in (Keras may enter a
    layer's scope more than once in a trace: each gets its own unique name)."""
    import tensorflow as tf
    from keras.src.backend.tensorflow import core

    ids = {id(layer): layer.name for layer in layers}
    scopes: dict[str, list[str]] = {}
    original = core.name_scope.__enter__

    def enter(self: Any) -> Any:
        result = original(self)
        name = ids.get(id(getattr(self, "caller", None)))
        if name is not None:
            scopes.setdefault(name, []).append(tf.get_current_name_scope())
        return result

    core.name_scope.__enter__ = enter
    try:
        yield scopes
    finally:
        core.name_scope.__enter__ = original


def layer_scopes(model: Any, layers: list[Any]) -> dict[str, list[str]]:
    """{layer name: its name scope in the traced serving function}, traced as the conversion traces."""
    from .convert import serving_function
    from .rewrite import tracing_rewrites

    with _recording_scopes(layers) as scopes, tracing_rewrites():
        serving_function(model, input_specs(model), output_specs(model)).get_concrete_function()
    return scopes


def layer_nodes(manifest: dict[str, Any], scopes: dict[str, list[str]]) -> dict[str, tuple[str, str]]:
    """{layer name: (the TF.js node holding its output, that node's op)} for layers that kept a node."""
    nodes = [node for node in manifest["modelTopology"].get("node", []) if node.get("op") != "Const"]
    by_scope = sorted(((scope + "/", name) for name, each in scopes.items() for scope in each),
                      key=lambda s: -len(s[0]))

    def owner(node_name: str) -> str | None:
        return next((name for prefix, name in by_scope if node_name.startswith(prefix)), None)

    owners = {node["name"]: owner(node["name"]) for node in nodes}
    ops = {node["name"]: node["op"] for node in nodes}
    found: dict[str, tuple[str, str]] = {}
    for node in nodes:
        for source in node.get("input", []):
            if source.startswith("^"):
                continue
            producer = re.sub(r":\d+$", "", source)
            layer = owners.get(producer)
            leaves = layer is not None and owners.get(node["name"]) != layer
            if leaves and layer not in found:
                found[layer] = (source.removesuffix(":0"), ops[producer])
    return found


def keras_layer_outputs(model: Any, layers: list[Any],
                        arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Each layer's output for the samples, computed by Keras."""
    import keras

    names, _, takes_dict = input_structure(model)
    specs = {spec.name: spec for spec in input_specs(model)}
    values = [arrays[name].astype(specs[name].keras_dtype) for name in names]
    feed: Any = dict(zip(names, values, strict=True)) if takes_dict else (values[0] if len(values) == 1
                                                                          else values)
    probe = keras.Model(model.input, [layer.output for layer in layers])
    outputs = probe(feed, training=False)
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    return {layer.name: np.asarray(value)  # float32: every layer's output for a few samples, held at once
            for layer, value in zip(layers, outputs, strict=True)}


def tfjs_node_values(model_dir: Path, arrays: dict[str, np.ndarray], nodes: list[str],
                     backend: str) -> list[np.ndarray | None]:
    """The values TF.js computes at each of `nodes` for the samples (None: TF.js could not fetch it)."""
    count = len(next(iter(arrays.values())))
    with tempfile.TemporaryDirectory(prefix="tfjs-export-locate-") as tmp:
        folder = Path(tmp)
        write_bundle(folder, arrays, {}, {}, {}, count)
        (folder / "nodes.json").write_text(json.dumps(nodes))
        values_path = folder / "values.bin"
        code, status, stderr_tail = _run_node([str(model_dir), str(folder), str(folder / "nodes.json"),
                                               str(values_path), "--backend", backend], None,
                                              LOCATE_TIMEOUT_S, script=SCRIPT)
        if code != 0 or not status.get("ok"):
            raise _node_error(code, status, stderr_tail)
        raw = np.fromfile(values_path, dtype="<f4")
    found: list[np.ndarray | None] = []
    offset = 0
    for shape in status["shapes"]:
        if shape is None:
            found.append(None)
            continue
        size = int(np.prod(shape))
        found.append(raw[offset:offset + size].reshape(shape))
        offset += size
    return found


def write_report(path: Path, located: Located | None, failures: list[str], problem: str | None) -> None:
    """The report file: the proof's failures and the layer-by-layer comparison (or why there is none)."""
    body = {"proof_failures": failures, "located": located.as_dict() if located else None,
            "locate_error": problem}
    path.write_text(json.dumps(body, indent=1) + "\n")


def failing_backend(failure: str) -> str:
    """The Node backend to locate a failure on: the one that failed, else wasm (a browser backend's
    failure is looked for in Node, where intermediate tensors can be fetched)."""
    where, _, rest = failure.partition(" ")
    backend = rest.split(":", 1)[0]
    return backend if where == "node" and backend in ("wasm", "cpu") else "wasm"


def explain_failure(model: Any, model_dir: Path, out_dir: Path, arrays: dict[str, np.ndarray],
                    expected: dict[str, np.ndarray], failures: list[str], threshold: float,
                    exact: dict[str, np.ndarray] | None = None) -> str:
    """Locate the first divergence of a failed proof, write the report beside `out_dir`, and return
    the clause for the refusal ("first divergence at layer ...; layer-by-layer report: PATH")."""
    located, problem = None, None
    try:
        located = locate_divergence(model, model_dir, arrays, expected, failing_backend(failures[0]),
                                    threshold, exact)
    except ExportError as exc:
        problem = str(exc)
    except Exception as exc:  # the refusal stands whatever the comparison runs into; the report says why
        problem = f"the comparison failed ({type(exc).__name__}: {str(exc).strip()[:160]})"
    path = report_path(out_dir)
    write_report(path, located, failures, problem)
    found = located.sentence() if located else f"no layer-by-layer comparison ({problem})"
    return f"{found}; layer-by-layer report: {path}"
