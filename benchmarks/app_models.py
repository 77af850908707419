"""Application-size networks for `python -m benchmarks --only apps`: what users bring to the exporter.

Four `keras.applications` networks built with `weights=None` (nothing is downloaded) and one of
ours, a small BERT-like text classifier. A freshly initialised application network is useless as a
proof subject: its BatchNormalization layers hold the initial statistics (mean 0, variance 1) while
the activations they normalise grow or shrink layer after layer, so the pooled features collapse
(MobileNetV2's are ~3e-11) and every input gets the same softmax (1/1000 per class). A parity proof
on constant outputs proves nothing, and the exporter refuses it.

So every builder ends with `prepare`, two steps that make the outputs depend on the input:

1. `set_batchnorm_statistics`: one forward pass in training mode, with every BatchNormalization
   layer's momentum at 0, on a batch drawn as the exporter draws its proof samples
   (`export.generate_samples`: uniform pixels for a Rescaling front end, standard normal floats
   otherwise, valid token ids for an Embedding). Each layer's moving statistics then equal the
   statistics of what it sees, as after training; the momentum is restored afterwards.
2. `sharpen_until_varied`: if the softmax still barely moves across samples (`probability_spread`
   under `LIVELY_SPREAD`), multiply the logits layer's kernel and bias until it does.

`APPS` lists the full-size models with their export-time goals; `SMOKE_APPS` holds one tiny model
so tests can run the section in under a minute. They are not zoo entries (`zoo_models.ZOO`): the zoo
section puts every entry through this exporter and both official routes, timing each in Node.js and
Chromium, which at 224x224 would add many minutes per model; the zoo keeps its 32x32 MobileNetV3Small
and EfficientNetB0 for the layers these networks use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

CALIBRATION_SAMPLES = 16  # images per BatchNorm pass: enough for stable statistics, cheap at 224x224
CALIBRATION_SEED = 1  # not the exporter's seed 0: statistics from the same distribution, other samples
SPREAD_SAMPLES = 8
LIVELY_SPREAD = 0.05  # how far a test network's probabilities must vary: max |p - mean p| over max p
SHARPEN_FACTOR = 4.0
SHARPEN_ROUNDS = 6
# 2.5 GB for the export process itself (the largest process, what `/usr/bin/time -v` reports), every
# model; the whole tree (Node.js and Chromium beside it) is reported too.
GOAL_PEAK_BYTES = 2_500_000_000

BERT_SEQ = 128
BERT_VOCAB = 20_000
BERT_WIDTH = 128  # d_model: with a 20,000-token vocabulary this gives ~3.0M parameters (256 gives 6.7M)
BERT_HEADS = 4
BERT_FFN = 4 * BERT_WIDTH
BERT_BLOCKS = 2


@dataclass(frozen=True)
class App:
    """One benchmarked network: how to build it, and the export-time goal (None: report only)."""

    name: str
    build: Callable[[], Any]
    goal_s: float | None
    note: str = ""


def _keras() -> Any:
    import keras

    keras.utils.set_random_seed(0)
    return keras


# ---------------------------------------------------------------- making the outputs vary


def calibration_batch(model: Any, count: int = CALIBRATION_SAMPLES,
                      seed: int = CALIBRATION_SEED) -> dict[str, np.ndarray]:
    """Inputs drawn exactly as the exporter draws its generated proof samples."""
    from export import generate_samples, input_specs

    arrays, _how = generate_samples(model, input_specs(model), count, seed)
    return arrays


def _as_model_input(model: Any, batch: dict[str, np.ndarray]) -> Any:
    if isinstance(getattr(model, "_inputs_struct", None), dict):  # keras-hub models take a dict
        return batch
    values = list(batch.values())
    return values[0] if len(model.inputs) == 1 else values


def set_batchnorm_statistics(model: Any, batch: dict[str, np.ndarray]) -> int:
    """Moving mean and variance of every BatchNormalization layer from one training-mode pass over
    `batch` (momentum 0, then restored); returns how many layers were set."""
    import keras

    layers = [layer for layer in model._flatten_layers(include_self=False)
              if isinstance(layer, keras.layers.BatchNormalization)]
    momenta = [layer.momentum for layer in layers]
    for layer in layers:
        layer.momentum = 0.0
    try:
        model(_as_model_input(model, batch), training=True)
    finally:
        for layer, momentum in zip(layers, momenta, strict=True):
            layer.momentum = momentum
    return len(layers)


def probability_spread(model: Any, batch: dict[str, np.ndarray]) -> float:
    """How much the output moves across samples: max |p - mean p| over samples and classes,
    relative to max p (0 for a constant output)."""
    probs = np.asarray(model(_as_model_input(model, batch), training=False), dtype=np.float64)
    peak = float(np.abs(probs).max())
    if peak == 0.0:
        return 0.0
    return float(np.abs(probs - probs.mean(axis=0, keepdims=True)).max() / peak)


def _logits_layer(model: Any) -> Any:
    """The last layer with a kernel: the Dense or 1x1 Conv2D whose output the softmax reads."""
    with_kernel = [layer for layer in model.layers if getattr(layer, "kernel", None) is not None]
    return with_kernel[-1]


def sharpen_until_varied(model: Any, batch: dict[str, np.ndarray]) -> float:
    """Scale the logits (kernel and bias) by SHARPEN_FACTOR until the softmax varies across samples;
    returns the total factor (1.0 when it already did). Raises if it never does: such a model would
    only test the exporter's refusal of constant outputs."""
    layer = _logits_layer(model)
    factor = 1.0
    for _ in range(SHARPEN_ROUNDS):
        if probability_spread(model, batch) >= LIVELY_SPREAD:
            return factor
        layer.set_weights([w * SHARPEN_FACTOR for w in layer.get_weights()])
        factor *= SHARPEN_FACTOR
    spread = probability_spread(model, batch)
    if spread < LIVELY_SPREAD:
        raise RuntimeError(f"{model.name}: softmax spread {spread:.1e} across samples even with logits "
                           f"x{factor:g}; the model outputs (nearly) a constant")
    return factor


def prepare(model: Any) -> Any:
    """BatchNorm statistics from the exporter's input distribution, then logits sharp enough that
    the outputs differ across samples."""
    batch = calibration_batch(model)
    set_batchnorm_statistics(model, batch)
    sharpen_until_varied(model, {k: v[:SPREAD_SAMPLES] for k, v in batch.items()})
    return model


# ---------------------------------------------------------------- the networks


def mobilenet_v2(size: int = 224, alpha: float = 1.0, classes: int = 1000) -> Any:
    """No preprocessing layer: the exporter draws standard normal pixels."""
    keras = _keras()
    return prepare(keras.applications.MobileNetV2(input_shape=(size, size, 3), alpha=alpha, classes=classes,
                                                  weights=None))


def mobilenet_v3_small(size: int = 224, alpha: float = 1.0) -> Any:
    """Its Rescaling(1/127.5, offset -1) front end: the exporter draws pixels uniform in 0..127.5."""
    keras = _keras()
    return prepare(keras.applications.MobileNetV3Small(input_shape=(size, size, 3), alpha=alpha,
                                                       weights=None))


def efficientnet_b0() -> Any:
    """Rescaling(1/255) and an (unadapted) Normalization in front: pixels uniform in 0..255."""
    keras = _keras()
    return prepare(keras.applications.EfficientNetB0(weights=None))


def resnet50() -> Any:
    """The largest (25.6M parameters, ~100 MB of float32 weights): the shard and memory test."""
    keras = _keras()
    return prepare(keras.applications.ResNet50(weights=None))


def _transformer_block(keras: Any, x: Any, index: int) -> Any:
    """Post-norm encoder block: self-attention, then an exact-GELU feed-forward, each with a residual."""
    attended = keras.layers.MultiHeadAttention(BERT_HEADS, BERT_WIDTH // BERT_HEADS,
                                               name=f"attention_{index}")(x, x)
    x = keras.layers.LayerNormalization(name=f"attention_norm_{index}")(keras.layers.Add()([x, attended]))
    hidden = keras.layers.Dense(BERT_FFN, activation="gelu", name=f"ffn_in_{index}")(x)
    hidden = keras.layers.Dense(BERT_WIDTH, name=f"ffn_out_{index}")(hidden)
    return keras.layers.LayerNormalization(name=f"ffn_norm_{index}")(keras.layers.Add()([x, hidden]))


def bert_classifier() -> Any:
    """Token + position embeddings, two encoder blocks, mean pool, 2-class softmax; int32 tokens.

    The position ids come from the token tensor (cumulative sum of ones), so the model needs no
    custom layer and loads anywhere: `keras.ops` calls serialize in a functional model.
    """
    keras = _keras()
    tokens = keras.Input((BERT_SEQ,), dtype="int32", name="tokens")
    positions = keras.ops.cumsum(keras.ops.ones_like(tokens), axis=1) - 1
    x = keras.layers.Add(name="embeddings")([
        keras.layers.Embedding(BERT_VOCAB, BERT_WIDTH, name="token_embedding")(tokens),
        keras.layers.Embedding(BERT_SEQ, BERT_WIDTH, name="position_embedding")(positions)])
    for index in range(BERT_BLOCKS):
        x = _transformer_block(keras, x, index)
    x = keras.layers.GlobalAveragePooling1D(name="mean_pool")(x)
    probs = keras.layers.Dense(2, activation="softmax", name="probs")(x)
    return prepare(keras.Model(tokens, probs, name="bert_like_classifier"))


def smoke_mobilenet() -> Any:
    """MobileNetV2 at alpha 0.35 on 96x96 images with 10 classes: the same code path, and every
    backend through most of its samples within its time budget, so the export's time is mostly
    fixed costs (TensorFlow, the converter, Node.js, Chromium). At 32x32 its logits needed so much
    sharpening to vary that float32 runtimes landed at 1e-4 of the scale, the threshold itself."""
    return mobilenet_v2(size=96, alpha=0.35, classes=10)


APPS: tuple[App, ...] = (
    App("MobileNetV2 224", mobilenet_v2, goal_s=90),
    App("MobileNetV3Small 224", mobilenet_v3_small, goal_s=None),
    App("EfficientNetB0", efficientnet_b0, goal_s=120),
    App("ResNet50", resnet50, goal_s=240),
    App("BERT-like classifier", bert_classifier, goal_s=120,
        note=f"{BERT_BLOCKS} blocks, seq {BERT_SEQ}, vocab {BERT_VOCAB:,}, d_model {BERT_WIDTH}, "
             f"{BERT_HEADS} heads, exact GELU"),
)
SMOKE_APPS: tuple[App, ...] = (
    App("MobileNetV2 96 (alpha 0.35, 10 classes)", smoke_mobilenet, goal_s=None, note="smoke run only"),
)


# ---------------------------------------------------------------- the catalogue

# Every keras.applications architecture up to 30M parameters, as a user brings it: random weights,
# its own preprocessing layers, pooled features as the output (no softmax to hide a divergence).
CATALOGUE_NAMES = (
    "MobileNet", "MobileNetV2", "MobileNetV3Small", "MobileNetV3Large", "NASNetMobile", "Xception",
    "InceptionV3", "ResNet50", "ResNet50V2", "DenseNet121", "DenseNet169", "DenseNet201",
    "EfficientNetB0", "EfficientNetB1", "EfficientNetB2", "EfficientNetB3", "EfficientNetB4",
    "EfficientNetV2B0", "EfficientNetV2B1", "EfficientNetV2B2", "EfficientNetV2B3", "EfficientNetV2S",
    "ConvNeXtTiny",
)
CATALOGUE_GOAL_S = 240
# Each network's own default image size (keras.applications' documented one); 224 for the rest.
CATALOGUE_SIZES = {"Xception": 299, "InceptionV3": 299, "EfficientNetB1": 240, "EfficientNetB2": 260,
                   "EfficientNetB3": 300, "EfficientNetB4": 380, "EfficientNetV2B1": 240,
                   "EfficientNetV2B2": 260, "EfficientNetV2B3": 300, "EfficientNetV2S": 384}


def pooled_application(name: str) -> Any:
    """`keras.applications.<name>` at its own image size, `weights=None`, global-average-pooled
    features out, BatchNorm statistics from the exporter's input distribution."""
    keras = _keras()
    size = CATALOGUE_SIZES.get(name, 224)
    model = getattr(keras.applications, name)(weights=None, include_top=False, pooling="avg",
                                              input_shape=(size, size, 3))
    set_batchnorm_statistics(model, calibration_batch(model))
    return model


def catalogue(names: tuple[str, ...] = CATALOGUE_NAMES) -> tuple[App, ...]:
    """The catalogue's rows, in the order given; names not in keras.applications raise ValueError."""
    unknown = [name for name in names if name not in CATALOGUE_NAMES]
    if unknown:
        raise ValueError(f"not in the catalogue: {', '.join(unknown)} "
                         f"(choose from {', '.join(CATALOGUE_NAMES)})")
    return tuple(App(name, lambda name=name: pooled_application(name), goal_s=CATALOGUE_GOAL_S,
                     note="pooled features") for name in names)


# ---------------------------------------------------------------- the keras-hub catalogue

# Every keras-hub backbone class at a small random configuration (`python -m benchmarks --only apps
# --hub`): keras-hub names its constructor arguments consistently, so one table of small values by
# argument name builds most of them; HUB_CONFIGS adds what a class needs beyond it (lists per stage,
# and for a composite a function that builds its sub-models). A class that does not build from these
# is a row that says why.
HUB_MAX_PARAMETERS = 10_000_000
HUB_GOAL_S = 240
HUB_IMAGE = (64, 64, 3)
HUB_SMALL: dict[str, Any] = {
    "vocabulary_size": 1000, "num_layers": 2, "num_heads": 2, "num_query_heads": 2,
    "num_key_value_heads": 1, "hidden_dim": 64, "intermediate_dim": 128, "mlp_dim": 128,
    "max_sequence_length": 64, "head_dim": 32, "embedding_dim": 64, "num_segments": 2,
    "image_shape": HUB_IMAGE, "patch_size": 16, "num_experts": 2, "top_k": 1,
    "num_experts_per_tok": 1, "moe_intermediate_dim": 64, "dropout": 0.0,
    # the same meanings under other names
    "vocab_size": 1000, "num_attention_heads": 2, "hidden_size": 64, "head_size": 32,
    "shared_expert_intermediate_dim": 64, "shared_expert_intermediate_size": 64, "image_size": 64,
}
HUB_ALWAYS = ("max_sequence_length", "image_shape", "dropout")  # given even where they have a default
HUB_ABSTRACT = {"FeaturePyramidBackbone": "the image backbones with pyramid outputs derive from it"}
# Classes that build but that the exporter's generated samples cannot run: why, for their row.
HUB_UNRUNNABLE = {
    "MoonshineBackbone": "its audio convolutions (kernel 127 stride 64, then 7/3 and 3/2) need ~900 samples "
                         "of encoder_input_values, generated with the dynamic length 16",
    "SAM3PromptableConceptBackbone": "boxes[..., 0] is each box's batch index (ROI align gathers with it), "
                                     "which normally drawn floats are not",
}


def _stages(*values: Any) -> list[list[Any]]:
    """One value per block of MobileNet's two one-block stages."""
    return [[value] for value in values]


def _mobilenetv5_stages(arch_def: list[list[str]]) -> dict[str, Any]:
    """MobileNetV5's stackwise arguments from timm-style block strings (its builder's own decoder)."""
    from keras_hub.src.models.mobilenetv5.mobilenetv5_builder import convert_arch_def_to_stackwise

    return convert_arch_def_to_stackwise(arch_def)


# A ResNet with pyramid levels P2 to P5; bottleneck blocks (x4 wide) give its first stage a shortcut
# convolution, so the stem can be narrower than that stage (whose filters ResNet requires to be 64).
_RESNET4 = {"input_conv_filters": [8], "stackwise_num_filters": [64, 16, 16, 16],
            "stackwise_num_blocks": [1] * 4, "stackwise_num_strides": [1, 2, 2, 2],
            "block_type": "bottleneck_block"}
_SMOLLM3 = {"attention_bias": False, "attention_dropout": 0.0, "rope_layer_enabled_list": [True, False],
            "layer_types": ["attention"] * 2, "mlp_bias": False, "layer_norm_epsilon": 1e-5,
            "max_position_embeddings": 64, "rope_theta": 10000.0, "partial_rotary_factor": 1.0}
_T5GEMMA = {**{f"{side}_{argument}": value for side in ("encoder", "decoder") for argument, value in (
    ("hidden_dim", 64), ("intermediate_dim", 128), ("num_layers", 2), ("num_attention_heads", 2),
    ("num_key_value_heads", 1), ("head_dim", 32), ("layer_types", ["sliding_attention", "full_attention"]))},
    "sliding_window": 16}

HUB_CONFIGS: dict[str, dict[str, Any] | Callable[[], dict[str, Any]]] = {
    # ---- image backbones: lists per stage
    "ResNetBackbone": {"input_conv_filters": [64], "input_conv_kernel_sizes": [7],
                       "stackwise_num_filters": [64, 128], "stackwise_num_blocks": [1, 1],
                       "stackwise_num_strides": [1, 2], "block_type": "basic_block"},
    "VGGBackbone": {"stackwise_num_repeats": [1, 1], "stackwise_num_filters": [16, 32]},
    "DenseNetBackbone": {"stackwise_num_repeats": [2, 2]},
    "CSPNetBackbone": {"stem_filters": 16, "stem_kernel_size": 3, "stem_strides": 2,
                       "stackwise_depth": [1, 1], "stackwise_strides": [2, 2],
                       "stackwise_num_filters": [16, 32], "block_type": "dark_block", "stage_type": "dark"},
    "SwinTransformerBackbone": {"embed_dim": 16, "depths": [1, 1], "num_heads": [1, 2], "window_size": 4},
    "MiTBackbone": {"layerwise_depths": [1, 1], "layerwise_num_heads": [1, 2], "layerwise_sr_ratios": [4, 2],
                    "max_drop_path_rate": 0.0, "layerwise_patch_sizes": [7, 3], "layerwise_strides": [4, 2],
                    "hidden_dims": [16, 32]},
    "MobileNetBackbone": {"stackwise_expansion": _stages(4, 4), "stackwise_num_blocks": [1, 1],
                          "stackwise_num_filters": _stages(16, 24), "stackwise_kernel_size": _stages(3, 5),
                          "stackwise_num_strides": _stages(2, 2), "stackwise_se_ratio": _stages(None, 0.25),
                          "stackwise_activation": _stages("relu", "hard_swish"),
                          "stackwise_padding": _stages(1, 2), "output_num_filters": 64,
                          "depthwise_filters": 8, "depthwise_stride": 2, "depthwise_residual": False,
                          "last_layer_filter": 64},
    "MobileNetV5Backbone": lambda: {**_mobilenetv5_stages(
        [["er_r1_k3_s2_e4_c16"], ["uir_r1_a3_k5_s2_e4_c32", "mqa_r1_h2_d16_v2_s1_c32"]]),
        "stem_size": 8, "num_features": 64, "msfa_output_resolution": 8},
    "XceptionBackbone": {"stackwise_conv_filters": [[16, 32], [32, 64]], "stackwise_pooling": [True, False]},
    "EfficientNetBackbone": {"stackwise_width_coefficients": [1.0, 1.0],
                             "stackwise_depth_coefficients": [1.0, 1.0], "stackwise_kernel_sizes": [3, 3],
                             "stackwise_num_repeats": [1, 1], "stackwise_input_filters": [16, 16],
                             "stackwise_output_filters": [16, 24], "stackwise_expansion_ratios": [1, 4],
                             "stackwise_squeeze_and_excite_ratios": [0.0, 0.25], "stackwise_strides": [1, 2],
                             "stackwise_block_types": ["fused", "unfused"],
                             # (not image_shape); num_features stays 1280: keras-hub's config leaves it
                             # out, so a .keras file saved with another would not load
                             "input_shape": HUB_IMAGE},
    "HGNetV2Backbone": {"depths": [1, 1], "embedding_size": 16, "hidden_sizes": [32, 64],
                        "stem_channels": [3, 8, 16], "hidden_act": "relu",
                        "use_learnable_affine_block": False,
                        # (in, mid, out, blocks, layers, kernel) per stage
                        "stackwise_stage_filters": [(16, 8, 32, 1, 1, 3), (32, 16, 64, 1, 1, 3)],
                        "apply_downsample": [False, True], "use_lightweight_conv_block": [False, False]},
    "ViTDetBackbone": {"global_attention_layer_indices": [1], "window_size": 2, "num_output_channels": 32},
    "VideoPrismBackbone": {"num_frames": 2, "num_spatial_layers": 1, "num_temporal_layers": 1,
                           "num_auxiliary_layers": 0},  # video only (vocabulary_size 0: no text tower)
    # ---- language and sequence models
    "SmolLM3Backbone": _SMOLLM3,
    "SmolLMBackbone": _SMOLLM3,  # the same class under a second name
    "PaliGemmaBackbone": {"vit_patch_size": 16, "vit_num_heads": 2, "vit_hidden_dim": 64, "vit_num_layers": 1,
                          "vit_intermediate_dim": 128},
    "T5GemmaBackbone": _T5GEMMA,
    "T5Gemma2Backbone": _T5GEMMA,  # text only (no vision_encoder)
    "Gemma3nBackbone": {"text_vocab_size": 1000, "text_hidden_size": 64, "num_hidden_layers": 2,
                        "pad_token_id": 0, "num_attention_heads": 2, "num_key_value_heads": 1, "head_dim": 32,
                        "intermediate_size": [128, 128], "hidden_activation": "gelu_approximate",
                        "layer_types": ["sliding_attention", "full_attention"], "sliding_window": 16,
                        "rope_theta": 10000.0, "max_position_embeddings": 64,
                        "vocab_size_per_layer_input": 1000, "hidden_size_per_layer_input": 8,
                        "altup_num_inputs": 2, "laurel_rank": 4},  # text only: no vision or audio encoder
    "EdRecBackbone": {"num_layers_enc": 1, "num_layers_dec": 1},
    "MoonshineBackbone": {"filter_dim": 32, "encoder_num_layers": 1, "decoder_num_layers": 1,
                          "encoder_num_heads": 2, "decoder_num_heads": 2, "max_position_embeddings": 64},
    # their default top_k (4) exceeds HUB_SMALL's 2 experts: tf.math.top_k fails in the forward pass
    "QwenMoeBackbone": {"top_k": 1},
    "Qwen3MoeBackbone": {"top_k": 1},
    # 16 latent image tokens of 4 channels and 8 text tokens of 32, with 3-axis position ids (the
    # axes_dim sum to the 32-wide heads)
    "FluxBackbone": {"input_channels": 4, "mlp_ratio": 2.0, "depth": 1, "depth_single_blocks": 1,
                     "axes_dim": [8, 12, 12], "theta": 10_000, "use_bias": True, "image_shape": (16, 4),
                     "image_ids_shape": (16, 3), "text_shape": (8, 32), "text_ids_shape": (8, 3),
                     "y_shape": (32,)},
    # ---- composites: sub-models built when the row is
    "CLIPBackbone": lambda: {"vision_encoder": _part("clip.clip_vision_encoder.CLIPVisionEncoder"),
                             "text_encoder": _part("clip.clip_text_encoder.CLIPTextEncoder"),
                             "projection_dim": 32},
    "SigLIPBackbone": lambda: {"vision_encoder": _part("siglip.siglip_vision_encoder.SigLIPVisionEncoder"),
                               # its token_ids are (batch, None) but must be max_sequence_length long:
                               # the exporter's samples make a dynamic length 16
                               "text_encoder": _part("siglip.siglip_text_encoder.SigLIPTextEncoder",
                                                     max_sequence_length=16)},
    "MetaCLIP2Backbone": lambda: {
        "vision_encoder": _part("metaclip_2.metaclip_2_vision_encoder.MetaCLIP2VisionEncoder"),
        "text_encoder": _part("metaclip_2.metaclip_2_text_encoder.MetaCLIP2TextEncoder"),
        "projection_dim": 32},
    "BLIP2Backbone": lambda: {  # vision encoder -> 4 Q-Former query tokens -> OPT language model
        "vision_encoder": _part("blip2.blip2_vision_encoder.BLIP2VisionEncoder", use_patch_bias=True,
                                use_class_token=True, use_mha_bias=True, use_mlp_bias=True, dropout_rate=0.0,
                                layer_norm_epsilon=1e-6, initializer_range=0.02),
        "qformer": _part("blip2.blip2_qformer.BLIP2QFormer", num_query_tokens=4, vision_dim=64,
                         cross_attention_frequency=1, layer_norm_epsilon=1e-6),
        "language_model": _part("blip2.blip2_custom_opt.BLIP2CustomOPT", num_query_tokens=4,
                                qformer_hidden_dim=64)},
    "PARSeqBackbone": lambda: {"image_encoder": _part("ViTBackbone"), "max_label_length": 16,
                               "decoder_hidden_dim": 64, "num_decoder_layers": 1, "num_decoder_heads": 2,
                               "decoder_mlp_dim": 128, "dropout_rate": 0.0, "attention_dropout": 0.0},
    "SAMBackbone": lambda: {  # a 4x4 grid of 64-wide image embeddings (64x64 images, 16x16 patches)
        "image_encoder": _part("ViTDetBackbone", num_output_channels=64),
        "prompt_encoder": _part("sam.sam_prompt_encoder.SAMPromptEncoder", hidden_size=64,
                                image_embedding_size=(4, 4), input_image_size=HUB_IMAGE[:2]),
        "mask_decoder": _part("sam.sam_mask_decoder.SAMMaskDecoder", embedding_dim=64,
                              iou_head_hidden_dim=64)},
    "SAM3PromptableConceptBackbone": lambda: {  # its own example's proportions at 64x64, 8x8 patches
        "vision_encoder": _part("sam3.sam3_vision_encoder.SAM3VisionEncoder", patch_size=8, hidden_dim=32,
                                fpn_hidden_dim=32, fpn_scale_factors=[4.0, 2.0, 1.0, 0.5],
                                pretrain_image_shape=(32, 32, 3), window_size=2, global_attn_indexes=[1]),
        "text_encoder": _part("sam3.sam3_text_encoder.SAM3TextEncoder", embedding_dim=32, hidden_dim=32),
        "geometry_encoder": _part("sam3.sam3_geometry_encoder.SAM3GeometryEncoder", hidden_dim=32,
                                  roi_size=7),
        "detr_encoder": _part("sam3.sam3_detr_encoder.SAM3DetrEncoder", hidden_dim=32),
        "detr_decoder": _part("sam3.sam3_detr_decoder.SAM3DetrDecoder", patch_size=8, hidden_dim=32,
                              num_queries=16),
        "mask_decoder": _part("sam3.sam3_mask_decoder.SAM3MaskDecoder", num_upsampling_stages=3,
                              hidden_dim=32)},
    "DeepLabV3Backbone": lambda: {"image_encoder": _part("ResNetBackbone"),  # pyramid P2, P3
                                  "spatial_pyramid_pooling_key": "P3", "low_level_feature_key": "P2",
                                  "upsampling_size": 2, "dilation_rates": [2, 4], "projection_filters": 16},
    "SegFormerBackbone": lambda: {"image_encoder": _part("MiTBackbone"), "projection_filters": 32},
    # BASNet feeds ResNet's stages from a stem of its own, projection_filters wide: as wide as ResNet's;
    # it requires an image_encoder of unknown image size
    "BASNetBackbone": lambda: {
        "image_encoder": _part("ResNetBackbone", **_RESNET4, image_shape=(None, None, 3)),
        "num_classes": 1, "projection_filters": 8},
    "RetinaNetBackbone": lambda: {"image_encoder": _part("ResNetBackbone", **_RESNET4), "min_level": 3,
                                  "max_level": 5, "use_p5": False},
    "DepthAnythingBackbone": lambda: {  # an 8x8 patch grid: its factor 0.5 reassembles it to 4x4
        "image_encoder": _part("DINOV2Backbone", num_layers=4, patch_size=8),
        "reassemble_factors": [4, 2, 1, 0.5], "neck_hidden_dims": [8, 16, 32, 64], "fusion_hidden_dim": 32,
        "head_hidden_dim": 8, "head_in_index": -1, "feature_keys": ["stage1", "stage2", "stage3", "stage4"]},
    "DFineBackbone": lambda: {  # on HGNetV2's two stages (strides 4 and 8 at 64x64: 16x16 and 8x8 maps)
        "backbone": _part("HGNetV2Backbone", out_features=["stage1", "stage2"]),
        "out_features": ["stage1", "stage2"], "encoder_in_channels": [32, 64], "feat_strides": [4, 8],
        "num_feature_levels": 2, "decoder_in_channels": [32, 32], "encoder_hidden_dim": 32, "hidden_dim": 32,
        "num_labels": 8, "num_denoising": 0, "learn_initial_query": False, "num_queries": 16,
        "anchor_image_size": HUB_IMAGE[:2], "encode_proj_layers": [1], "num_attention_heads": 2,
        "encoder_ffn_dim": 64, "num_encoder_layers": 1, "hidden_expansion": 0.5, "depth_multiplier": 0.5,
        "eval_idx": -1, "num_decoder_layers": 1, "decoder_attention_heads": 2, "decoder_ffn_dim": 64,
        "decoder_n_points": [2, 2], "lqe_hidden_dim": 16, "num_lqe_layers": 2, "seed": 0},
    "StableDiffusion3Backbone": lambda: {  # no T5; the VAE's GroupNormalization takes 32 groups
        "mmdit_patch_size": 2, "mmdit_hidden_dim": 64, "mmdit_num_layers": 1, "mmdit_num_heads": 2,
        "mmdit_position_size": 8, "mmdit_qk_norm": None, "mmdit_dual_attention_indices": None,
        "vae": _part("vae.vae_backbone.VAEBackbone", encoder_num_filters=[32] * 4, encoder_num_blocks=[1] * 4,
                     decoder_num_filters=[32] * 4, decoder_num_blocks=[1] * 4),
        # SD3 reads each CLIP's "intermediate_output" beside its "sequence_output"
        "clip_l": _part("clip.clip_text_encoder.CLIPTextEncoder", intermediate_output_index=0),
        "clip_g": _part("clip.clip_text_encoder.CLIPTextEncoder", intermediate_output_index=0)},
}


def hub_backbone_names() -> tuple[str, ...]:
    """Every `keras_hub.models.*Backbone` class, by name (the base class `Backbone` left out)."""
    import keras_hub

    return tuple(sorted(name for name in dir(keras_hub.models)
                        if name.endswith("Backbone") and name != "Backbone"))


def _small_arguments(cls: type) -> dict[str, Any]:
    """HUB_SMALL's value for each argument of `cls` that is required or in HUB_ALWAYS."""
    import inspect

    return {argument: HUB_SMALL[argument]
            for argument, parameter in inspect.signature(cls.__init__).parameters.items()
            if argument in HUB_SMALL and (parameter.default is inspect.Parameter.empty
                                          or argument in HUB_ALWAYS)}


def hub_config(name: str) -> dict[str, Any]:
    """The small configuration tried for `name`: HUB_SMALL's value for each required argument and
    for each argument HUB_SMALL shrinks (sequence length, image size), then HUB_CONFIGS' (a dict, or
    a function that builds the sub-models a composite takes)."""
    import keras_hub

    given = HUB_CONFIGS.get(name, {})
    return _small_arguments(getattr(keras_hub.models, name)) | (given() if callable(given) else given)


def _part(name: str, **overrides: Any) -> Any:
    """A sub-model for a composite backbone: a `keras_hub.models` backbone at `hub_config(name)`,
    or the class at keras_hub.src.models.`name` ("clip.clip_text_encoder.CLIPTextEncoder") at
    HUB_SMALL's values; `overrides` win."""
    import importlib

    import keras_hub

    if hasattr(keras_hub.models, name):
        return getattr(keras_hub.models, name)(**(hub_config(name) | overrides))
    module, _, class_name = name.rpartition(".")
    cls = getattr(importlib.import_module(f"keras_hub.src.models.{module}"), class_name)
    return cls(**(_small_arguments(cls) | overrides))


def randomize_zero_kernels(model: Any, seed: int = 0) -> None:
    """Give the kernels a model initializes to zeros (D-FINE's box heads) small random values: an
    output behind a zero kernel is a constant, which the exporter rightly refuses to prove on."""
    import numpy as np

    rng = np.random.default_rng(seed)
    for weight in model.weights:
        value = np.asarray(weight)
        if value.ndim >= 2 and value.dtype.kind == "f" and not value.any():
            weight.assign(rng.normal(0.0, 0.02, value.shape).astype(value.dtype))


def hub_backbone(name: str) -> Any:
    """keras-hub's `name` at its small configuration, random weights (none all zero), BatchNorm
    statistics from the exporter's inputs. Raises ValueError past HUB_MAX_PARAMETERS, for an
    abstract class, and where generated inputs cannot run a class known for it (HUB_UNRUNNABLE)."""
    import keras_hub

    if name in HUB_ABSTRACT:
        raise ValueError(f"an abstract base class ({HUB_ABSTRACT[name]}): nothing to build")
    _keras()
    model = getattr(keras_hub.models, name)(**hub_config(name))
    if model.count_params() > HUB_MAX_PARAMETERS:
        raise ValueError(f"{model.count_params():,} parameters at the small configuration "
                         f"(more than {HUB_MAX_PARAMETERS:,})")
    randomize_zero_kernels(model)
    try:
        set_batchnorm_statistics(model, calibration_batch(model))
    except Exception as exc:
        if name in HUB_UNRUNNABLE:
            raise ValueError(f"generated samples cannot run it: {HUB_UNRUNNABLE[name]}") from exc
        raise
    return model


def hub_catalogue(names: tuple[str, ...] | None = None) -> tuple[App, ...]:
    """The keras-hub catalogue's rows (every backbone class, or those named)."""
    known = hub_backbone_names()
    chosen = names or known
    unknown = [name for name in chosen if name not in known]
    if unknown:
        raise ValueError(f"not a keras-hub backbone: {', '.join(unknown)} (choose from {', '.join(known)})")
    return tuple(App(name, lambda name=name: hub_backbone(name), goal_s=HUB_GOAL_S,
                     note="keras-hub, small random configuration") for name in chosen)
