"""Tracing patches for single ops TF.js lacks or computes wrongly: each traces the op as others every
TF.js backend computes as TensorFlow does (exact GELU, casts to bool, band parts of bool matrices,
cumulative sums along a negative axis, one-hots, identity matrices, sin and cos, masked attention
scores). The table of gaps is export/rewrites/__init__.py's.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import Any

from .patching import patched

# what the metadata says of an exact GELU, per layer (rebuild.exact_gelu_layers) or counted (tracing)
EXACT_GELU_AS_ERF = "traced as 0.5·x·(1+erf(x/√2)) (TF.js has no Erfc)"


@contextlib.contextmanager
def exact_gelu_as_erf() -> Iterator[list[int]]:
    """While tracing, compute exact GELU as 0.5·x·(1 + erf(x/√2)): Keras traces it with `erfc`, which
    TF.js lacks, and TF.js has `erf`. Yields a one-item list counting the exact GELUs traced.
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

    with patched(gelu, (tf_nn, "gelu")):
        yield traced


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

    with patched(cast, (tf, "cast")):
        yield rewritten


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

    with patched(band_part, (tf.linalg, "band_part")):
        yield rewritten


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

    rewritten = [0]

    def positive_axis(original: Any) -> Any:
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

    # Keras calls tf.math's; tf.cumsum is the same function (TF 2 has no tf.cumprod)
    with (patched(positive_axis(tf.math.cumsum), (tf.math, "cumsum")),
          patched(positive_axis(tf.cumsum), (tf, "cumsum")),
          patched(positive_axis(tf.math.cumprod), (tf.math, "cumprod"))):
        yield rewritten


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

    with patched(one_hot, (tf, "one_hot")):
        yield rewritten


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

    with patched(eye, (tf, "eye"), (tf.linalg, "eye")):
        yield rewritten


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

    def polynomial(which: str) -> Any:
        def function(x: Any, name: Any = None) -> Any:
            x = tf.convert_to_tensor(x)
            if x.dtype != tf.float32:
                return originals[which](x, name=name)
            rewritten[0] += 1
            return _sine(tf, x, which == "cos")

        return function

    with (patched(polynomial("sin"), (tf.math, "sin"), (tf, "sin")),
          patched(polynomial("cos"), (tf.math, "cos"), (tf, "cos"))):
        yield rewritten


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

    with patched(large_negative, (tf_nn, "_get_large_negative")):
        yield rewritten
