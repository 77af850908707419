"""The Keras side of the rewrites: rebuilding layers before tracing (fixed-length RNNs unrolled,
`unroll_rnns`) and finding the layers a rewrite concerns (exact GELUs, RNNs that keep their loop).
The table of gaps is export/rewrites/__init__.py's.
"""

from __future__ import annotations

from typing import Any

from .value_patches import EXACT_GELU_AS_ERF

MAX_UNROLL = 128  # longer fixed sequences keep their (patched) while loop: unrolled graphs grow with T


def exact_gelu_layers(model: Any) -> list[dict[str, str]]:
    """Rewrites to record for layers whose activation is the exact GELU."""
    found = []
    for layer in _all_layers(model):
        activation = getattr(layer, "activation", None)
        if getattr(activation, "__name__", "") == "gelu":
            try:
                approximate = layer.get_config().get("activation") != "gelu"
            except Exception:
                approximate = False
            if not approximate:
                found.append({"layer": layer.name, "class": type(layer).__name__,
                              "what": f"exact GELU {EXACT_GELU_AS_ERF}"})
    return found


def _all_layers(model: Any) -> list[Any]:
    try:
        return [layer for layer in model._flatten_layers(include_self=False)]
    except AttributeError:
        return list(getattr(model, "layers", []))


def _time_steps(layer: Any) -> int | None:
    """The fixed sequence length the layer reads (None when dynamic or unknown)."""
    shapes = []
    for node in getattr(layer, "_inbound_nodes", []):
        tensors = getattr(node, "input_tensors", [])
        if tensors:
            shapes.append(tuple(tensors[0].shape))
    if not shapes or any(len(s) < 2 or s[1] is None for s in shapes):
        return None
    return max(int(s[1]) for s in shapes)


def _is_rnn(layer: Any) -> bool:
    import keras

    return isinstance(layer, (keras.layers.RNN, keras.layers.Bidirectional))


def unroll_rnns(model: Any, skip: frozenset[str] = frozenset()) -> tuple[Any, list[dict[str, str]]]:
    """A copy of `model` whose fixed-length RNN layers run unrolled, and the rewrites made.

    Only Functional and Sequential models are rebuilt (from their config, weights copied);
    anything else is returned unchanged and keeps its while loops. Layers named in `skip` keep
    their loops. The caller checks the copy computes what the original does: Keras 3 computes a
    masked Bidirectional RNN with return_sequences=True differently once unrolled.
    """
    import keras

    targets = {}
    for layer in getattr(model, "layers", []):
        if layer.name in skip:
            continue
        cell_owner = getattr(layer, "forward_layer", layer)
        if _is_rnn(layer) and not getattr(cell_owner, "unroll", False):
            steps = _time_steps(layer)
            if steps is not None and steps <= MAX_UNROLL:
                targets[layer.name] = steps
    if not targets or not isinstance(model, keras.Model) or type(model).__name__ not in ("Functional",
                                                                                         "Sequential"):
        return model, []

    def clone(layer: Any) -> Any:
        config = layer.get_config()
        if layer.name in targets:
            if isinstance(layer, keras.layers.Bidirectional):
                for key in ("layer", "backward_layer"):
                    if isinstance(config.get(key), dict):
                        config[key]["config"]["unroll"] = True
            else:
                config["unroll"] = True
        return type(layer).from_config(config)

    try:
        rebuilt = keras.models.clone_model(model, clone_function=clone)
        rebuilt.set_weights(model.get_weights())
    except Exception:
        return model, []  # keep the while loops; the proof decides
    rewrites = []
    for layer in model.layers:
        if layer.name in targets:
            what = f"unrolled over its {targets[layer.name]} time steps (TF.js cannot run the RNN while loop)"
            rewrites.append({"layer": layer.name, "class": type(layer).__name__, "what": what})
    return rebuilt, rewrites


def risky_unrolls(model: Any, rewrites: list[dict[str, str]]) -> frozenset[str]:
    """Unrolled layers that may compute differently from their loop: Bidirectional with return_sequences."""
    by_name = {layer.name: layer for layer in getattr(model, "layers", [])}
    return frozenset(r["layer"] for r in rewrites
                     if r["class"] == "Bidirectional"
                     and getattr(by_name.get(r["layer"]), "return_sequences", False))


def loop_layers(model: Any) -> list[Any]:
    """RNN layers that still run a while loop (not unrolled)."""
    return [layer for layer in _all_layers(model)
            if _is_rnn(layer) and not getattr(getattr(layer, "forward_layer", layer), "unroll", False)]
