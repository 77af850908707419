"""What Keras itself computes for the proof's samples: the reference every runtime is compared with.

Predictions run in batches sized by the bytes of one sample's inputs, so that memory stays flat
whatever the sample count and however large the images are, and they stop once no backend would
reach the rest in its proof budget (`ProofReach`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from .errors import ExportError
from .specs import TensorSpec, sample_bytes

# Inputs and outputs per Keras call. Activations are a few dozen times more, and on a CPU a smaller
# call is no slower: ConvNeXtTiny at 224x224 held 1.9 GB at 13 samples a call and 1.1 GB at 3, in the
# same time. Outputs count too: DeepLabV3 turns a 64x64 image (48 KB) into 64x64x256 features (4 MB),
# and held 9.5 GB at 42 samples a call.
BATCH_BYTES = 2 * 1024 * 1024
MAX_BATCH = 256


class ProofReach:
    """When Keras has predicted every sample a backend can compare in its budget.

    After the first batch (which traces the model), Keras' own seconds per sample give the reach:
    REACH_FACTOR times as many samples as Keras predicts in a budget, for no TF.js or LiteRT.js
    backend compares samples that much faster than Keras predicts them on the same machine; never
    fewer than MIN_PREDICTED. Each prediction a backend does not reach is time thrown away: 62 of an
    application network's 151 s went to them."""

    REACH_FACTOR = 4.0
    MIN_PREDICTED = 32
    # Keras' outputs held for the proof: DeepLabV3's 64x64x256 features are 4 MB a sample, so 256 of
    # them held a gigabyte (the export process peaked at 2.96 GB); the browser compares 24 MB anyway
    OUTPUT_BYTES = 256 * 1024 * 1024

    def __init__(self, budget_s: float, outputs: list[TensorSpec] = ()) -> None:
        self.budget_s = budget_s
        self.sample_bytes = sample_bytes(outputs)
        self.first: tuple[int, float] | None = None
        self.why = ""

    def enough(self, done: int, seconds: float) -> bool:
        if done >= self.MIN_PREDICTED and done * self.sample_bytes >= self.OUTPUT_BYTES:
            self.why = f"their outputs fill {self.OUTPUT_BYTES // 2**20} MB"
            return True
        if self.first is None:
            self.first = (done, seconds)
            return False
        first_done, first_seconds = self.first
        per_sample = (seconds - first_seconds) / max(1, done - first_done)
        reach = self.REACH_FACTOR * self.budget_s / max(per_sample, 1e-9)
        self.why = f"no backend reaches the rest in {self.budget_s:g} s"
        return done >= max(self.MIN_PREDICTED, reach)


def batch_size(arrays: dict[str, np.ndarray], outputs: list[TensorSpec] = ()) -> int:
    """Samples per Keras call: as many as BATCH_BYTES of inputs and outputs hold (1 to
    MAX_BATCH)."""
    per_sample = sum(values[0].nbytes for values in arrays.values()) + sample_bytes(outputs)
    return max(1, min(MAX_BATCH, BATCH_BYTES // (per_sample or 1)))


def keras_outputs(model: Any, inputs: list[TensorSpec], outputs: list[TensorSpec],
                  arrays: dict[str, np.ndarray],
                  on_batch: Callable[[int, int], None] | None = None,
                  enough: Callable[[int, float], bool] | None = None) -> dict[str, np.ndarray]:
    """Keras' own outputs for the samples, {output name: float32/int32 array}.

    `on_batch(done, total)` is called after each batch (progress). `enough(done, seconds)`, asked
    after each batch, ends the predictions there when it says True: the outputs are then those of
    the first `done` samples.
    """
    import tensorflow as tf

    from .convert import serving_function

    serve = serving_function(model, inputs, outputs)
    count = len(next(iter(arrays.values())))
    step = batch_size(arrays, outputs)
    # each output written into one array as its batches come: no list of parts joined at the end,
    # which held the outputs twice (a gigabyte for DeepLabV3's 256 samples)
    found: dict[str, np.ndarray] = {}
    done, started = 0, time.monotonic()
    for start in range(0, count, step):
        feed = [tf.constant(arrays[spec.name][start:start + step]) for spec in inputs]
        try:
            result = serve(*feed)
        except Exception as exc:  # Keras' own failure on these values, said in one line
            raise keras_failure(model, inputs, exc) from None
        size = len(feed[0])
        for spec in outputs:
            value = np.asarray(result[spec.name])
            if spec.name not in found:
                found[spec.name] = np.empty((count, *value.shape[1:]),
                                            np.float32 if spec.dtype == "float32" else np.int32)
            _check_rows(spec.name, value.shape, size, found[spec.name].shape[1:])
            found[spec.name][start:start + size] = value
        if start == 0 and size > 1:  # one sample alone shows an output that follows the batch
            alone = serve(*(values[:1] for values in feed))
            for spec in outputs:
                _check_rows(spec.name, np.shape(alone[spec.name]), 1, found[spec.name].shape[1:])
        done = start + size
        if on_batch is not None:
            on_batch(done, count)
        if enough is not None and enough(done, time.monotonic() - started):
            break
    return {name: values[:done] for name, values in found.items()}


def _check_rows(name: str, shape: tuple[int, ...], samples: int, row: tuple[int, ...]) -> None:
    """An output must hold one row per sample, of one shape whatever the batch: one whose other axes
    follow the batch (CLIP's logits score every image of a batch against every text) cannot be
    compared sample by sample. Raises ExportError in one line."""
    if len(shape) and shape[0] == samples and tuple(shape[1:]) == tuple(row):
        return
    raise ExportError(f"output {name!r} is not one row per sample: Keras gives it shape "
                      f"{tuple(shape)} for a batch of {samples}, so the model relates the samples of a "
                      "batch to one another and no comparison sample by sample can prove it; export the "
                      "parts that compute one row per sample (a two-tower model's encoders) as models of "
                      "their own")


def keras_failure(model: Any, inputs: list[TensorSpec], exc: Exception) -> ExportError:
    """Keras failed on the samples: its own message (first line), the input it concerns when the
    failing op lies in a layer that reads one, and how to pass samples the model takes."""
    message = _first_line(exc)
    concerned = _concerned_input(model, inputs, str(exc))
    where = f" (input {concerned[0]!r}, read by {concerned[1]})" if concerned else ""
    names = ", ".join(spec.name for spec in inputs)
    return ExportError(f"Keras cannot compute the proof's samples{where}: {message}; pass samples the "
                       f"model takes with --samples FILE.npz (one array per input: {names})")


def _first_line(exc: Exception) -> str:
    """The line of `exc` that says what went wrong: for a TensorFlow op error, the one before the failing
    node (the first line is a generic "Graph execution error:", the rest a Python stack)."""
    text = str(exc).strip()
    before_node = text.split("[[{{node", 1)[0] if "[[{{node" in text else text
    lines = [line.strip() for line in before_node.splitlines() if line.strip()]
    if "[[{{node" in text and lines:
        return lines[-1]
    return lines[0] if lines else type(exc).__name__


def _concerned_input(model: Any, inputs: list[TensorSpec], text: str) -> tuple[str, str] | None:
    """(input name, its reader) for the layer named in the failing op's node path, if one reads an input."""
    from .samples import traced_readers

    found = re.search(r"\{\{node ([^}]+)\}\}", text)
    if found is None:
        return None
    parts = {re.sub(r"_\d+$", "", part) for part in found.group(1).split("/")}
    try:
        readers = traced_readers(model, inputs)
    except Exception:  # naming the input is a courtesy; the failure stands without it
        return None
    for name, layers in readers.items():
        for layer in layers:
            if layer.name in parts or re.sub(r"_\d+$", "", layer.name) in parts:
                return name, f"{type(layer).__name__} {layer.name!r}"
    return None
