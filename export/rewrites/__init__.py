"""The known gaps between Keras 3 (TensorFlow backend) and TF.js 4.22, and how the exporter closes them.

| gap | rewrite |
| --- | --- |
| exact GELU traces to `Erfc`, which TF.js lacks | trace `0.5·x·(1 + erf(x/√2))` (TF.js has `Erf`)
  (`exact_gelu_as_erf`) |
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

Where each job lives:
- `tracing`: every tracing patch at once (`tracing_rewrites`) and what the metadata says of each;
  the patches themselves, each a context manager that swaps a TensorFlow or Keras function while
  the serving function is traced (`patching.patched`), by kind: `value_patches` (single ops),
  `shape_patches` (broadcasts, gathers, tiles), `product_patches` (einsums, FFTs, grouped
  convolutions);
- `rebuild`: the Keras model before tracing (`unroll_rnns`) and the layers a rewrite concerns;
- `graph`: surgery on the converted model.json (`strip_control_edges`, `unfuse_odd_biases`,
  `unfuse_activations`).
"""
