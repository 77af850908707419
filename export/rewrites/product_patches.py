"""Tracing patches for products TF.js lacks a kernel for: two-operand einsums (wasm), 2-D FFTs and
grouped convolutions, each traced as transposes, reshapes and the MatMuls or convolutions every
backend has. The table of gaps is export/rewrites/__init__.py's.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from .patching import patched


@contextlib.contextmanager
def einsum_as_matmul() -> Iterator[list[int]]:
    """While tracing, compute two-operand einsums with transpose, reshape and MatMul.

    MultiHeadAttention and EinsumDense trace to `Einsum`, which TF.js' wasm backend lacks ("Kernel
    'Einsum' not registered"). Yields a one-item list counting the einsums rewritten; anything but
    two-operand subscripts (an ellipsis is spelled out in letters: RoFormerV2's "...,d->...d") keeps
    the original op (repeated indices, ellipses of different lengths).
    """
    import tensorflow as tf
    from keras.src.backend.tensorflow import numpy as tf_numpy

    rewritten = [0]

    def two_operands_as_matmul(original: Any) -> Any:
        def einsum(subscripts: str, *operands: Any, **kwargs: Any) -> Any:
            result = None
            # `optimize` only orders contractions of 3+ operands
            if len(operands) == 2 and set(kwargs) <= {"optimize", "name"} and isinstance(subscripts, str):
                result = _einsum2(tf, subscripts, *operands)
            if result is None:
                return original(subscripts, *operands, **kwargs)
            rewritten[0] += 1
            return result

        return einsum

    # Keras layers call keras' einsum; its TF attention kernel calls tf.einsum directly.
    with (patched(two_operands_as_matmul(tf_numpy.einsum), (tf_numpy, "einsum")),
          patched(two_operands_as_matmul(tf.einsum), (tf, "einsum"))):
        yield rewritten


def _einsum2(tf: Any, subscripts: str, a: Any, b: Any) -> Any:
    """`tf.einsum(subscripts, a, b)` as transposes, reshapes and one batched MatMul (None: not handled)."""
    a, b = tf.convert_to_tensor(a), tf.convert_to_tensor(b)
    equation = _without_ellipsis(subscripts.replace(" ", ""), [a.shape.rank, b.shape.rank])
    if equation is None or "." in equation or "->" not in equation:
        return None
    inputs, out = equation.split("->")
    if inputs.count(",") != 1:
        return None
    sa, sb = inputs.split(",")
    if len(set(sa)) != len(sa) or len(set(sb)) != len(sb) or len(set(out)) != len(out):
        return None
    if a.dtype != b.dtype or not a.dtype.is_floating or a.shape.rank != len(sa) or b.shape.rank != len(sb):
        return None
    if any(c not in sb and c not in out for c in sa) or any(c not in sa and c not in out for c in sb):
        return None  # an index summed away within one operand: leave it to tf.einsum
    batch = [c for c in sa if c in sb and c in out]
    contract = [c for c in sa if c in sb and c not in out]
    free_a = [c for c in sa if c not in sb]
    free_b = [c for c in sb if c not in sa]

    def dims(tensor: Any) -> list[Any]:
        static = tensor.shape.as_list()
        dynamic = tf.shape(tensor)
        return [d if d is not None else dynamic[i] for i, d in enumerate(static)]

    def product(values: list[Any]) -> Any:
        total: Any = 1
        for value in values:
            total = total * value
        return total

    def transpose(tensor: Any, have: str | list[str], want: list[str]) -> Any:
        perm = [list(have).index(c) for c in want]
        return tensor if perm == sorted(perm) else tf.transpose(tensor, perm)

    a_t = transpose(a, sa, batch + free_a + contract)
    b_t = transpose(b, sb, batch + contract + free_b)
    da, db = dims(a_t), dims(b_t)
    nb, nfa, nc = len(batch), len(free_a), len(contract)
    batch_dims, free_a_dims, contract_dims = da[:nb], da[nb:nb + nfa], da[nb + nfa:]
    free_b_dims = db[nb + nc:]
    a2 = tf.reshape(a_t, [product(batch_dims), product(free_a_dims), product(contract_dims)])
    b2 = tf.reshape(b_t, [product(batch_dims), product(contract_dims), product(free_b_dims)])
    result = tf.reshape(tf.matmul(a2, b2), batch_dims + free_a_dims + free_b_dims)
    return transpose(result, batch + free_a + free_b, list(out))


def _without_ellipsis(equation: str, ranks: list[int | None]) -> str | None:
    """The equation with its "..." spelled out in letters it does not use ("...,d->...d" for a rank-2
    first operand: "AB,d->ABd"); None where the operands' ellipses differ in length or a rank is
    unknown. An equation without "..." comes back as it is."""
    if "..." not in equation:
        return equation
    if "->" not in equation:
        return None
    inputs, out = equation.split("->")
    operands = inputs.split(",")
    lengths = {rank - len(subs.replace("...", "")) for subs, rank in zip(operands, ranks, strict=False)
               if "..." in subs and rank is not None}
    if len(lengths) != 1 or any(rank is None for rank in ranks) or min(lengths) < 0:
        return None
    spare = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in equation][:lengths.pop()]
    return ",".join(subs.replace("...", "".join(spare)) for subs in operands) + "->" + out.replace(
        "...", "".join(spare))


@contextlib.contextmanager
def fft2_as_matmul() -> Iterator[list[int]]:
    """While tracing, compute a 2-D FFT as products with DFT matrices.

    TF.js has no `FFT2D`; keras-hub's FNet mixes its tokens with the real part of one. The DFT of
    length n is the matrix F = C - iS (C[j, k] = cos(2πjk/n), S likewise with sin), so the 2-D FFT
    of A + iB is F_rows (A + iB) F_cols: eight MatMuls, each as transpose, reshape and a rank-2
    MatMul (every TF.js backend has them). An axis of known size gets its matrices as constants
    computed in float64; one of any length (FNet's sequence) gets them computed in the graph.
    Yields a one-item list counting the FFTs rewritten.
    """
    import tensorflow as tf
    from keras.src.backend.tensorflow import math as tf_math

    original = tf_math.fft2
    rewritten = [0]

    def fft2(x: Any) -> Any:
        real, imag = (tf.convert_to_tensor(part) for part in x)
        if real.shape.rank is None or real.shape.rank < 2 or not real.dtype.is_floating \
                or imag.dtype != real.dtype:
            return original(x)
        rewritten[0] += 1
        rows = real.shape[-2] if real.shape[-2] is not None else tf.shape(real)[-2]
        cols = real.shape[-1] if real.shape[-1] is not None else tf.shape(real)[-1]
        cos_rows, sin_rows = _dft_matrices(tf, rows, real.dtype)
        cos_cols, sin_cols = _dft_matrices(tf, cols, real.dtype)
        # (C - iS)(A + iB) = (CA + SB) + i(CB - SA); C and S are symmetric, so a product from the
        # left is one from the right on the last two axes swapped
        real_rows = _rows_times(real, cos_rows) + _rows_times(imag, sin_rows)
        imag_rows = _rows_times(imag, cos_rows) - _rows_times(real, sin_rows)
        # (P + iQ)(C - iS) = (PC + QS) + i(QC - PS)
        return (_cols_times(real_rows, cos_cols) + _cols_times(imag_rows, sin_cols),
                _cols_times(imag_rows, cos_cols) - _cols_times(real_rows, sin_cols))

    with patched(fft2, (tf_math, "fft2")):
        yield rewritten


def _dft_matrices(tf: Any, n: Any, dtype: Any) -> tuple[Any, Any]:
    """The cosine and sine parts of the length-n DFT matrix (jk taken mod n, so every angle lies in
    [0, 2π)): constants computed in float64 for a known n, else graph ops for the n of the input."""
    import numpy as np

    if isinstance(n, int):
        angles = 2 * np.pi * (np.outer(np.arange(n), np.arange(n)) % n) / n
        return tf.constant(np.cos(angles), dtype), tf.constant(np.sin(angles), dtype)
    steps = tf.range(n)
    turns = tf.math.floormod(tf.expand_dims(steps, 1) * tf.expand_dims(steps, 0), n)
    angles = tf.cast(turns, dtype) * (tf.constant(2 * np.pi, dtype) / tf.cast(n, dtype))
    return tf.cos(angles), tf.sin(angles)


def _cols_times(x: Any, matrix: Any) -> Any:
    """x @ matrix over x's last axis, as a reshape and a rank-2 MatMul."""
    import tensorflow as tf

    flat = tf.matmul(tf.reshape(x, tf.stack([-1, tf.shape(x)[-1]])), matrix)
    return tf.reshape(flat, tf.concat([tf.shape(x)[:-1], tf.shape(matrix)[-1:]], axis=0))


def _rows_times(x: Any, symmetric: Any) -> Any:
    """symmetric @ x over x's last two axes (symmetric is n x n, n the size of x's axis -2)."""
    import tensorflow as tf

    return tf.linalg.matrix_transpose(_cols_times(tf.linalg.matrix_transpose(x), symmetric))


@contextlib.contextmanager
def grouped_convs_as_tfjs_ops() -> Iterator[list[tuple[str, str]]]:
    """While tracing, compute grouped convolutions (`groups > 1`) with ops TF.js has.

    Keras' TensorFlow backend compiles a grouped convolution with XLA (`jit_compile=True`), which
    traces to a nested `StatefulPartitionedCall` that TF.js cannot run, and TF.js has no grouped
    convolution. One group per input channel becomes `DepthwiseConv2dNative` (the kernel
    [k, 1, C·M] reshaped to [k, C, M]: output channel c·M + m is group c's m-th filter, the same
    order); other group counts become split → one convolution per group → concatenate.
    Yields a list of (layer, "depthwise" | "split") for each grouped convolution traced.
    """
    import tensorflow as tf
    from keras.src.backend.common import global_state
    from keras.src.backend.tensorflow import nn as tf_nn

    original = tf_nn.conv
    traced: list[tuple[Any, str]] = []

    def conv(inputs: Any, kernel: Any, strides: Any = 1, padding: str = "valid", data_format: Any = None,
             dilation_rate: Any = 1) -> Any:
        way = _grouped_conv_way(inputs, kernel, strides, data_format, dilation_rate)
        if way is None:
            return original(inputs, kernel, strides, padding, data_format, dilation_rate)
        scopes = global_state.get_global_attribute("name_scope_stack", default=[])
        callers = [scope.caller for scope in scopes if getattr(scope, "caller", None) is not None]
        traced.append((callers[-1] if callers else None, way))  # the layer being called
        rank = len(inputs.shape) - 2
        strides, dilations = _per_axis(strides, rank), _per_axis(dilation_rate, rank)
        if way == "depthwise":
            return _depthwise(tf, inputs, kernel, strides, padding, dilations)
        groups = int(inputs.shape[-1]) // int(kernel.shape[-2])
        parts = zip(tf.split(inputs, groups, axis=-1), tf.split(kernel, groups, axis=-1), strict=True)
        return tf.concat([tf.nn.convolution(x, k, strides, padding.upper(), dilations=dilations)
                          for x, k in parts], axis=-1)

    with patched(conv, (tf_nn, "conv")):
        yield traced


def _per_axis(value: Any, rank: int) -> list[int]:
    return [int(value)] * rank if isinstance(value, int) else [int(v) for v in value]


def _grouped_conv_way(inputs: Any, kernel: Any, strides: Any, data_format: Any,
                      dilation_rate: Any) -> str | None:
    """"depthwise", "split", or None for a convolution that is not grouped (or left to Keras)."""
    from keras.src import backend

    if backend.standardize_data_format(data_format) != "channels_last":
        return None  # channels-first convolutions do not run on TensorFlow's CPU without XLA anyway
    channels, per_group = inputs.shape[-1], kernel.shape[-2]
    if channels is None or per_group is None or channels == per_group or channels % per_group:
        return None
    rank = len(inputs.shape) - 2
    strided = any(s > 1 for s in _per_axis(strides, rank))
    dilated = any(d > 1 for d in _per_axis(dilation_rate, rank))
    # TensorFlow's depthwise convolution takes strides or dilations, not both
    return "depthwise" if per_group == 1 and rank in (1, 2) and not (strided and dilated) else "split"


def _depthwise(tf: Any, inputs: Any, kernel: Any, strides: list[int], padding: str,
               dilations: list[int]) -> Any:
    """One group per channel as `tf.nn.depthwise_conv2d` (a 1-D convolution as a 1-pixel-high image)."""
    one_d = len(inputs.shape) == 3
    if one_d:
        inputs, kernel = tf.expand_dims(inputs, 1), tf.expand_dims(kernel, 0)
        strides, dilations = [1, *strides], [1, *dilations]
    kh, kw, _, out_channels = kernel.shape
    channels = int(inputs.shape[-1])
    filters = tf.reshape(kernel, [kh, kw, channels, int(out_channels) // channels])
    result = tf.nn.depthwise_conv2d(inputs, filters, [1, *strides, 1], padding.upper(), dilations=dilations)
    return tf.squeeze(result, 1) if one_d else result


def grouped_conv_rewrites(traced: list[tuple[Any, str]]) -> list[dict[str, Any]]:
    """`metadata.rewrites` entries for the grouped convolutions traced, one per layer."""
    what = {"depthwise": "grouped convolution with one group per input channel traced as a depthwise "
                         "convolution (TF.js has no grouped convolution)",
            "split": "grouped convolution traced as split → one convolution per group → concatenate "
                     "(TF.js has no grouped convolution)"}
    rewrites: list[dict[str, Any]] = []
    for layer, way in traced:
        kind = type(layer).__name__ if layer is not None else "grouped convolution"
        entry = {"layer": getattr(layer, "name", None), "class": kind, "what": what[way]}
        if entry not in rewrites:
            rewrites.append(entry)
    return rewrites
