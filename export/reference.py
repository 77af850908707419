"""What Keras itself computes for the proof's samples: the reference every runtime is compared with.

Predictions run in batches sized by the bytes of one sample's inputs, so that memory stays flat
whatever the sample count and however large the images are.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .specs import TensorSpec

# Inputs per Keras call. Activations are a few dozen times more, and on a CPU a smaller call is no
# slower: ConvNeXtTiny at 224x224 held 1.9 GB at 13 samples a call and 1.1 GB at 3, in the same time.
BATCH_INPUT_BYTES = 2 * 1024 * 1024
MAX_BATCH = 256


def batch_size(arrays: dict[str, np.ndarray]) -> int:
    """Samples per Keras call: as many as BATCH_INPUT_BYTES of inputs hold (1 to MAX_BATCH)."""
    per_sample = sum(values[0].nbytes for values in arrays.values()) or 1
    return max(1, min(MAX_BATCH, BATCH_INPUT_BYTES // per_sample))


def keras_outputs(model: Any, inputs: list[TensorSpec], outputs: list[TensorSpec],
                  arrays: dict[str, np.ndarray],
                  on_batch: Callable[[int, int], None] | None = None) -> dict[str, np.ndarray]:
    """Keras' own outputs for the samples, {output name: float32/int32 array}.

    `on_batch(done, total)` is called after each batch (progress).
    """
    import tensorflow as tf

    from .convert import serving_function

    serve = serving_function(model, inputs, outputs)
    count = len(next(iter(arrays.values())))
    step = batch_size(arrays)
    parts: dict[str, list[np.ndarray]] = {spec.name: [] for spec in outputs}
    for start in range(0, count, step):
        feed = [tf.constant(arrays[spec.name][start:start + step]) for spec in inputs]
        result = serve(*feed)
        for spec in outputs:
            parts[spec.name].append(np.asarray(result[spec.name]))
        if on_batch is not None:
            on_batch(min(start + step, count), count)
    return {spec.name: np.concatenate(parts[spec.name]).astype(np.float32 if spec.dtype == "float32"
                                                                 else np.int32)
            for spec in outputs}
