"""Whether a model mixes the samples of a batch: Keras' outputs for a few samples computed on their
own against the same samples computed among others. Where they differ past the proof's threshold, no
comparison sample by sample can agree, and the first layer whose outputs show it is named."""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import ExportError
from .layer_values import keras_layer_outputs
from .reference import keras_outputs
from .rules import output_scale
from .specs import input_specs, output_specs


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


def batch_mixing(model: Any, arrays: dict[str, np.ndarray], chosen: list[int],
                 expected: dict[str, np.ndarray], threshold: float) -> tuple[float | None, str | None]:
    """`batch_dependence` of the `chosen` samples of `arrays` (the proof's reference for them:
    `expected`) and, past `threshold`, the first layer that mixes them with the other samples (with
    themselves reversed where there are no others)."""
    few = {name: values[chosen] for name, values in arrays.items()}
    dependence = batch_dependence(model, few, expected)
    if dependence is None or dependence <= threshold:
        return dependence, None
    rest = [index for index in range(len(next(iter(arrays.values())))) if index not in set(chosen)]
    others = {name: values[rest] if rest else few[name][::-1] for name, values in arrays.items()}
    return dependence, first_mixing_layer(model, few, others, threshold)
