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

Blocks: when the first diverging layer is a block (a model nested in the model, a Transformer
encoder, a MultiHeadAttention) or computes with one that has no node of its own (a backbone whose
outputs are a dict), the comparison descends into it and names the sublayer: a nested model's layers
by their graph, a block's sublayers in the order they are called. Keras' value of every compared
layer is its output on the first call, recorded while the model runs eagerly; its TF.js node is
found by the same name scopes, nested.

Whether float32 itself explains the divergence: a copy of the model in float64 gives the exact
outputs on the same samples, judged by the float32 allowance's own rule (export/rounding.py
`Float32Check`); where float32 is too coarse for the outputs (activations of 1e4-1e5 feeding a
sigmoid gate do this) and TF.js is no further from Keras than float32 explains, no conversion step
is at fault and the refusal says so.
"""

from __future__ import annotations

import contextlib
import json
import re
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mnist_tfjs.export_files import MODEL_JSON

from .errors import ExportError
from .node_proof import node_script_error, run_node_script
from .reference import keras_outputs
from .rounding import TOO_COARSE, Float32Check, OutputRounding, float64_outputs
from .rules import output_scale
from .samples import write_bundle
from .specs import input_specs, input_structure, output_specs

SCRIPT = Path(__file__).resolve().parent / "locate.js"
LOCATE_SAMPLES = 4  # the samples compared layer by layer; activations of all layers for these few
# stay well under the memory the proof itself needs
# Before comparing layer by layer, TF.js computes the outputs of the proof's samples in chunks (the
# first LOCATE_SAMPLES, then twice as many, up to SCAN_CHUNK) until LOCATE_SAMPLES of them are past
# the threshold (or SCAN_SECONDS are spent): the layers are compared on the samples that diverge
# most. A divergence on a few samples in a hundred (a mask value TF.js reads otherwise, a softmax tie
# broken by rounding) is missed by the first four.
SCAN_CHUNK = 32
SCAN_SECONDS = 60.0
JUMP = 10.0  # a layer diverges where its error passes the threshold and grows this much over its inputs'
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
    within: list[str] = field(default_factory=list)  # the blocks it lies in, outermost first
    heals: bool = False  # past the threshold, yet every compared layer it feeds is JUMP times closer:
    # the node is not the layer's whole output (Grappler moved part of it into the next op: a folded
    # BatchNorm's offset into the residual add, a Relu hoisted past a Concat), so it is no divergence


@dataclass
class Located:
    """The comparison of every matched layer, and the first divergence (None: all agree)."""

    backend: str
    samples: int
    threshold: float
    layers: list[LayerDiff]
    first: LayerDiff | None
    float32: Float32Check | None = None
    # Keras' own outputs for the compared samples, computed alone, against the proof's reference
    # (computed in larger batches), relative to each output's scale: past the threshold, the model
    # mixes the samples of a batch and no per-sample comparison can agree
    batch_dependence: float | None = None
    mixing_layer: str | None = None  # "'name' (Class)": the first layer whose outputs mix them


    def sentence(self) -> str:
        """Where it diverged, and whether float32 rounding or the batch explains it."""
        found = self._where()
        if self.batch_dependence is not None and self.batch_dependence > self.threshold:
            where = f", first at layer {self.mixing_layer}" if self.mixing_layer else ""
            found += (f"; Keras itself gives these {self.samples} samples other outputs computed on their "
                      f"own than in the proof's batches ({self.batch_dependence:.1e} of the output's scale): "
                      f"the model mixes the samples of a batch{where}, so no comparison sample by sample "
                      "can agree")
        check = self.float32
        if check is not None and check.verdict == TOO_COARSE:
            found += check.sentence()
            if check.activation_peak > HUGE_ACTIVATION:
                found += "; give BatchNorm layers statistics from real data (or train the model)"
        return found

    def _where(self) -> str:
        """"first divergence at layer 'X' (Conv2D → TF.js node 'Y' Conv2D) on wasm: 3.1e-02 of ..."."""
        if self.first is None:
            return (f"no layer diverges on the {self.samples} sample(s) compared on {self.backend} "
                    f"({len(self.layers)} layers compared)")
        first = self.first
        fused = f", computed with {', '.join(repr(name) for name in first.folded)}" if first.folded else ""
        inside = f" in {'/'.join(first.within)!r}" if first.within else ""
        return (f"first divergence at layer {first.layer!r}{inside} ({first.layer_class}{fused} → TF.js node "
                f"{first.node!r} {first.op}) on {self.backend}: {first.relative_diff:.1e} of its scale; its "
                f"inputs agree to {first.inputs_relative_diff:.0e}")

    def as_dict(self) -> dict[str, Any]:
        return {"backend": self.backend, "samples": self.samples, "threshold": self.threshold,
                "jump": JUMP, "first_divergence": asdict(self.first) if self.first else None,
                "float32": self.float32.as_dict() if self.float32 else None,
                "batch_dependence": self.batch_dependence, "mixing_layer": self.mixing_layer,
                "layers": [asdict(layer) for layer in self.layers]}


def report_path(out_dir: Path) -> Path:
    """The report beside the output folder (never inside it: a refused export leaves it unchanged)."""
    return out_dir.parent / f"{out_dir.name}.proof-failure.json"


NO_GRAPH = ("its call() is Python code, so its layers have no graph that says which feeds which; build "
            "it with keras.Model(inputs, outputs) (a subclass may call super().__init__(inputs=..., "
            "outputs=...)), or export its layers as such a model to have them compared")


def has_layer_graph(model: Any) -> bool:
    """A functional model (keras.Model(inputs, outputs), a Sequential, or a subclass that builds itself
    with super().__init__(inputs=..., outputs=...), as keras-hub's backbones and task models do)."""
    from keras.src.models.functional import Functional
    from keras.src.models.sequential import Sequential

    return isinstance(model, (Functional, Sequential))


@dataclass
class Level:
    """The layers compared at one depth: the model's own, or a block's (`within` names the blocks)."""

    container: Any
    within: list[str]
    base_diff: float  # the error of the block's inputs (0 for the model's)
    keys: dict[int, str]  # id(layer) → its key in the scopes (the path of names from the model)


@dataclass(frozen=True)
class Comparison:
    """What the comparison at every level shares: the Keras model and the TF.js graph in `model_dir`,
    the few samples compared, the backend TF.js runs them on, each matched layer's node ({layer key:
    (node, op)}) and the proof's threshold."""

    model: Any
    model_dir: Path
    few: dict[str, np.ndarray]
    backend: str
    nodes: dict[str, tuple[str, str]]
    threshold: float


@dataclass(frozen=True)
class FailedProof:
    """What a failed proof tells the locator: its failures (for the report), (runtime, backend) of
    the first of them, ("node", "wasm") or ("browser", "webgpu"), what `locate_backend` picks the
    backend from; the threshold it judged by; and the float64 outputs where already measured."""

    failures: list[str]
    failed_on: tuple[str, str]
    threshold: float
    exact: dict[str, np.ndarray] | None = None


def locate_divergence(model: Any, model_dir: Path, arrays: dict[str, np.ndarray],
                      expected: dict[str, np.ndarray], backend: str, threshold: float,
                      exact: dict[str, np.ndarray] | None = None) -> Located:
    """Compare every matched layer of `model` with the TF.js graph in `model_dir` on the first
    LOCATE_SAMPLES samples of `arrays` (Keras' outputs for them: `expected`), on the Node `backend`,
    descending into the block the first divergence lies in. `exact`: the float64 outputs, when
    already measured on at least those samples. Raises ExportError when the model has no layer graph
    (a subclassed model) or Node fails."""
    import keras

    if not isinstance(model, keras.Model) or not has_layer_graph(model):
        raise ExportError(f"{type(model).__name__} has no layer graph to compare layer by layer: {NO_GRAPH}")
    outputs = output_specs(model)
    chosen = worst_samples(model_dir, arrays, {spec.name: expected[spec.name] for spec in outputs}, backend,
                           threshold)
    few = {name: values[chosen] for name, values in arrays.items()}
    expected = {name: values[chosen] for name, values in expected.items()}
    if exact:
        exact = {name: values[chosen] for name, values in exact.items() if len(values) > max(chosen)}
    manifest = json.loads((model_dir / MODEL_JSON).read_text())
    keys = layer_keys(model)
    comparison = Comparison(model, model_dir, few, backend, layer_nodes(manifest, layer_scopes(model, keys)),
                            threshold)
    level = Level(model, [], 0.0, keys)
    compared, tfjs_outputs = compare_level(comparison, level, [spec.name for spec in outputs])
    everything = list(compared)
    first, level = _first_or_search(comparison, level, compared, everything)
    while first is not None:
        block = _block_to_open(first, level)
        if block is None:
            break
        # what enters the block is what entered the diverging layer (it is that layer, or lies between
        # those inputs and it)
        inside = Level(block, [*first.within, block.name], first.inputs_relative_diff, keys)
        inner, _ = compare_level(comparison, inside, [])
        everything += inner
        deeper, deeper_level = _first_or_search(comparison, inside, inner, everything)
        if deeper is None:
            break  # the block's own ops between its sublayers: the block stays named
        first, level = deeper, deeper_level
    peak = max((diff.scale for diff in compared), default=0.0)
    dependence = batch_dependence(model, few, expected)
    mixing = None
    if dependence is not None and dependence > threshold:
        rest = [index for index in range(len(next(iter(arrays.values())))) if index not in set(chosen)]
        others = {name: values[rest] if rest else few[name][::-1] for name, values in arrays.items()}
        mixing = first_mixing_layer(model, few, others, threshold)
    return Located(backend, len(next(iter(few.values()))), threshold, everything, first,
                   float32_check(model, few, expected, tfjs_outputs, peak, exact), dependence, mixing)


def batch_dependence(model: Any, few: dict[str, np.ndarray], expected: dict[str, np.ndarray]) -> float | None:
    """Keras' outputs for `few` computed on their own, against `expected` (the proof's reference for
    them, computed in the proof's batches): the largest difference of a float output, relative to its
    scale (None where Keras cannot compute them)."""
    outputs = output_specs(model)
    try:
        alone = keras_outputs(model, input_specs(model), outputs, few)
    except ExportError:
        return None
    return max((float(np.max(np.abs(alone[spec.name].astype(np.float64) - expected[spec.name])))
                / output_scale(expected[spec.name]) for spec in outputs if spec.dtype == "float32"),
               default=None)


def first_mixing_layer(model: Any, few: dict[str, np.ndarray], others: dict[str, np.ndarray],
                       threshold: float) -> str | None:
    """The first layer, in the order Keras finishes them (a block after its sublayers), whose outputs
    for `few` differ computed on their own and followed by as many `others`: where the model mixes
    the samples of a batch, as "'name' (Class)" (None: no layer output shows it)."""
    import keras

    count = len(next(iter(few.values())))
    among = {name: np.concatenate([values, others[name][:count]]) for name, values in few.items()}
    layers = [layer for layer in model._flatten_layers(include_self=False)
              if not isinstance(layer, keras.layers.InputLayer)]
    alone, order = keras_layer_outputs(model, layers, few, every_output=True)
    mixed, _ = keras_layer_outputs(model, layers, among, every_output=True)
    for layer in order:
        for own, with_others in zip(alone[id(layer)], mixed.get(id(layer), []), strict=False):
            if own.shape[:1] != (count,) or with_others.shape[:1] != (len(next(iter(among.values()))),):
                continue  # the batch is not its first axis
            difference = np.max(np.abs(own.astype(np.float64) - with_others[:count]), initial=0.0)
            if difference / output_scale(own) > threshold:
                return f"{layer.name!r} ({type(layer).__name__})"
    return None


def worst_samples(model_dir: Path, arrays: dict[str, np.ndarray], expected: dict[str, np.ndarray],
                  backend: str, threshold: float) -> list[int]:
    """The indices of the LOCATE_SAMPLES samples whose outputs TF.js computes farthest from Keras'
    (each output relative to its scale), in their order, among those scanned (see SCAN_CHUNK)."""
    count = len(next(iter(arrays.values())))
    if count <= LOCATE_SAMPLES:
        return list(range(count))
    scales = {name: output_scale(values) for name, values in expected.items()}  # the proof's scales
    errors: list[np.ndarray] = []
    started, done, size = time.monotonic(), 0, LOCATE_SAMPLES
    while done < count:
        chunk = slice(done, min(count, done + size))
        chunk_started = time.monotonic()
        errors.append(_sample_errors(model_dir, {name: values[chunk] for name, values in arrays.items()},
                                     {name: values[chunk] for name, values in expected.items()}, scales,
                                     backend))
        per_sample = (time.monotonic() - chunk_started) / (chunk.stop - done)
        done, size = chunk.stop, min(SCAN_CHUNK, 2 * size)
        found = int((np.concatenate(errors) > threshold).sum())
        spent = time.monotonic() - started
        # enough diverging samples, or no time for the next chunk once some diverge (a slow backend
        # on large images), or none for any more
        if (found >= LOCATE_SAMPLES or spent > SCAN_SECONDS
                or (found and spent + per_sample * size > SCAN_SECONDS)):
            break
    worst = np.concatenate(errors)
    return sorted(np.argsort(-worst, kind="stable")[:LOCATE_SAMPLES].tolist())


def _sample_errors(model_dir: Path, arrays: dict[str, np.ndarray], expected: dict[str, np.ndarray],
                   scales: dict[str, float], backend: str) -> np.ndarray:
    """Per sample, the largest |TF.js - Keras| over the outputs, each relative to its `scales`."""
    count = len(next(iter(arrays.values())))
    got = tfjs_node_values(model_dir, arrays, list(scales), backend)
    worst = np.zeros(count)
    for name, value in zip(scales, got, strict=True):
        want = expected[name].astype(np.float64)
        if value is None or value.shape != want.shape:
            continue
        error = np.abs(value.astype(np.float64) - want).reshape(count, -1).max(axis=1) / scales[name]
        worst = np.maximum(worst, error)
    return worst


def _first_or_search(comparison: Comparison, level: Level, compared: list[LayerDiff],
                     everything: list[LayerDiff]) -> tuple[LayerDiff | None, Level]:
    """The first divergence among `compared` (the layers of `level`), else the first found inside the
    blocks of `level` that were not compared themselves (they give several tensors, or no node of their
    own: an XLNet encoder returns its content and query streams), in order, one level down; and the
    level it lies in. The blocks' comparisons join `everything`."""
    first = first_divergence(compared, comparison.threshold)
    if first is not None:
        return first, level
    done = {diff.layer for diff in compared}
    agreed = max([level.base_diff, *(diff.relative_diff for diff in compared)])
    for layer in _sublayers(level.container):
        if layer.name in done or not _is_block(layer):
            continue
        inside = Level(layer, [*level.within, layer.name], agreed, level.keys)
        inner, _ = compare_level(comparison, inside, [])
        everything += inner
        found = first_divergence(inner, comparison.threshold)
        if found is not None:
            return found, inside
    return None, level


def compare_level(comparison: Comparison, level: Level, extra: list[str],
                  ) -> tuple[list[LayerDiff], dict[str, np.ndarray | None]]:
    """Each layer of `level` with a node of its own: Keras' output against TF.js' node, in the order
    Keras calls them; and TF.js' values of the `extra` nodes (the model's outputs)."""
    nodes = comparison.nodes
    layers = [layer for layer in _sublayers(level.container) if level.keys.get(id(layer)) in nodes]
    wanted, order = keras_layer_outputs(comparison.model, layers, comparison.few)
    layers = [layer for layer in order if id(layer) in wanted]
    got = tfjs_node_values(comparison.model_dir, comparison.few,
                           [nodes[level.keys[id(layer)]][0] for layer in layers] + extra, comparison.backend)
    got, rest = got[:len(layers)], dict(zip(extra, got[len(layers):], strict=True))
    graph = has_layer_graph(level.container)
    diffs: dict[str, float] = {}
    compared: list[LayerDiff] = []
    for layer, value in zip(layers, got, strict=True):
        want = wanted[id(layer)]
        if value is None or value.shape != want.shape:
            continue
        scale = output_scale(want)
        diffs[layer.name] = float(np.max(np.abs(value.astype(np.float64) - want.astype(np.float64)))) / scale
        node, op = nodes[level.keys[id(layer)]]
        if graph:
            inputs_diff, folded, feeding = _inputs_diff(layer, diffs, level.base_diff)
        else:  # a block's sublayers have no graph: the ones called before it are its possible inputs,
            # and none is known to feed another (so none "heals": a residual add and a LayerNorm after
            # an attention shrink its error without undoing it)
            inputs_diff = max([level.base_diff, *(diff.relative_diff for diff in compared)])
            folded, feeding = [], []
        compared.append(LayerDiff(layer.name, type(layer).__name__, node, op, diffs[layer.name], scale,
                                  inputs_diff, folded, feeding, list(level.within)))
    return compared, rest


def _sublayers(container: Any) -> list[Any]:
    """The layers one level down: a model's own layers (no InputLayer), or a block's direct sublayers."""
    import keras

    if has_layer_graph(container):
        found = list(container.layers)
    else:
        found = list(container._flatten_layers(include_self=False, recursive=False))
    return [layer for layer in found if not isinstance(layer, keras.layers.InputLayer)]


def _is_block(layer: Any) -> bool:
    try:
        return bool(_sublayers(layer))
    except AttributeError:
        return False


def _block_to_open(first: LayerDiff, level: Level) -> Any | None:
    """The block to descend into: the diverging layer itself when it has sublayers, else a block it
    was computed with (no node of its own: a nested model whose outputs are a dict)."""
    by_name = {layer.name: layer for layer in _sublayers(level.container)}
    for name in [first.layer, *first.folded]:
        layer = by_name.get(name)
        if layer is not None and _is_block(layer):
            return layer
    return None


def layer_keys(model: Any) -> dict[int, str]:
    """{id(layer): its path of names from the model ("backbone/transformer_layer_0/softmax")} for
    every layer at every depth (names repeat across blocks; paths do not)."""
    keys: dict[int, str] = {}
    pending = [(layer, layer.name) for layer in _sublayers(model)]
    while pending:
        layer, path = pending.pop()
        if id(layer) in keys:
            continue
        keys[id(layer)] = path
        try:
            pending += [(sub, f"{path}/{sub.name}") for sub in _sublayers(layer)]
        except AttributeError:
            continue
    return keys


def float32_check(model: Any, arrays: dict[str, np.ndarray], expected: dict[str, np.ndarray],
                  tfjs: dict[str, np.ndarray | None], peak: float,
                  exact: dict[str, np.ndarray] | None = None) -> Float32Check | None:
    """Keras' float32 outputs (the proof's `expected`) against Keras in float64 on the samples of
    `arrays`, beside TF.js' difference from Keras, for the output that diverges most; `exact` when
    already measured, else computed (None where float64 is not possible)."""
    outputs = output_specs(model)
    count = len(next(iter(arrays.values())))
    if exact:
        exact = {name: values[:count] for name, values in exact.items()}
    else:
        exact = float64_outputs(model, arrays)
    if exact is None or any(tfjs.get(spec.name) is None for spec in outputs):
        return None
    checks = []
    for spec in outputs:
        if spec.dtype != "float32":
            continue
        single = expected[spec.name][:count].astype(np.float64)
        keras_error = float(np.max(np.abs(single - exact[spec.name])))
        diff = float(np.max(np.abs(np.asarray(tfjs[spec.name], np.float64) - single)))
        rounding = OutputRounding(keras_error, output_scale(expected[spec.name]))
        checks.append(Float32Check(spec.name, rounding, diff, peak))
    return max(checks, key=lambda check: check.max_abs_diff / check.rounding.scale, default=None)


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


def _inputs_diff(layer: Any, diffs: dict[str, float],
                 base: float = 0.0) -> tuple[float, list[str], list[str]]:
    """The largest error among the nearest compared layers feeding `layer` (`base` for the inputs of the
    model or block it lies in),
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
        elif isinstance(parent, keras.layers.InputLayer):
            worst = max(worst, base)
        else:
            folded.append(parent.name)
            pending += _parents(parent)
    return worst, folded, feeding


def _parents(layer: Any) -> list[Any]:
    parents = []
    for node in getattr(layer, "_inbound_nodes", [])[:1]:
        parents += [parent.operation for parent in node.parent_nodes]
    return parents


@contextlib.contextmanager
def _recording_scopes(ids: dict[int, str]) -> Iterator[dict[str, list[str]]]:
    """While tracing, record the TensorFlow name scopes each layer of `ids` ({id(layer): key}) runs in
    (Keras may enter a layer's scope more than once in a trace: each gets its own unique name)."""
    import tensorflow as tf
    from keras.src.backend.tensorflow import core

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


def layer_scopes(model: Any, keys: dict[int, str]) -> dict[str, list[str]]:
    """{layer key: its name scopes in the traced serving function} for the layers of `keys`
    ({id(layer): key}), traced as the conversion traces."""
    from .convert import serving_function
    from .rewrites.tracing import tracing_rewrites

    with _recording_scopes(keys) as scopes, tracing_rewrites():
        serving_function(model, input_specs(model), output_specs(model)).get_concrete_function()
    return scopes


def layer_nodes(manifest: dict[str, Any], scopes: dict[str, list[str]]) -> dict[str, tuple[str, str]]:
    """{layer key: (the TF.js node holding its output, that node's op)} for layers that kept a node: the
    first node inside the layer's scopes that feeds a node outside them. Scopes nest (a block's
    sublayers lie inside the block's scope): a node belongs to every layer whose scope holds it."""
    nodes = [node for node in manifest["modelTopology"].get("node", []) if node.get("op") != "Const"]
    by_scope: dict[str, list[str]] = {}
    for key, each in scopes.items():
        for scope in each:
            by_scope.setdefault(scope, []).append(key)

    def owners(node_name: str) -> frozenset[str]:
        parts = node_name.split("/")
        return frozenset(key for i in range(1, len(parts)) for key in by_scope.get("/".join(parts[:i]), []))

    owned = {node["name"]: owners(node["name"]) for node in nodes}
    ops = {node["name"]: node["op"] for node in nodes}
    found: dict[str, tuple[str, str]] = {}
    for node in nodes:
        for source in node.get("input", []):
            if source.startswith("^"):
                continue
            producer = re.sub(r":\d+$", "", source)
            for layer in owned.get(producer, frozenset()) - owned[node["name"]]:
                if layer not in found:
                    found[layer] = (source.removesuffix(":0"), ops[producer])
    return found


def keras_layer_outputs(model: Any, layers: list[Any], arrays: dict[str, np.ndarray],
                        every_output: bool = False) -> tuple[dict[int, Any], list[Any]]:
    """Each layer's output for the samples, computed by Keras ({id(layer): value}, from its first call
    with a single tensor out), and the layers in the order Keras first called them. `every_output`:
    each layer's tensors out, as a list, whatever structure holds them (a layer with none is left out)."""
    import keras
    from keras.src.layers.layer import Layer

    names, _, takes_dict = input_structure(model)
    specs = {spec.name: spec for spec in input_specs(model)}
    values = [arrays[name].astype(specs[name].keras_dtype) for name in names]
    feed: Any = dict(zip(names, values, strict=True)) if takes_dict else (values[0] if len(values) == 1
                                                                          else values)
    wanted = {id(layer) for layer in layers}
    recorded: dict[int, np.ndarray] = {}
    order: list[Any] = []
    original = Layer.__call__

    def recording(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        if every_output and id(self) in wanted and id(self) not in recorded:
            tensors = [np.asarray(leaf) for leaf in keras.tree.flatten(result) if _is_tensor(leaf)]
            if tensors:
                recorded[id(self)] = tensors
                order.append(self)
        elif id(self) in wanted and id(self) not in recorded and _is_tensor(result):
            # float32: every compared layer's output for a few samples, held at once
            recorded[id(self)] = np.asarray(result)
            order.append(self)
        return result

    Layer.__call__ = recording
    try:
        model(feed, training=False)
    finally:
        Layer.__call__ = original
    return recorded, order


def _is_tensor(value: Any) -> bool:
    return hasattr(value, "shape") and hasattr(value, "dtype") and not isinstance(value, (list, tuple, dict))


def tfjs_node_values(model_dir: Path, arrays: dict[str, np.ndarray], nodes: list[str],
                     backend: str) -> list[np.ndarray | None]:
    """The values TF.js computes at each of `nodes` for the samples (None: TF.js could not fetch it),
    on a Node backend ("wasm", "cpu") or a browser one ("browser webgpu", see `locate_backend`)."""
    count = len(next(iter(arrays.values())))
    with tempfile.TemporaryDirectory(prefix="tfjs-export-locate-") as tmp:
        folder = Path(tmp)
        write_bundle(folder, arrays, {}, {}, {}, count)
        if backend.startswith("browser "):
            from .chromium_proof import node_values_in_chromium

            return node_values_in_chromium(model_dir, folder, nodes, backend.removeprefix("browser "),
                                           LOCATE_TIMEOUT_S)
        (folder / "nodes.json").write_text(json.dumps(nodes))
        values_path = folder / "values.bin"
        code, status, stderr_tail = run_node_script([str(model_dir), str(folder), str(folder / "nodes.json"),
                                                     str(values_path), "--backend", backend], None,
                                                    LOCATE_TIMEOUT_S, script=SCRIPT)
        if code != 0 or not status.get("ok"):
            raise node_script_error(code, status, stderr_tail)
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


def locate_backend(runtime: str, backend: str) -> str:
    """The backend to locate a failure of `backend` in `runtime` ("node" or "browser") on: the Node
    backend that failed; for a browser backend, the GPU ones in Chromium itself ("browser webgl",
    "browser webgpu": their kernels exist only there), wasm and cpu in Node (the same kernels, and
    no browser to start)."""
    if runtime == "browser" and backend in ("webgl", "webgpu"):
        return f"browser {backend}"
    return backend if backend in ("wasm", "cpu") else "wasm"


def explain_failure(model: Any, model_dir: Path, out_dir: Path, arrays: dict[str, np.ndarray],
                    expected: dict[str, np.ndarray], failed: FailedProof) -> str:
    """Locate the first divergence of the `failed` proof of the graph model in `model_dir` on
    `arrays` (Keras' outputs for them: `expected`), write the report beside `out_dir`, and return
    the clause for the refusal ("first divergence at layer ...; layer-by-layer report: PATH")."""
    located, problem = None, None
    try:
        located = locate_divergence(model, model_dir, arrays, expected, locate_backend(*failed.failed_on),
                                    failed.threshold, failed.exact)
    except ExportError as exc:
        problem = str(exc)
    except Exception as exc:  # the refusal stands whatever the comparison runs into; the report says why
        problem = f"the comparison failed ({type(exc).__name__}: {str(exc).strip()[:160]})"
    path = report_path(out_dir)
    write_report(path, located, failed.failures, problem)
    found = located.sentence() if located else f"no layer-by-layer comparison ({problem})"
    return f"{found}; layer-by-layer report: {path}"
