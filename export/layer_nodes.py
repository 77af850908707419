"""Which TF.js graph node holds each Keras layer's output.

Tracing the serving function again (with the same tracing rewrites as the conversion, so TensorFlow
numbers the name scopes the same way) records the name scope each layer's ops get; every node of the
converted graph whose name lies in that scope belongs to the layer, and the node whose value leaves
the scope (feeds another layer or the output) is the layer's output. A layer whose ops TensorFlow
fused into a later one (a convolution and its BatchNorm folded into the activation's `_FusedConv2D`)
has no node of its own. Scopes nest: a block's sublayers (a nested model's layers, a Transformer
encoder's attention) lie inside the block's scope, so every layer at every depth is keyed by its
path of names from the model.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any

from .specs import input_specs, output_specs


def has_layer_graph(model: Any) -> bool:
    """A functional model (keras.Model(inputs, outputs), a Sequential, or a subclass that builds itself
    with super().__init__(inputs=..., outputs=...), as keras-hub's backbones and task models do)."""
    from keras.src.models.functional import Functional
    from keras.src.models.sequential import Sequential

    return isinstance(model, (Functional, Sequential))


def sublayers(container: Any) -> list[Any]:
    """The layers one level down: a model's own layers (no InputLayer), or a block's direct sublayers."""
    import keras

    if has_layer_graph(container):
        found = list(container.layers)
    else:
        found = list(container._flatten_layers(include_self=False, recursive=False))
    return [layer for layer in found if not isinstance(layer, keras.layers.InputLayer)]


def is_block(layer: Any) -> bool:
    try:
        return bool(sublayers(layer))
    except AttributeError:
        return False


def layer_keys(model: Any) -> dict[int, str]:
    """{id(layer): its path of names from the model ("backbone/transformer_layer_0/softmax")} for
    every layer at every depth (names repeat across blocks; paths do not)."""
    keys: dict[int, str] = {}
    pending = [(layer, layer.name) for layer in sublayers(model)]
    while pending:
        layer, path = pending.pop()
        if id(layer) in keys:
            continue
        keys[id(layer)] = path
        try:
            pending += [(sub, f"{path}/{sub.name}") for sub in sublayers(layer)]
        except AttributeError:
            continue
    return keys


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
