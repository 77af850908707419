"""The known gaps between Keras 3 (TensorFlow backend) and TF.js 4.22, and how the exporter closes them.

| gap | rewrite |
| --- | --- |
| exact GELU traces to `Erfc`, which TF.js lacks | trace `0.5·x·(1 + erf(x/√2))` (TF.js has `Erf`) |
| RNN while loops (LSTM, GRU, SimpleRNN, Bidirectional) convert, then never start in TF.js |
  fixed length ≤ `MAX_UNROLL` steps: rebuild the layer with `unroll=True` (`unroll_rnns`); |
  variable length or longer: drop the loop's control-only edges (`strip_control_edges`) |
| `Einsum` (MultiHeadAttention, EinsumDense) has no wasm kernel | trace two-operand einsums as
  transpose + reshape + MatMul (`einsum_as_matmul`) |
| the converter fuses `x @ W + y` / `conv(x) + c` into `_FusedMatMul` / `_FusedConv2D` with a
  rank-2 `y` (an RNN's `h @ U`) or a scalar `c` (MobileNetV3's hard sigmoid); the wasm backend takes
  rank-1 biases only | split them into MatMul/Conv2D + AddV2 (`unfuse_odd_biases`) |
| TensorFlow's remapper fuses a convolution, its bias and a hard swish (MobileNetV3, with BatchNorm
  folded into the convolution) into `_FusedConv2D` with `_FusedHardSwish`, an activation no TF.js
  backend has | keep the convolution + bias fused, then `x·relu6(x + 3)·⅙` as AddV2, Relu6 and two
  Mul nodes, with the two constants in a weight file of their own (`unfuse_activations`) |
| the remapper also fuses a MatMul or convolution with a Tanh activation (FNet's pooler);
  TF.js' wasm backend fuses linear, relu, relu6, prelu, leaky relu, sigmoid and elu only ("tanh
  activation not yet supported") | keep the op + bias fused, the activation as its own node
  (`unfuse_activations`) |
| TF.js' wasm backend casts to bool by keeping an int's low byte and truncating a float (256, 512 and
  0.5 become false; TensorFlow: any non-zero is true), so a 0/1-or-more padding mask cast to bool
  masks positions Keras keeps | trace every cast to bool as `x != 0` (`bool_casts_as_not_equal`) |
| TF.js' webgl backend has no `Select` (where) beyond rank 4 ("Where for rank 5 is not yet supported");
  grouped-query attention masks its scores in rank 5 (Gemma) | trace a where of rank 5 or more on
  operands folded to rank 4 and broadcast there (TF.js broadcasts with a Tile, and a rank-5 Tile
  loses TF.js webgpu's device) (`wide_wheres_as_rank4`) |
| TF.js' wasm backend reads out of bounds on a gather with batch dimensions ("memory access out of
  bounds"; DeBERTa's relative attention gathers with `batch_dims=3`) | trace it as one gather from
  the batch axes folded into the gathered one, each index offset by its batch row
  (`batched_gathers_as_flat`) |
| TF.js runs `MatrixBandPart` as a `Select` per matrix, and the wasm backend's Select is wrong on
  bool operands and corrupts its heap ("memory access out of bounds" at a later op); sliding-window
  attention (Qwen3, Gemma4) bands a bool matrix of ones | trace the band part of a bool matrix on
  its int32 0/1 values, then `!= 0` (`bool_band_parts_as_int`) |
| TF.js' `Cumsum` and `Cumprod` kernels take a negative axis as it is: on cpu the result has a wrong
  shape, on wasm the call fails ("null function or function signature mismatch"); Falcon numbers
  its ALiBi positions with `cumsum(mask, axis=-1)` | trace a static negative axis counted from the
  front (`cumulative_axes_as_positive`) |
| TF.js' webgl backend starts a max reduction at -1e20, so a softmax over a row whose every entry lies
  below it (`ops.dot_product_attention` fills masked scores with -2.4e38; a query whose keys are all
  masked, as ESM masks padded queries) gets 0/0, which webgl's division makes 1 for every key |
  trace the masked scores filled with -1e9, the value Keras' `Softmax` layer masks with (the same
  softmax wherever a score exceeds -1e9) (`masked_scores_above_minus_1e9`) |
| TF.js' webgl backend computes `Sin` and `Cos` with the GPU's approximations: on Chromium's
  SwiftShader 8e-5 off for angles up to 2π, 2e-4 at 15 (rotary position embeddings: Gemma, ESM;
  FNet's DFT matrices) | trace sin and cos as a reduction to [-π/4, π/4] by multiples of π/2
  (π/2 split in three, so each product is exact) and Taylor polynomials, exact in float32 on every
  backend (`sines_as_polynomials`) |
| grouped-query attention (Llama, Mistral, Qwen, Gemma) repeats its keys and values with
  `tf.repeat`, an ExpandDims, a rank-5 Tile and a Reshape; on Chromium's software adapter the Tile
  loses TF.js webgpu's device | trace a repeat by a number along an axis as one gather with each
  index repeated (`repeats_as_gathers`); a tile of rank 5 or more (T5Gemma's `ops.tile`) as one
  gather per tiled axis (`wide_tiles_as_gathers`) |
| a 2-D FFT traces to `FFT2D`, which TF.js lacks (FNet mixes its tokens with one) | trace an FFT over
  static axes as products with the DFT's cosine and sine matrices (`fft2_as_matmul`) |
| grouped convolutions (`Conv1D`/`Conv2D` with `groups > 1`, ConvNeXt, ResNeXt) trace to an XLA
  function TF.js cannot run, and TF.js has no grouped convolution | one group per input channel:
  a depthwise convolution; other group counts: split → convolve each group → concatenate
  (`grouped_convs_as_tfjs_ops`) |
| TF.js' wasm backend's `OneHot` writes int32 values whatever its dtype: a float32 one-hot holds
  1.4e-45 (the bits of int 1) for 1, so a mixture of experts' router (Mixtral, GPT-OSS) weighs every
  expert 0 | trace a float or bool one-hot as an int32 one-hot, then a cast (floats) or `!= 0`
  (bools) (`one_hots_as_int32`) |
| `tf.eye` (`ops.eye`: Qwen3.5's gated delta rule) traces to `MatrixDiagV3`, which TF.js lacks |
  trace `range(rows)[:, None] == range(columns)`, cast to the dtype (`eyes_as_comparisons`) |
| TF.js' `BatchMatMul` (cpu and wasm) reads an operand's batch i of the product as its batch
  `i % size`, wrong where the operand broadcasts along a batch axis after one it does not:
  multi-query attention (MobileNetV5) multiplies queries [B, heads, M, K] by keys shared by the
  heads, [B, 1, K, N], and TF.js gives head h of sample b the keys of sample (b·heads + h) mod B;
  keras-hub's Gemma4 multiplies grouped queries [B, K, G, T, H] by keys [B, K, 1, H, S] alike |
  trace such an operand broadcast to the product's batch shape first, by a gather of index 0 along
  each broadcast axis (a BroadcastTo would be a rank-5 Tile) (`matmul_batches_broadcast`) |

Why the loop never starts: the converter lowers `While` to v1 control flow (Enter/Merge/Switch/
Exit) and keeps the lowering's control-only edges (`^node`) from `NoOp` nodes to the `Enter`
nodes and the loop body; TF.js 4.22's `executeAsync` never schedules those, so it stops with
"Cannot compute the outputs [Identity] from the provided inputs [...]. Consider providing the
following inputs: []". Without the control-only edges the loop runs and matches Keras on wasm
and cpu (once `_FusedMatMul` is split). Keeping the functional `While` instead
(`control_flow_v2=True`) runs on cpu but fails on wasm ("Cannot read properties of undefined
(reading 'backend')"). Still failing on wasm: a masked Bidirectional RNN with
return_sequences=True as a loop (wrong values, or "memory access out of bounds" when the executor
frees its intermediate tensors: the wasm heap is corrupted); unrolled, Keras 3 itself computes
that one differently, so it is not unrolled and the export is refused.

Every rewrite is recorded in `metadata.rewrites` as {"layer", "class", "what"}; the parity proof
checks the result.
"""

from __future__ import annotations

import base64
import contextlib
import json
import math
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAX_UNROLL = 128  # longer fixed sequences keep their (patched) while loop: unrolled graphs grow with T
RNN_CLASSES = ("LSTM", "GRU", "SimpleRNN")


@contextlib.contextmanager
def exact_gelu_as_erf() -> Iterator[list[int]]:
    """While tracing, compute exact GELU with `erf` (TF.js has it) rather than `erfc` (it does not).

    Yields a one-item list counting the exact GELUs traced.
    """
    import tensorflow as tf
    from keras.src.backend.tensorflow import nn as tf_nn

    original = tf_nn.gelu
    traced = [0]

    def gelu(x: Any, approximate: bool = True) -> Any:
        if approximate:
            return original(x, approximate=True)
        traced[0] += 1
        x = tf.convert_to_tensor(x)
        return 0.5 * x * (1.0 + tf.math.erf(x * tf.cast(1.0 / math.sqrt(2.0), x.dtype)))

    tf_nn.gelu = gelu
    try:
        yield traced
    finally:
        tf_nn.gelu = original


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

    originals = (tf_numpy.einsum, tf.einsum)
    rewritten = [0]

    def patched(original: Any) -> Any:
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
    tf_numpy.einsum, tf.einsum = patched(originals[0]), patched(originals[1])
    try:
        yield rewritten
    finally:
        tf_numpy.einsum, tf.einsum = originals


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
def bool_casts_as_not_equal() -> Iterator[list[int]]:
    """While tracing, compute every cast of a number to bool as `x != 0`, which it means in TensorFlow.

    TF.js' wasm backend casts int32 to bool by keeping the low byte (256 → false) and float32 by
    truncating (0.5 → false); its NotEqual is right on every backend. Keras casts masks this way
    (MultiHeadAttention's attention mask, the serving signature's bool inputs). Yields a one-item
    list counting the casts rewritten.
    """
    import tensorflow as tf

    original = tf.cast
    rewritten = [0]

    def cast(x: Any, dtype: Any, name: Any = None) -> Any:
        if tf.as_dtype(dtype) == tf.bool and not isinstance(x, (tf.SparseTensor, tf.RaggedTensor)):
            x = tf.convert_to_tensor(x)
            if x.dtype.is_integer or x.dtype.is_floating:
                rewritten[0] += 1
                return tf.not_equal(x, tf.zeros([], x.dtype), name=name)
        return original(x, dtype, name=name)

    tf.cast = cast
    try:
        yield rewritten
    finally:
        tf.cast = original


@contextlib.contextmanager
def bool_band_parts_as_int() -> Iterator[list[int]]:
    """While tracing, compute the band part of a bool matrix on its 0/1 int32 values, then `!= 0`.

    TF.js runs `MatrixBandPart` as one `Select` per matrix; the wasm backend's Select is wrong on
    bool operands (where([T, F], [T, T], [F, F]) gives [T, T]) and corrupts its heap on bool matrices
    ("memory access out of bounds" at a later op); on int32 it is right. Sliding-window attention builds its
    window this way (keras-hub's Qwen3, Gemma4: `band_part(ones((T, T), bool), w, w)`). Yields a
    one-item list counting the band parts rewritten; other dtypes keep the original op.
    """
    import tensorflow as tf

    original = tf.linalg.band_part
    rewritten = [0]

    def band_part(input: Any, num_lower: Any, num_upper: Any, name: Any = None) -> Any:
        x = tf.convert_to_tensor(input)
        if x.dtype != tf.bool:
            return original(x, num_lower, num_upper, name=name)
        rewritten[0] += 1
        band = original(tf.cast(x, tf.int32), num_lower, num_upper)
        return tf.not_equal(band, tf.zeros([], tf.int32), name=name)

    tf.linalg.band_part = band_part
    try:
        yield rewritten
    finally:
        tf.linalg.band_part = original


@contextlib.contextmanager
def cumulative_axes_as_positive() -> Iterator[list[int]]:
    """While tracing, give `cumsum` and `cumprod` a negative axis as its positive equivalent.

    TF.js' cumsum and cumprod kernels permute the axis innermost without normalising it: on cpu a
    [2, 5] cumsum along -1 comes back shaped [undefined, 2] ("Operands could not be broadcast"
    later), on wasm it calls into the module with a bad table index ("null function or function
    signature mismatch"). keras-hub's Falcon numbers its ALiBi positions with `cumsum(mask, -1)`.
    Yields a one-item list counting the calls rewritten; an axis that is not static, or an input of
    unknown rank, keeps the original call.
    """
    import tensorflow as tf

    # Keras calls tf.math's; tf.cumsum is the same function (TF 2 has no tf.cumprod)
    originals = (tf.math.cumsum, tf.cumsum, tf.math.cumprod)
    rewritten = [0]

    def patched(original: Any) -> Any:
        def cumulative(x: Any, axis: Any = 0, exclusive: bool = False, reverse: bool = False,
                       name: Any = None) -> Any:
            x = tf.convert_to_tensor(x)
            static = tf.get_static_value(axis)
            rank = x.shape.rank
            if static is not None and rank is not None and int(static) < 0:
                rewritten[0] += 1
                axis = int(static) + rank
            return original(x, axis=axis, exclusive=exclusive, reverse=reverse, name=name)

        return cumulative

    tf.math.cumsum, tf.cumsum, tf.math.cumprod = (patched(original) for original in originals)
    try:
        yield rewritten
    finally:
        tf.math.cumsum, tf.cumsum, tf.math.cumprod = originals


@contextlib.contextmanager
def wide_wheres_as_rank4() -> Iterator[list[int]]:
    """While tracing, compute a three-operand where of rank 5 or more at rank 4: the operands broadcast
    to their common shape, their leading axes folded into one, and the result unfolded.

    TF.js' webgl backend selects up to rank 4 only; grouped-query attention (Gemma, Llama-style
    models with fewer key/value heads) masks its [batch, heads, groups, queries, keys] scores with
    Keras' Softmax, a where of rank 5. Yields a one-item list counting the wheres rewritten.
    """
    import tensorflow as tf

    original = tf.where
    rewritten = [0]

    def where(condition: Any, x: Any = None, y: Any = None, name: Any = None) -> Any:
        if x is None or y is None:
            return original(condition, x, y, name=name)
        condition, x, y = tf.convert_to_tensor(condition), tf.convert_to_tensor(x), tf.convert_to_tensor(y)
        ranks = [t.shape.rank for t in (condition, x, y)]
        if any(rank is None for rank in ranks) or max(ranks) <= 4:
            return original(condition, x, y, name=name)
        rewritten[0] += 1
        rank = max(ranks)
        shape = tf.broadcast_dynamic_shape(tf.shape(condition),
                                           tf.broadcast_dynamic_shape(tf.shape(x), tf.shape(y)))
        static_shape = tf.broadcast_static_shape(condition.shape,
                                                 tf.broadcast_static_shape(x.shape, y.shape))
        folded = tf.concat([[tf.reduce_prod(shape[:-3])], shape[-3:]], axis=0)
        result = original(*(tf.broadcast_to(_leading_axes_folded(t, rank, shape, static_shape), folded)
                            for t in (condition, x, y)))
        result = tf.reshape(result, shape, name=name)
        # a reshape to a computed shape knows no dimension; what follows may need them (Qwen3.5's
        # gated delta rule squeezes a slice of its masked scores)
        result.set_shape(static_shape)
        return result

    tf.where = where
    try:
        yield rewritten
    finally:
        tf.where = original


def _leading_axes_folded(tensor: Any, rank: int, shape: Any, static_shape: Any) -> Any:
    """`tensor` (broadcastable to `shape`, of `rank`; `static_shape` what is known of it) with its
    leading rank - 3 axes folded into one, so that it broadcasts to the folded shape at rank 4.

    TF.js broadcasts with a `Tile`, and a rank-5 Tile loses TF.js webgpu's device (Gemma's masked
    scores: a [batch, 1, 1, queries, keys] mask against [batch, 1, heads, queries, keys]). Leading
    axes where `shape` is 1 do not count; of the others, all 1 fold to 1 and all matching `shape`
    fold to their product; a mix of the two has to broadcast first, at full rank.
    """
    import tensorflow as tf

    padded = tf.reshape(tensor, tf.concat([tf.ones([rank - tensor.shape.rank], tf.int32),
                                           tf.shape(tensor)], axis=0))
    own = ([1] * (rank - tensor.shape.rank) + list(tensor.shape))[:rank - 3]
    broadcast = [size == 1 for size, whole in zip(own, list(static_shape)[:rank - 3], strict=True)
                 if whole != 1]
    trailing = tf.shape(padded)[rank - 3:]
    if all(broadcast):
        return tf.reshape(padded, tf.concat([[1], trailing], axis=0))
    if not any(broadcast):
        return tf.reshape(padded, tf.concat([[-1], trailing], axis=0))
    return tf.reshape(tf.broadcast_to(padded, tf.concat([shape[:-3], trailing], axis=0)),
                      tf.concat([[-1], trailing], axis=0))


@contextlib.contextmanager
def batched_gathers_as_flat() -> Iterator[list[int]]:
    """While tracing, compute a gather with batch dimensions as a plain gather on flattened operands.

    TF.js' wasm backend reads past its buffers on `GatherV2` with `batch_dims` > 0 at realistic
    sizes (a [4, 2, 16, 512] gather with batch_dims=3 stops with "memory access out of bounds").
    With the b batch axes of params and indices folded into one of size B, and params' gathered axis
    (of size n) into that, row r's index i becomes r·n + i: one gather with no batch dimensions,
    then the result unfolded. Yields a one-item list counting the gathers rewritten; a gather along
    an axis past its batch axes keeps the original op.
    """
    import tensorflow as tf

    original = tf.gather
    rewritten = [0]

    def gather(params: Any, indices: Any, validate_indices: Any = None, axis: Any = None,
               batch_dims: int = 0, name: Any = None) -> Any:
        params, indices = tf.convert_to_tensor(params), tf.convert_to_tensor(indices)
        rank = indices.shape.rank
        batch = batch_dims + rank if rank is not None and batch_dims < 0 else batch_dims
        along = batch if axis is None else axis
        if isinstance(along, int) and along < 0 and params.shape.rank is not None:
            along += params.shape.rank
        if batch <= 0 or rank is None or along != batch:
            return original(params, indices, validate_indices=validate_indices, axis=axis,
                            batch_dims=batch_dims, name=name)
        rewritten[0] += 1
        return _flat_gather(tf, params, indices, batch, name)

    tf.gather = gather
    try:
        yield rewritten
    finally:
        tf.gather = original


def _flat_gather(tf: Any, params: Any, indices: Any, batch: int, name: Any) -> Any:
    """`tf.gather(params, indices, axis=batch, batch_dims=batch)` with no batch dimensions."""
    params_shape, indices_shape = tf.shape(params), tf.shape(indices)
    rows = tf.reduce_prod(params_shape[:batch])
    size = params_shape[batch]
    flat_params = tf.reshape(params, tf.concat([[rows * size], params_shape[batch + 1:]], axis=0))
    flat_indices = tf.reshape(indices, tf.concat([[rows], indices_shape[batch:]], axis=0))
    offsets = tf.reshape(tf.range(rows) * size,
                         tf.concat([[rows], tf.ones([indices.shape.rank - batch], rows.dtype)], axis=0))
    gathered = tf.gather(flat_params, flat_indices + tf.cast(offsets, indices.dtype), axis=0)
    result = tf.reshape(gathered, tf.concat([params_shape[:batch], indices_shape[batch:],
                                             params_shape[batch + 1:]], axis=0), name=name)
    result.set_shape(params.shape[:batch].concatenate(indices.shape[batch:]).concatenate(
        params.shape[batch + 1:]))
    return result


@contextlib.contextmanager
def one_hots_as_int32() -> Iterator[list[int]]:
    """While tracing, compute a float or bool one-hot as an int32 one-hot, then cast.

    TF.js' wasm `OneHot` kernel writes int32 values whatever the output dtype: a float32 one-hot
    holds the bits of int 1 (1.4e-45) where TensorFlow has 1.0, an off value of -2 reads NaN (a
    mixture of experts' router, Mixtral's and GPT-OSS', weighs every expert 0), and a bool one-hot
    overruns its buffer ("memory access out of bounds"); an int32 one-hot is right on every backend.
    Floats become `on·h + off·(1 - h)` of the int32 one-hot h cast (exact: h is 0 or 1), bools
    `h != 0`. Yields a one-item list counting the one-hots rewritten.
    """
    import tensorflow as tf

    original = tf.one_hot
    rewritten = [0]

    def one_hot(indices: Any, depth: Any, on_value: Any = None, off_value: Any = None, axis: Any = None,
                dtype: Any = None, name: Any = None) -> Any:
        if dtype is not None:
            out = tf.as_dtype(dtype)
        elif on_value is not None or off_value is not None:  # tf.one_hot takes their dtype
            out = tf.convert_to_tensor(on_value if on_value is not None else off_value).dtype
        else:
            out = tf.float32
        # a bool one-hot other than True/False (Keras' only one) keeps the op
        plain_bool = (out == tf.bool and (on_value is None or on_value is True)
                      and (off_value is None or off_value is False))
        if not (out.is_floating or plain_bool):
            return original(indices, depth, on_value=on_value, off_value=off_value, axis=axis,
                            dtype=dtype, name=name)
        rewritten[0] += 1
        hot = original(indices, depth, on_value=1, off_value=0, axis=axis, dtype=tf.int32, name=name)
        if out == tf.bool:
            return tf.not_equal(hot, 0)
        hot = tf.cast(hot, out)
        if on_value is None and off_value is None:
            return hot
        on = tf.cast(1 if on_value is None else on_value, out)
        off = tf.cast(0 if off_value is None else off_value, out)
        return on * hot + off * (1 - hot)

    tf.one_hot = one_hot
    try:
        yield rewritten
    finally:
        tf.one_hot = original


@contextlib.contextmanager
def eyes_as_comparisons() -> Iterator[list[int]]:
    """While tracing, compute an identity matrix as `range(rows)[:, None] == range(columns)`, cast.

    `tf.eye` traces to `MatrixDiagV3`, which TF.js lacks (Qwen3.5's gated delta rule adds
    `ops.eye(chunk_size)` to its chunk scores); Range, Equal and Cast it has on every backend.
    Yields a one-item list counting the identity matrices rewritten; a batch of them keeps the op.
    """
    import tensorflow as tf

    original = tf.eye
    rewritten = [0]

    def eye(num_rows: Any, num_columns: Any = None, batch_shape: Any = None, dtype: Any = tf.float32,
            name: Any = None) -> Any:
        if batch_shape is not None:
            return original(num_rows, num_columns, batch_shape=batch_shape, dtype=dtype, name=name)
        rewritten[0] += 1
        rows = tf.range(num_rows)
        columns = rows if num_columns is None else tf.range(num_columns)
        return tf.cast(tf.equal(rows[:, None], columns[None, :]), dtype, name=name)

    tf.eye = tf.linalg.eye = eye
    try:
        yield rewritten
    finally:
        tf.eye = tf.linalg.eye = original


@contextlib.contextmanager
def matmul_batches_broadcast() -> Iterator[list[int]]:
    """While tracing, broadcast an operand of a batched matrix product to the product's batch shape
    where it broadcasts along a batch axis that follows one it does not broadcast along.

    TF.js' BatchMatMul (cpu and wasm kernels alike) flattens each operand's batch axes and reads,
    for output batch i, the operand's batch `i % size`: right where an operand broadcasts along its
    leading batch axes only ([H, M, K] @ [B, H, K, N]), wrong after one it does not. Multi-query
    attention (MobileNetV5's MultiQueryAttention2d) multiplies its queries [B, heads, M, K] by keys
    shared by the heads, [B, 1, K, N]: TF.js gives head h of sample b the keys of sample
    (b·heads + h) mod B. Gemma4's grouped-query attention (keras-hub, no repeat) multiplies queries
    [B, K, G, T, H] by keys [B, K, 1, H, S], and its attention weights by values alike (its proof
    failed by 1.4x the output's scale). Yields a one-item list counting the products rewritten; any
    other product keeps its operands as they are.
    """
    import tensorflow as tf

    original = tf.matmul
    rewritten = [0]

    def matmul(a: Any, b: Any, *args: Any, **kwargs: Any) -> Any:
        if not isinstance(a, (tf.SparseTensor, tf.RaggedTensor)) and not isinstance(b, (tf.SparseTensor,
                                                                                          tf.RaggedTensor)):
            a = tf.convert_to_tensor(a)
            b = tf.convert_to_tensor(b, dtype_hint=a.dtype)
            broadcast = _broadcast_matmul_batches(tf, a, b)
            if broadcast is not None:
                rewritten[0] += 1
                a, b = broadcast
        return original(a, b, *args, **kwargs)

    tf.matmul = tf.linalg.matmul = matmul
    try:
        yield rewritten
    finally:
        tf.matmul = tf.linalg.matmul = original


def _broadcast_matmul_batches(tf: Any, a: Any, b: Any) -> tuple[Any, Any] | None:
    """`a` and `b` with each operand TF.js would index wrongly broadcast to the common batch shape
    (None: neither is; a rank-2 operand is one batch, which TF.js reads right)."""
    ranks = (a.shape.rank, b.shape.rank)
    if None in ranks or min(ranks) < 3:
        return None
    width = max(ranks) - 2
    padded = [[1] * (width - len(shape)) + shape
              for shape in (a.shape.as_list()[:-2], b.shape.as_list()[:-2])]
    common = [y if x == 1 else x if y == 1 or x is not None else y for x, y in zip(*padded, strict=True)]

    def misread(batch: list[int | None]) -> bool:
        # TF.js' `i % size` holds for leading broadcast axes only: an axis broadcast (1 where the
        # product's is not) after one that is not is read wrongly
        seen_full = False
        for own, full in zip(batch, common, strict=True):
            if own == 1 and full != 1 and seen_full:
                return True
            seen_full = seen_full or own != 1
        return False

    wrong = [misread(batch) for batch in padded]
    if not any(wrong):
        return None

    def batch_size(axis: int) -> Any:
        if common[axis] is not None:
            return common[axis]
        for tensor, batch in zip((a, b), padded, strict=True):
            if batch[axis] is None:  # a dynamic axis (the samples) comes from the operand that has it
                return tf.shape(tensor)[axis - (width - (tensor.shape.rank - 2))]
        return 1

    batch = [batch_size(axis) for axis in range(width)]

    def broadcast(tensor: Any, own: list[int | None]) -> Any:
        # one gather of index 0 per broadcast axis, not a BroadcastTo: TF.js broadcasts with a Tile,
        # and TF.js webgpu loses its device on a product that reads a rank-5 Tile (Gemma4)
        if tensor.shape.rank < width + 2:
            ones = [1] * (width + 2 - tensor.shape.rank)
            tensor = tf.reshape(tensor, tf.concat([ones, tf.shape(tensor)], 0))
        for axis, size in enumerate(own):
            if size == 1 and common[axis] != 1:
                tensor = tf.gather(tensor, tf.zeros(tf.reshape(batch[axis], [1]), tf.int32), axis=axis)
        return tensor

    return (broadcast(a, padded[0]) if wrong[0] else a, broadcast(b, padded[1]) if wrong[1] else b)


@contextlib.contextmanager
def repeats_as_gathers() -> Iterator[list[int]]:
    """While tracing, compute `tf.repeat(x, n, axis)` (n a number, the axis of known size) as one
    gather along the axis with each index n times.

    TensorFlow repeats by ExpandDims, a Tile one rank up and a Reshape; grouped-query attention
    (Llama, Mistral, Qwen, Phi-3, Gemma: fewer key/value heads than query heads) repeats its keys
    and values so, and the rank-5 Tile loses TF.js webgpu's device on Chromium's software adapter
    ("A valid external Instance reference no longer exists"). Yields a one-item list counting the
    repeats rewritten.
    """
    import tensorflow as tf

    original = tf.repeat
    rewritten = [0]

    def repeat(input: Any, repeats: Any, axis: Any = None, name: Any = None) -> Any:
        x = tf.convert_to_tensor(input)
        if not isinstance(axis, int) or x.shape.rank is None or not isinstance(repeats, int) \
                or isinstance(repeats, bool):
            return original(input, repeats, axis=axis, name=name)
        rewritten[0] += 1
        size = x.shape[axis]
        if size is None:  # RoFormerV2 repeats sines whose length is only known at run time
            indices = tf.range(tf.shape(x)[axis] * repeats) // repeats
        else:
            indices = [index for index in range(size) for _ in range(repeats)]
        return tf.gather(x, indices, axis=axis, name=name)

    tf.repeat = repeat
    try:
        yield rewritten
    finally:
        tf.repeat = original


@contextlib.contextmanager
def wide_tiles_as_gathers() -> Iterator[list[int]]:
    """While tracing, compute a `tf.tile` of rank 5 or more with fixed multiples as one gather per
    tiled axis (indices 0 … n-1, m times).

    A rank-5 Tile loses TF.js webgpu's device on Chromium's software adapter; T5Gemma repeats its
    keys and values for grouped-query attention with `ops.tile` at rank 5. Yields a one-item list
    counting the tiles rewritten.
    """
    import tensorflow as tf

    original = tf.tile
    rewritten = [0]

    def tile(input: Any, multiples: Any, name: Any = None) -> Any:
        x = tf.convert_to_tensor(input)
        fixed = tf.get_static_value(multiples)
        if x.shape.rank is None or x.shape.rank < 5 or fixed is None:
            return original(input, multiples, name=name)
        rewritten[0] += 1
        for axis, times in enumerate(int(m) for m in fixed):
            if times != 1:
                x = tf.gather(x, tf.tile(tf.range(tf.shape(x)[axis]), [times]), axis=axis)
        return tf.identity(x, name=name)

    tf.tile = tile
    try:
        yield rewritten
    finally:
        tf.tile = original


# π/2 in three parts of at most 12 significant bits (the last float32): k times each is exact for
# |k| < 2^12, so x - k·π/2 keeps float32's precision for angles up to about 6,000
HALF_PI_PARTS = (1.5703125, 4.837512969970703e-4, 7.549790126404332e-08)
SIN_TAYLOR = (-1 / 6, 1 / 120, -1 / 5040, 1 / 362880)  # r³ … r⁹: below 3e-9 for |r| ≤ π/4
COS_TAYLOR = (-1 / 2, 1 / 24, -1 / 720, 1 / 40320, -1 / 3628800)  # r² … r¹⁰


@contextlib.contextmanager
def sines_as_polynomials() -> Iterator[list[int]]:
    """While tracing, compute float32 sin and cos with ops every TF.js backend computes exactly.

    TF.js' webgl backend runs `Sin` and `Cos` as the GPU's approximations (on Chromium's SwiftShader
    8e-5 off for angles up to 2π, 2e-4 at 15), enough to refuse a model with rotary position
    embeddings. The angle is reduced to r in [-π/4, π/4] by the nearest multiple k of π/2, and sin
    and cos of r are Taylor polynomials; k mod 4 picks which, with which sign. Yields a one-item
    list counting the sines and cosines rewritten.
    """
    import tensorflow as tf

    originals = {"sin": tf.math.sin, "cos": tf.math.cos}
    rewritten = [0]

    def patched(which: str) -> Any:
        def function(x: Any, name: Any = None) -> Any:
            x = tf.convert_to_tensor(x)
            if x.dtype != tf.float32:
                return originals[which](x, name=name)
            rewritten[0] += 1
            return _sine(tf, x, which == "cos")

        return function

    tf.math.sin = tf.sin = patched("sin")
    tf.math.cos = tf.cos = patched("cos")
    try:
        yield rewritten
    finally:
        tf.math.sin = tf.sin = originals["sin"]
        tf.math.cos = tf.cos = originals["cos"]


def _sine(tf: Any, x: Any, cosine: bool) -> Any:
    """sin(x) (or cos(x)) as a reduction by multiples of π/2 and Taylor polynomials."""
    turns = tf.round(x * (2 / math.pi))
    r = x
    for part in HALF_PI_PARTS:
        r = r - turns * part
    r2 = r * r
    sin_r = r + r * r2 * _polynomial(r2, SIN_TAYLOR)
    cos_r = 1.0 + r2 * _polynomial(r2, COS_TAYLOR)
    # sin(r + kπ/2) for k mod 4 = 0, 1, 2, 3: sin r, cos r, -sin r, -cos r; cos(x) = sin(x + π/2)
    quarter = tf.math.floormod(turns + (1.0 if cosine else 0.0), 4.0)
    value = tf.where(tf.math.floormod(quarter, 2.0) == 0.0, sin_r, cos_r)
    return tf.where(quarter >= 2.0, -value, value)


def _polynomial(x: Any, coefficients: tuple[float, ...]) -> Any:
    """c0 + c1·x + c2·x² + … by Horner's rule."""
    result = coefficients[-1]
    for coefficient in reversed(coefficients[:-1]):
        result = coefficient + x * result
    return result


MASKED_SCORE = -1e9  # what Keras' Softmax layer masks with; within webgl's max reduction (from -1e20)


@contextlib.contextmanager
def masked_scores_above_minus_1e9() -> Iterator[list[int]]:
    """While tracing, fill the masked scores of `ops.dot_product_attention` with MASKED_SCORE.

    Keras fills them with -0.7 x float32's largest value. TF.js' webgl backend starts its max
    reduction at -1e20, so a row of scores all masked has that as its maximum, every exp(score - max)
    is 0, and webgl's division answers 0/0 with 1: each masked key gets weight 1 instead of 1/n.
    Any score above -1e9 gets the same softmax either way. Yields a one-item list counting the masks.
    """
    import tensorflow as tf
    from keras.src.backend.tensorflow import nn as tf_nn

    original = tf_nn._get_large_negative
    rewritten = [0]

    def large_negative(dtype: Any) -> Any:
        if tf.as_dtype(dtype) != tf.float32:
            return original(dtype)
        rewritten[0] += 1
        return tf.constant(MASKED_SCORE, tf.float32)

    tf_nn._get_large_negative = large_negative
    try:
        yield rewritten
    finally:
        tf_nn._get_large_negative = original


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

    tf_math.fft2 = fft2
    try:
        yield rewritten
    finally:
        tf_math.fft2 = original


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

    tf_nn.conv = conv
    try:
        yield traced
    finally:
        tf_nn.conv = original


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


# The tracing rewrites that count what they changed: (metadata class, the patch, what one entry
# says, with {n} the count). Grouped convolutions are recorded per layer instead.
COUNTED_REWRITES: tuple[tuple[str, Callable[[], Any], str], ...] = (
    ("gelu", exact_gelu_as_erf, "{n} exact GELU(s) traced as 0.5·x·(1+erf(x/√2)) (TF.js has no Erfc)"),
    ("einsum", einsum_as_matmul,
     "{n} einsum(s) traced as transpose + reshape + MatMul (TF.js' wasm backend has no Einsum)"),
    ("cast", bool_casts_as_not_equal,
     "{n} cast(s) to bool traced as x != 0 (TF.js' wasm backend keeps an int's low byte and truncates "
     "a float: 256 and 0.5 become false)"),
    ("where", wide_wheres_as_rank4,
     "{n} where(s) of rank 5 or more traced at rank 4 (TF.js' webgl backend selects up to rank 4)"),
    ("fft", fft2_as_matmul, "{n} 2-D FFT(s) traced as products with DFT matrices (TF.js has no FFT2D)"),
    ("gather", batched_gathers_as_flat,
     "{n} gather(s) with batch dimensions traced as one gather on flattened operands (TF.js' wasm "
     "backend reads out of bounds on them)"),
    ("attention mask", masked_scores_above_minus_1e9,
     f"{{n}} attention mask(s) traced filling masked scores with {MASKED_SCORE:g}, not -2.4e38 (TF.js' "
     "webgl backend starts a max at -1e20: a row all masked would weigh each key 1)"),
    ("sin/cos", sines_as_polynomials,
     "{n} sin/cos traced as a reduction by multiples of π/2 and Taylor polynomials (TF.js' webgl "
     "backend computes them with the GPU's approximations)"),
    ("one hot", one_hots_as_int32,
     "{n} one-hot(s) of floats or bools traced as an int32 one-hot and a cast (TF.js' wasm backend "
     "writes int32 bits into any one-hot: a float 1 reads 1.4e-45)"),
    ("repeat", repeats_as_gathers,
     "{n} repeat(s) traced as a gather along the axis (TF.js webgpu loses its device on the rank-5 "
     "Tile of tf.repeat)"),
    ("tile", wide_tiles_as_gathers,
     "{n} tile(s) of rank 5 or more traced as a gather along each tiled axis (TF.js webgpu loses its "
     "device on a rank-5 Tile)"),
    ("eye", eyes_as_comparisons,
     "{n} identity matrix(es) traced as range(rows)[:, None] == range(columns), cast (TF.js has no "
     "MatrixDiagV3)"),
    ("band part", bool_band_parts_as_int,
     "{n} band part(s) of bool matrices traced on int32 and compared with 0 (TF.js' wasm backend "
     "selects bools wrongly and corrupts its heap)"),
    ("cumsum", cumulative_axes_as_positive,
     "{n} cumsum/cumprod(s) along a negative axis traced along the same axis counted from the front "
     "(TF.js' kernels do not normalise a negative axis)"),
    ("matmul", matmul_batches_broadcast,
     "{n} batched matmul(s) traced with an operand broadcast to the common batch shape (TF.js reads an "
     "operand broadcast along a later batch axis, as multi-query attention's shared keys, from the "
     "wrong batch)"),
)


@dataclass(frozen=True)
class TracedRewrites:
    """What the tracing rewrites changed while a serving function was traced (`tracing_rewrites`):
    the grouped convolutions, and each counted rewrite's count by its metadata class."""

    grouped: list[tuple[Any, str]]
    counts: dict[str, list[int]]

    def entries(self) -> list[dict[str, Any]]:
        """The `metadata.rewrites` entries for what was traced so far."""
        return grouped_conv_rewrites(self.grouped) + [
            {"layer": None, "class": kind, "what": what.format(n=self.counts[kind][0])}
            for kind, _, what in COUNTED_REWRITES if self.counts[kind][0]]


@contextlib.contextmanager
def tracing_rewrites() -> Iterator[TracedRewrites]:
    """While tracing, every rewrite that makes the traced graph one TF.js runs: grouped convolutions
    as depthwise or split convolutions, and each of COUNTED_REWRITES. The conversion and the locator
    (which must trace the same graph to find each layer's nodes) both trace under it."""
    with contextlib.ExitStack() as stack:
        grouped = stack.enter_context(grouped_convs_as_tfjs_ops())
        counts = {kind: stack.enter_context(patch()) for kind, patch, _ in COUNTED_REWRITES}
        yield TracedRewrites(grouped, counts)


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
                              "what": "exact GELU traced as 0.5·x·(1+erf(x/√2)) (TF.js has no Erfc)"})
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


LOOP_OPS = {"While", "StatelessWhile", "Enter", "Exit", "NextIteration", "LoopCond"}


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


ACTIVATIONS = {"Relu", "Relu6", "Elu", "Selu", "Sigmoid", "Tanh", "LeakyRelu"}


FUSED_BASE = {"_FusedMatMul": "MatMul", "_FusedConv2D": "Conv2D",
              "FusedDepthwiseConv2dNative": "DepthwiseConv2dNative"}
FUSION_ATTRS = ("fused_ops", "num_args", "epsilon", "leakyrelu_alpha", "num_host_args", "TArgs")


def unfuse_odd_biases(model_json: Path) -> int:
    """Split fused MatMul/Conv2D nodes whose "bias" is not a 1-D weight into base op + AddV2 (+ activation).

    The converter fuses `x @ W + y` into `_FusedMatMul` even when `y` is another tensor (an RNN
    cell's `h @ U`, shape [batch, units]), and `conv(x) + 3` into `_FusedConv2D` with a scalar
    (MobileNetV3's hard sigmoid); TF.js' cpu backend broadcasts them, the wasm backend refuses
    ("... only supports rank-1 bias"). Returns the nodes split (0: file unchanged).
    """
    manifest = json.loads(model_json.read_text())
    ranks = {w["name"]: len(w["shape"]) for group in manifest.get("weightsManifest", [])
             for w in group["weights"]}
    graphs = _node_lists(manifest)
    split = 0
    for nodes in graphs:
        extra = []
        for node in nodes:
            base = FUSED_BASE.get(node.get("op", ""))
            if base is None:
                continue
            attr = node.get("attr", {})
            listed = attr.get("fused_ops", {}).get("list", {}).get("s", [])
            fused = [base64.b64decode(item).decode() for item in listed]
            data_inputs = [i for i in node.get("input", []) if not i.startswith("^")]
            if (not fused or fused[0] != "BiasAdd" or len(data_inputs) != 3 or len(fused) > 2
                    or ranks.get(data_inputs[2].split(":")[0]) == 1
                    or any(op not in ACTIVATIONS for op in fused[1:])):
                continue
            name = node["name"]
            typed = {k: attr[k] for k in ("T",) if k in attr}
            core = {"name": f"{name}/unfused_{base}", "op": base, "input": data_inputs[:2],
                    "attr": {k: v for k, v in attr.items() if k not in FUSION_ATTRS}}
            add_name = name if len(fused) == 1 else f"{name}/unfused_add"
            add = {"name": add_name, "op": "AddV2", "input": [core["name"], data_inputs[2]], "attr": typed}
            extra.append(core)
            if len(fused) == 1:
                replacement = add
            else:
                extra.append(add)
                replacement = {"name": name, "op": fused[1], "input": [add_name], "attr": dict(typed)}
                if fused[1] == "LeakyRelu" and "leakyrelu_alpha" in attr:
                    replacement["attr"]["alpha"] = attr["leakyrelu_alpha"]
            node.clear()
            node.update(replacement)
            split += 1
        nodes.extend(extra)
    if split:
        model_json.write_text(json.dumps(manifest))
    return split


HARD_SWISH = "_FusedHardSwish"
HARD_SWISH_CONSTANTS = {"hard_swish/three": 3.0, "hard_swish/one_sixth": 1.0 / 6.0}


def _const_node(name: str) -> dict[str, Any]:
    """A float32 scalar Const; TF.js reads its value from the weights manifest under the same name."""
    return {"name": name, "op": "Const",
            "attr": {"value": {"tensor": {"dtype": "DT_FLOAT", "tensorShape": {}}},
                     "dtype": {"type": "DT_FLOAT"}}}


def _add_scalar_weights(manifest: dict[str, Any], folder: Path, values: dict[str, float]) -> None:
    """Put float32 scalars in a weight group and shard file of their own (existing shards untouched)."""
    group = len(manifest.get("weightsManifest", [])) + 1
    shard = f"group{group}-shard1of1.bin"
    (folder / shard).write_bytes(struct.pack(f"<{len(values)}f", *values.values()))
    manifest.setdefault("weightsManifest", []).append(
        {"paths": [shard], "weights": [{"name": name, "shape": [], "dtype": "float32"} for name in values]})


def _fused_ops(node: dict[str, Any]) -> list[str]:
    listed = node.get("attr", {}).get("fused_ops", {}).get("list", {}).get("s", [])
    return [base64.b64decode(item).decode() for item in listed]


def _hard_swish_nodes(name: str, x: str, typed: dict[str, Any]) -> list[dict[str, Any]]:
    """`name` = x · relu6(x + 3) · ⅙, as TF.js ops."""
    three, sixth = HARD_SWISH_CONSTANTS
    return [
        {"name": f"{name}/hard_swish_shift", "op": "AddV2", "input": [x, three], "attr": dict(typed)},
        {"name": f"{name}/hard_swish_gate", "op": "Relu6", "input": [f"{name}/hard_swish_shift"],
         "attr": dict(typed)},
        {"name": f"{name}/hard_swish_scale", "op": "Mul", "input": [f"{name}/hard_swish_gate", sixth],
         "attr": dict(typed)},
        {"name": name, "op": "Mul", "input": [x, f"{name}/hard_swish_scale"], "attr": dict(typed)},
    ]


# fused activations TF.js' wasm backend lacks (it fuses linear, relu, relu6, prelu, leaky relu,
# sigmoid and elu) and every backend has as ops of their own
UNFUSED_ON_WASM = ("Tanh",)


def unfuse_activations(model_json: Path) -> dict[str, int]:
    """Take `_FusedHardSwish` (no TF.js backend has it) and the activations of UNFUSED_ON_WASM out of
    fused convolutions and MatMuls: the base op keeps its bias, the activation follows as plain ops.
    Returns how many nodes were split, by activation ({}: files unchanged)."""
    manifest = json.loads(model_json.read_text())
    split: dict[str, int] = {}
    for nodes in _node_lists(manifest):
        extra = []
        for node in nodes:
            fused = _fused_ops(node)
            if (node.get("op") not in FUSED_BASE or fused[:1] != ["BiasAdd"] or len(fused) != 2
                    or fused[1] not in (HARD_SWISH, *UNFUSED_ON_WASM)):
                continue
            name, activation = node["name"], fused[1]
            node["name"] = f"{name}/unfused_{activation.strip('_').lower()}"
            node["attr"]["fused_ops"]["list"]["s"] = [base64.b64encode(b"BiasAdd").decode()]
            typed = {k: node["attr"][k] for k in ("T",) if k in node["attr"]}
            extra += (_hard_swish_nodes(name, node["name"], typed) if activation == HARD_SWISH
                      else [{"name": name, "op": activation, "input": [node["name"]], "attr": typed}])
            split[activation] = split.get(activation, 0) + 1
        nodes.extend(extra)
    if split.get(HARD_SWISH):
        manifest["modelTopology"]["node"].extend(_const_node(name) for name in HARD_SWISH_CONSTANTS)
        _add_scalar_weights(manifest, model_json.parent, HARD_SWISH_CONSTANTS)
    if split:
        model_json.write_text(json.dumps(manifest))
    return split


def _node_lists(manifest: dict[str, Any]) -> list[list[dict[str, Any]]]:
    """The node lists of a converted graph: the main graph and each function body (loops, conds)."""
    topology = manifest.get("modelTopology", {})
    return [topology.get("node", []),
            *[fn.get("nodeDef", []) for fn in topology.get("library", {}).get("function", [])]]


def strip_control_edges(model_json: Path) -> int:
    """Remove the control-only inputs (`^node`) of a converted graph that holds v1 while loops.

    In an inference graph whose variables are constants, control edges only order side-effect-free
    ops, so the data edges alone compute the same values (see the module docstring). Returns the
    edges removed (0 and the file unchanged for a graph without loops).
    """
    manifest = json.loads(model_json.read_text())
    graphs = _node_lists(manifest)
    if not any(node.get("op") in LOOP_OPS for nodes in graphs for node in nodes):
        return 0
    removed = 0
    for nodes in graphs:
        for node in nodes:
            inputs = node.get("input")
            if inputs:
                kept = [name for name in inputs if not name.startswith("^")]
                removed += len(inputs) - len(kept)
                node["input"] = kept
    if removed:
        model_json.write_text(json.dumps(manifest))
    return removed
