"""A zoo of small Keras 3 models of standard layers, to show what `python -m export` takes.

Each builder returns a built `keras.Model` with seeded, non-degenerate weights: BatchNorm gets
random statistics and softmax heads are sharpened so their outputs are far from uniform (an
argmax comparison on near-uniform outputs would prove nothing). `ZOO` maps name → Entry(build,
fast, expect); `expect` is "ok" or "refused" (what the exporter is expected to do with it).

`tests/test_export_models.py` exports the fast ones; `python -m benchmarks --only zoo` runs every one
through this exporter and the official converter's routes (benchmarks/zoo.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

SEQ = 8


@dataclass(frozen=True)
class Entry:
    build: Callable[[], Any]
    fast: bool = True
    expect: str = "ok"  # "ok" or "refused"
    note: str = ""


def _keras() -> Any:
    import keras

    return keras


def _finish(model: Any, seed: int = 0, sharpen: float = 4.0) -> Any:
    """Random BatchNorm statistics; sharpened softmax heads (logits times `sharpen`)."""
    import numpy as np

    keras = _keras()
    rng = np.random.default_rng(seed)
    for layer in model._flatten_layers(include_self=False):
        if isinstance(layer, keras.layers.BatchNormalization):
            weights = layer.get_weights()
            shapes = [w.shape for w in weights]
            layer.set_weights([rng.uniform(0.5, 1.5, s).astype("float32") if i in (0, 3) else
                               rng.normal(0, 0.3, s).astype("float32") for i, s in enumerate(shapes)])
        if isinstance(layer, keras.layers.Dense) and getattr(layer.activation, "__name__", "") == "softmax":
            kernel, *rest = layer.get_weights()
            layer.set_weights([kernel * sharpen, *rest])
    return model


def _seed() -> Any:
    keras = _keras()
    keras.utils.set_random_seed(0)
    return keras


def dense_gelu_layernorm() -> Any:
    keras = _seed()
    x_in = keras.Input((16,), name="features")
    x = keras.layers.Dense(32, activation="gelu")(x_in)  # exact GELU (Erfc)
    x = keras.layers.LayerNormalization()(x)
    x = keras.layers.Dense(32, activation=keras.activations.gelu)(x)
    out = keras.layers.Dense(5, activation="softmax", name="probs")(x)
    return _finish(keras.Model(x_in, out, name="dense_gelu_layernorm"))


def embedding_lstm() -> Any:
    keras = _seed()
    tokens = keras.Input((SEQ,), dtype="int32", name="tokens")
    x = keras.layers.Embedding(50, 16)(tokens)
    x = keras.layers.LSTM(16)(x)
    out = keras.layers.Dense(4, activation="softmax", name="probs")(x)
    return _finish(keras.Model(tokens, out, name="embedding_lstm"))


def lstm_sequence() -> Any:
    keras = _seed()
    seq = keras.Input((SEQ, 6), name="series")
    x = keras.layers.LSTM(12, return_sequences=True)(seq)
    out = keras.layers.Dense(2, name="forecast")(x)
    return _finish(keras.Model(seq, out, name="lstm_sequence"))


def simple_rnn() -> Any:
    keras = _seed()
    seq = keras.Input((SEQ, 5), name="series")
    x = keras.layers.SimpleRNN(10)(seq)
    out = keras.layers.Dense(3, activation="softmax", name="probs")(x)
    return _finish(keras.Model(seq, out, name="simple_rnn"))


def bidirectional_gru() -> Any:
    keras = _seed()
    seq = keras.Input((SEQ, 6), name="series")
    x = keras.layers.Bidirectional(keras.layers.GRU(8))(seq)
    out = keras.layers.Dense(3, activation="softmax", name="probs")(x)
    return _finish(keras.Model(seq, out, name="bidirectional_gru"))


def masked_gru() -> Any:
    keras = _seed()
    tokens = keras.Input((SEQ,), dtype="int32", name="tokens")
    x = keras.layers.Embedding(40, 12, mask_zero=True)(tokens)
    x = keras.layers.GRU(12)(x)
    out = keras.layers.Dense(3, activation="softmax", name="probs")(x)
    return _finish(keras.Model(tokens, out, name="masked_gru"))


def cnn_batchnorm_depthwise() -> Any:
    keras = _seed()
    image = keras.Input((20, 20, 3), name="image")
    x = keras.layers.Conv2D(8, 3, padding="same")(image)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.ReLU()(x)
    x = keras.layers.DepthwiseConv2D(3, padding="same")(x)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    out = keras.layers.Dense(6, activation="softmax", name="probs")(x)
    return _finish(keras.Model(image, out, name="cnn_batchnorm_depthwise"))


def attention_block() -> Any:
    keras = _seed()
    seq = keras.Input((10, 16), name="tokens")
    x = keras.layers.MultiHeadAttention(num_heads=2, key_dim=8)(seq, seq)
    x = keras.layers.LayerNormalization()(keras.layers.Add()([seq, x]))
    x = keras.layers.Dense(16, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling1D()(x)
    out = keras.layers.Dense(4, activation="softmax", name="probs")(x)
    return _finish(keras.Model(seq, out, name="attention_block"))


def two_in_two_out() -> Any:
    keras = _seed()
    numbers = keras.Input((8,), name="numbers")
    category = keras.Input((1,), dtype="int32", name="category")
    c = keras.layers.Flatten()(keras.layers.Embedding(7, 4)(category))
    x = keras.layers.Concatenate()([numbers, c])
    x = keras.layers.Dense(16, activation="relu")(x)
    price = keras.layers.Dense(1, name="price")(x)
    kind = keras.layers.Dense(3, activation="softmax", name="kind")(x)
    return _finish(keras.Model([numbers, category], [price, kind], name="two_in_two_out"))


def upsample_transpose_resize() -> Any:
    keras = _seed()
    image = keras.Input((8, 8, 3), name="image")
    x = keras.layers.Conv2DTranspose(6, 3, strides=2, padding="same")(image)
    x = keras.layers.UpSampling2D()(x)
    x = keras.layers.Resizing(12, 12)(x)
    out = keras.layers.Conv2D(2, 1, name="mask")(x)
    return _finish(keras.Model(image, out, name="upsample_transpose_resize"))


def rescaling_dropout() -> Any:
    keras = _seed()
    image = keras.Input((16, 16, 1), name="pixels")
    x = keras.layers.Rescaling(1 / 255)(image)
    x = keras.layers.Conv2D(4, 3, activation="relu")(x)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dropout(0.3)(x)
    out = keras.layers.Dense(10, activation="softmax", name="probs")(x)
    return _finish(keras.Model(image, out, name="rescaling_dropout"), sharpen=20.0)


def separable_conv() -> Any:
    keras = _seed()
    image = keras.Input((16, 16, 3), name="image")
    x = keras.layers.SeparableConv2D(8, 3, activation="relu")(image)
    x = keras.layers.SeparableConv2D(8, 3, strides=2)(x)
    x = keras.layers.GlobalMaxPooling2D()(x)
    out = keras.layers.Dense(5, activation="softmax", name="probs")(x)
    return _finish(keras.Model(image, out, name="separable_conv"))


def conv1d_text() -> Any:
    keras = _seed()
    tokens = keras.Input((20,), dtype="int32", name="tokens")
    x = keras.layers.Embedding(100, 16)(tokens)
    x = keras.layers.Conv1D(16, 3, activation="relu")(x)
    x = keras.layers.GlobalMaxPooling1D()(x)
    out = keras.layers.Dense(2, activation="softmax", name="sentiment")(x)
    return _finish(keras.Model(tokens, out, name="conv1d_text"))


def time_distributed() -> Any:
    keras = _seed()
    frames = keras.Input((4, 8, 8, 1), name="frames")
    x = keras.layers.TimeDistributed(keras.layers.Conv2D(4, 3, activation="relu"))(frames)
    x = keras.layers.TimeDistributed(keras.layers.GlobalAveragePooling2D())(x)
    x = keras.layers.Flatten()(x)
    out = keras.layers.Dense(3, activation="softmax", name="probs")(x)
    return _finish(keras.Model(frames, out, name="time_distributed"))


def dot_and_additive_attention() -> Any:
    keras = _seed()
    query = keras.Input((6, 8), name="query")
    value = keras.Input((9, 8), name="value")
    a = keras.layers.Attention()([query, value])
    b = keras.layers.AdditiveAttention()([query, value])
    x = keras.layers.Concatenate()([a, b])
    out = keras.layers.Dense(4, name="mixed")(x)
    return _finish(keras.Model([query, value], out, name="dot_and_additive_attention"))


def normalization_adapted() -> Any:
    import numpy as np

    keras = _seed()
    norm = keras.layers.Normalization()
    norm.adapt(np.random.default_rng(0).normal(5.0, 3.0, size=(200, 7)).astype("float32"))
    features = keras.Input((7,), name="features")
    x = norm(features)
    x = keras.layers.Dense(8, activation="tanh")(x)
    out = keras.layers.Dense(1, name="score")(x)
    return _finish(keras.Model(features, out, name="normalization_adapted"))


def residual_add() -> Any:
    keras = _seed()
    image = keras.Input((12, 12, 4), name="image")
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(image)
    x = keras.layers.Conv2D(4, 3, padding="same")(x)
    x = keras.layers.Add()([image, x])
    x = keras.layers.Activation("relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    out = keras.layers.Dense(3, activation="softmax", name="probs")(x)
    return _finish(keras.Model(image, out, name="residual_add"))


def activations() -> Any:
    keras = _seed()
    features = keras.Input((10,), name="features")
    x = keras.layers.Dense(12)(features)
    x = keras.layers.PReLU()(x)
    x = keras.layers.Dense(12)(x)
    x = keras.layers.LeakyReLU(negative_slope=0.2)(x)
    x = keras.layers.Dense(12)(x)
    x = keras.layers.ELU()(x)
    x = keras.layers.Dense(12, activation="swish")(x)
    x = keras.layers.Dense(12, activation="hard_swish")(x)
    out = keras.layers.Dense(4, activation="softmax", name="probs")(x)
    return _finish(keras.Model(features, out, name="activations"))


def crop_pad() -> Any:
    keras = _seed()
    image = keras.Input((14, 14, 2), name="image")
    x = keras.layers.Cropping2D(((1, 2), (2, 1)))(image)
    x = keras.layers.ZeroPadding2D(((2, 0), (1, 1)))(x)
    x = keras.layers.Conv2D(3, 3)(x)
    out = keras.layers.Flatten(name="features")(x)
    return _finish(keras.Model(image, out, name="crop_pad"))


def mobilenet_v3_small() -> Any:
    keras = _seed()
    model = keras.applications.MobileNetV3Small(input_shape=(32, 32, 3), weights=None, classes=10,
                                                include_preprocessing=True)
    return _finish(model)


def efficientnet_b0() -> Any:
    keras = _seed()
    model = keras.applications.EfficientNetB0(input_shape=(32, 32, 3), weights=None, classes=10)
    return _finish(model)


def lstm_variable_length() -> Any:
    keras = _seed()
    seq = keras.Input((None, 4), name="series")
    x = keras.layers.LSTM(8)(seq)
    out = keras.layers.Dense(3, activation="softmax", name="probs")(x)
    return _finish(keras.Model(seq, out, name="lstm_variable_length"))


def masked_bidirectional_sequences() -> Any:
    keras = _seed()
    tokens = keras.Input((SEQ,), dtype="int32", name="tokens")
    x = keras.layers.Embedding(30, 8, mask_zero=True)(tokens)
    x = keras.layers.Bidirectional(keras.layers.GRU(8, return_sequences=True))(x)
    out = keras.layers.Dense(3, name="tags")(x)
    return _finish(keras.Model(tokens, out, name="masked_bidirectional_sequences"))


ZOO: dict[str, Entry] = {
    "dense_gelu_layernorm": Entry(dense_gelu_layernorm),
    "embedding_lstm": Entry(embedding_lstm),
    "lstm_sequence": Entry(lstm_sequence),
    "simple_rnn": Entry(simple_rnn),
    "bidirectional_gru": Entry(bidirectional_gru),
    "masked_gru": Entry(masked_gru),
    "cnn_batchnorm_depthwise": Entry(cnn_batchnorm_depthwise),
    "attention_block": Entry(attention_block),
    "two_in_two_out": Entry(two_in_two_out),
    "upsample_transpose_resize": Entry(upsample_transpose_resize),
    "rescaling_dropout": Entry(rescaling_dropout),
    "separable_conv": Entry(separable_conv),
    "conv1d_text": Entry(conv1d_text),
    "time_distributed": Entry(time_distributed),
    "dot_and_additive_attention": Entry(dot_and_additive_attention),
    "normalization_adapted": Entry(normalization_adapted),
    "residual_add": Entry(residual_add),
    "activations": Entry(activations),
    "crop_pad": Entry(crop_pad),
    "mobilenet_v3_small": Entry(mobilenet_v3_small, fast=False),
    "efficientnet_b0": Entry(efficientnet_b0, fast=False),
    "lstm_variable_length": Entry(lstm_variable_length, note="keeps its while loop (control edges dropped)"),
    "masked_bidirectional_sequences": Entry(masked_bidirectional_sequences, fast=False, expect="refused",
                                            note="Keras computes it differently unrolled; as a loop, "
                                                 "wasm fails"),
}
