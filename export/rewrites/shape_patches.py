"""Tracing patches for broadcasts, gathers and tiles that TF.js gets wrong at high rank or with batch
axes: wheres of rank 5 or more, batched matmuls that broadcast a later batch axis, gathers with
batch dimensions, repeats and wide tiles (a rank-5 Tile loses TF.js webgpu's device). Grouped-query
attention meets most of them. The table of gaps is export/rewrites/__init__.py's.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from .patching import patched


@contextlib.contextmanager
def wide_wheres_as_rank4() -> Iterator[list[int]]:
    """While tracing, compute a three-operand where of rank 5 or more at rank 4: each operand's leading
    axes folded into one, the operands broadcast at rank 4, and the result unfolded.

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

    with patched(where, (tf, "where")):
        yield rewritten


def _leading_axes_folded(tensor: Any, rank: int, shape: Any, static_shape: Any) -> Any:
    """`tensor` (broadcastable to `shape`, of `rank`; `static_shape` what is known of it) with its
    leading rank - 3 axes folded into one, so that it broadcasts to the folded shape at rank 4.

    TF.js broadcasts with a `Tile`, and a rank-5 Tile loses TF.js webgpu's device (Gemma's masked
    scores: a [batch, 1, 1, queries, keys] mask against [batch, 1, heads, queries, keys]). Leading
    axes where `shape` is 1 do not count; of the others, all 1 fold to 1 and all matching `shape`
    fold to their product; a mix of the two has to broadcast first, at full rank.
    """
    import tensorflow as tf

    padded = _with_leading_ones(tf, tensor, rank)
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


def _with_leading_ones(tf: Any, tensor: Any, rank: int) -> Any:
    """`tensor` reshaped to `rank` by axes of size 1 in front (as broadcasting aligns it), or as it is."""
    missing = rank - tensor.shape.rank
    if missing == 0:
        return tensor
    return tf.reshape(tensor, tf.concat([tf.ones([missing], tf.int32), tf.shape(tensor)], axis=0))


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

    with patched(gather, (tf, "gather")):
        yield rewritten


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

    with patched(matmul, (tf, "matmul"), (tf.linalg, "matmul")):
        yield rewritten


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
        tensor = _with_leading_ones(tf, tensor, width + 2)
        for axis, size in enumerate(own):
            if size == 1 and common[axis] != 1:
                tensor = tf.gather(tensor, tf.zeros(tf.reshape(batch[axis], [1]), tf.int32), axis=axis)
        return tensor

    return (broadcast(a, padded[0]) if wrong[0] else a, broadcast(b, padded[1]) if wrong[1] else b)


@contextlib.contextmanager
def repeats_as_gathers() -> Iterator[list[int]]:
    """While tracing, compute `tf.repeat(x, n, axis)` (n a number) as one gather along the axis with
    each index n times (indices computed in the graph where the axis' length is known only then).

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

    with patched(repeat, (tf, "repeat")):
        yield rewritten


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

    with patched(tile, (tf, "tile")):
        yield rewritten
