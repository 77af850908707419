"""The values a layer-by-layer comparison compares: each Keras layer's output, recorded while the
model runs eagerly (its first call), and the values TF.js computes at any graph node
(`GraphModel.execute(inputs, [node names])`: export/locate.js in Node, or Chromium for the GPU
backends)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from .node_proof import node_script_error, run_node_script
from .samples import write_bundle
from .specs import input_specs, input_structure

SCRIPT = Path(__file__).resolve().parent / "locate.js"
LOCATE_TIMEOUT_S = 600


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
