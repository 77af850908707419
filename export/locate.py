"""Where a failed proof first went wrong: each Keras layer's output beside the TF.js graph node that
computes it (export/layer_nodes.py, export/layer_values.py), on a few samples, in the model's order;
the first layer whose error jumps past the proof's threshold while its inputs still agree is named in
the refusal and in a report file (export/located.py). A layer with no node of its own (fused into a
later one) is compared where the fused node is.

Blocks: when the first diverging layer is a block (a model nested in the model, a Transformer
encoder, a MultiHeadAttention) or computes with one that has no node of its own (a backbone whose
outputs are a dict), the comparison descends into it and names the sublayer: a nested model's layers
by their graph, a block's sublayers in the order they are called.

Whether float32 itself explains the divergence: a copy of the model in float64 gives the exact
outputs on the same samples, judged by the float32 allowance's own rule (export/rounding.py
`float32_check`); where float32 is too coarse for the outputs (activations of 1e4-1e5 feeding a
sigmoid gate do this) and TF.js is no further from Keras than float32 explains, no conversion step
is at fault and the refusal says so. Whether the model mixes the samples of a batch:
export/batch_mixing.py.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mnist_tfjs.export_files import MODEL_JSON

from .batch_mixing import batch_mixing
from .errors import ExportError
from .layer_nodes import has_layer_graph, is_block, layer_keys, layer_nodes, layer_scopes, sublayers
from .layer_values import keras_layer_outputs, tfjs_node_values
from .located import JUMP, LayerDiff, Located, report_path, write_report
from .rounding import float32_check
from .rules import output_scale
from .specs import output_specs

LOCATE_SAMPLES = 4  # the samples compared layer by layer; activations of all layers for these few
# stay well under the memory the proof itself needs
# Before comparing layer by layer, TF.js computes the outputs of the proof's samples in chunks (the
# first LOCATE_SAMPLES, then twice as many, up to SCAN_CHUNK) until LOCATE_SAMPLES of them are past
# the threshold (or SCAN_SECONDS are spent): the layers are compared on the samples that diverge
# most. A divergence on a few samples in a hundred (a mask value TF.js reads otherwise, a softmax tie
# broken by rounding) is missed by the first four.
SCAN_CHUNK = 32
SCAN_SECONDS = 60.0


NO_GRAPH = ("its call() is Python code, so its layers have no graph that says which feeds which; build "
            "it with keras.Model(inputs, outputs) (a subclass may call super().__init__(inputs=..., "
            "outputs=...)), or export its layers as such a model to have them compared")


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
    first = _descend(comparison, first, level, everything)
    peak = max((diff.scale for diff in compared), default=0.0)
    dependence, mixing = batch_mixing(model, arrays, chosen, expected, threshold)
    return Located(backend, len(next(iter(few.values()))), threshold, everything, first,
                   float32_check(model, few, expected, tfjs_outputs, peak, exact), dependence, mixing)


def _descend(comparison: Comparison, first: LayerDiff | None, level: Level,
             everything: list[LayerDiff]) -> LayerDiff | None:
    """The divergence `first` (found among the layers of `level`), or the sublayer it lies in, block
    within block, as deep as a sublayer diverges; the blocks' comparisons join `everything`."""
    while first is not None:
        block = _block_to_open(first, level)
        if block is None:
            break
        # what enters the block is what entered the diverging layer (it is that layer, or lies between
        # those inputs and it)
        inside = Level(block, [*first.within, block.name], first.inputs_relative_diff, level.keys)
        inner, _ = compare_level(comparison, inside, [])
        everything += inner
        deeper, deeper_level = _first_or_search(comparison, inside, inner, everything)
        if deeper is None:
            break  # the block's own ops between its sublayers: the block stays named
        first, level = deeper, deeper_level
    return first


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
    for layer in sublayers(level.container):
        if layer.name in done or not is_block(layer):
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
    layers = [layer for layer in sublayers(level.container) if level.keys.get(id(layer)) in nodes]
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


def _block_to_open(first: LayerDiff, level: Level) -> Any | None:
    """The block to descend into: the diverging layer itself when it has sublayers, else a block it
    was computed with (no node of its own: a nested model whose outputs are a dict)."""
    by_name = {layer.name: layer for layer in sublayers(level.container)}
    for name in [first.layer, *first.folded]:
        layer = by_name.get(name)
        if layer is not None and is_block(layer):
            return layer
    return None


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
