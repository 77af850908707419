"""Named model builders. Each returns an uncompiled Keras 3 model: (28, 28, 1) in [0, 1] → 10 softmax.

Backend-agnostic: only Keras layers and `keras.ops`, so the same code trains under
TensorFlow (the default, and the one exports use), JAX or PyTorch.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
from keras import layers

from train.presets import MODEL_NAMES

INPUT_SHAPE = (28, 28, 1)
NUM_CLASSES = 10


def seed_mlp() -> keras.Model:
    """The tutorial's network: 784-300-10, weights N(0, 0.03), zero biases."""
    init = keras.initializers.RandomNormal(mean=0.0, stddev=0.03)
    return keras.Sequential(
        [
            keras.Input(INPUT_SHAPE, name="image"),
            layers.Flatten(),
            layers.Dense(300, activation="relu", kernel_initializer=init, bias_initializer="zeros"),
            layers.Dense(NUM_CLASSES, activation="softmax", kernel_initializer=init,
                         bias_initializer="zeros", dtype="float32", name="probs"),
        ],
        name="seed_mlp",
    )


def _conv_bn(x, filters: int, kernel: int, name: str, padding: str = "valid"):
    x = layers.Conv2D(filters, kernel, padding=padding, use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(momentum=0.9, name=f"{name}_bn")(x)  # short runs: stats settle fast
    return layers.ReLU(name=f"{name}_relu")(x)


def cnn() -> keras.Model:
    """A small, fast convnet (~35K parameters): 5x5 conv, BatchNorm, two poolings, linear head."""
    inputs = keras.Input(INPUT_SHAPE, name="image")
    x = _conv_bn(inputs, 32, 5, "block1")               # 24x24
    x = layers.MaxPooling2D(2, name="pool1")(x)         # 12x12
    x = _conv_bn(x, 64, 3, "block2")                    # 10x10
    x = layers.MaxPooling2D(2, name="pool2")(x)         # 5x5
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dropout(0.25, name="dropout")(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", dtype="float32", name="probs")(x)
    return keras.Model(inputs, outputs, name="cnn")


def cnn_best() -> keras.Model:
    """The strongest model within 200 KB as float16: a VGG-style BatchNorm convnet (~80K parameters)
    with a global-average-pooling head."""
    inputs = keras.Input(INPUT_SHAPE, name="image")
    x = _conv_bn(inputs, 24, 3, "block1a", padding="same")
    x = _conv_bn(x, 24, 3, "block1b", padding="same")
    x = layers.MaxPooling2D(2, name="pool1")(x)          # 14x14
    x = _conv_bn(x, 48, 3, "block2a", padding="same")
    x = _conv_bn(x, 48, 3, "block2b", padding="same")
    x = layers.MaxPooling2D(2, name="pool2")(x)          # 7x7
    x = _conv_bn(x, 96, 3, "block3", padding="same")
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dropout(0.2, name="dropout")(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", dtype="float32", name="probs")(x)
    return keras.Model(inputs, outputs, name="cnn_best")


MODELS: dict[str, Callable[[], keras.Model]] = {
    "seed-mlp": seed_mlp,
    "cnn": cnn,
    "cnn-best": cnn_best,
}
assert tuple(MODELS) == MODEL_NAMES, "train.presets.MODEL_NAMES lists the models built here"


def build_model(name: str) -> keras.Model:
    """Build the model registered under `name` (see MODELS)."""
    try:
        return MODELS[name]()
    except KeyError:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}") from None
