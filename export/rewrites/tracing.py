"""Every tracing patch at once, and what the metadata says of each: the conversion traces the serving
function under `tracing_rewrites`, and so does the locator (it must trace the same graph to find
each layer's nodes). The table of gaps is export/rewrites/__init__.py's.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from .product_patches import (
    einsum_as_matmul,
    fft2_as_matmul,
    grouped_conv_rewrites,
    grouped_convs_as_tfjs_ops,
)
from .shape_patches import (
    batched_gathers_as_flat,
    matmul_batches_broadcast,
    repeats_as_gathers,
    wide_tiles_as_gathers,
    wide_wheres_as_rank4,
)
from .value_patches import (
    EXACT_GELU_AS_ERF,
    MASKED_SCORE,
    bool_band_parts_as_int,
    bool_casts_as_not_equal,
    cumulative_axes_as_positive,
    exact_gelu_as_erf,
    eyes_as_comparisons,
    masked_scores_above_minus_1e9,
    one_hots_as_int32,
    sines_as_polynomials,
)

# The tracing rewrites that count what they changed: (metadata class, the patch, what one entry
# says, with {n} the count). Grouped convolutions are recorded per layer instead.
COUNTED_REWRITES: tuple[tuple[str, Callable[[], Any], str], ...] = (
    ("gelu", exact_gelu_as_erf, f"{{n}} exact GELU(s) {EXACT_GELU_AS_ERF}"),
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
