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
# argument name builds most of them; HUB_CONFIGS gives the classes whose arguments are lists per
# stage. A class that does not build from these is a row that says why.
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
HUB_CONFIGS: dict[str, dict[str, Any]] = {
    "ResNetBackbone": {"input_conv_filters": [64], "input_conv_kernel_sizes": [7],
                       "stackwise_num_filters": [64, 128], "stackwise_num_blocks": [1, 1],
                       "stackwise_num_strides": [1, 2], "block_type": "basic_block",
                       "image_shape": HUB_IMAGE},
    "VGGBackbone": {"stackwise_num_repeats": [1, 1], "stackwise_num_filters": [16, 32],
                    "image_shape": HUB_IMAGE},
    "DenseNetBackbone": {"stackwise_num_repeats": [2, 2], "image_shape": HUB_IMAGE},
    "CSPNetBackbone": {"stem_filters": 16, "stem_kernel_size": 3, "stem_strides": 2,
                       "stackwise_depth": [1, 1], "stackwise_strides": [2, 2],
                       "stackwise_num_filters": [16, 32], "block_type": "dark",
                       "image_shape": HUB_IMAGE},
}


def hub_backbone_names() -> tuple[str, ...]:
    """Every `keras_hub.models.*Backbone` class, by name (the base class `Backbone` left out)."""
    import keras_hub

    return tuple(sorted(name for name in dir(keras_hub.models)
                        if name.endswith("Backbone") and name != "Backbone"))


def hub_config(name: str) -> dict[str, Any]:
    """The small configuration tried for `name`: HUB_CONFIGS', else HUB_SMALL's value for each
    required argument and for each argument HUB_SMALL shrinks (sequence length, image size)."""
    import inspect

    import keras_hub

    if name in HUB_CONFIGS:
        return dict(HUB_CONFIGS[name])
    parameters = inspect.signature(getattr(keras_hub.models, name).__init__).parameters
    config = {}
    for argument, parameter in parameters.items():
        if argument in HUB_SMALL and (parameter.default is inspect.Parameter.empty
                                      or argument in ("max_sequence_length", "image_shape", "dropout")):
            config[argument] = HUB_SMALL[argument]
    return config


def hub_backbone(name: str) -> Any:
    """keras-hub's `name` at its small configuration, random weights, BatchNorm statistics from the
    exporter's inputs. Raises ValueError past HUB_MAX_PARAMETERS."""
    import keras_hub

    _keras()
    model = getattr(keras_hub.models, name)(**hub_config(name))
    if model.count_params() > HUB_MAX_PARAMETERS:
        raise ValueError(f"{model.count_params():,} parameters at the small configuration "
                         f"(more than {HUB_MAX_PARAMETERS:,})")
    set_batchnorm_statistics(model, calibration_batch(model))
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
