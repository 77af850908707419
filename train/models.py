"""Named model builders, each returning an uncompiled Keras 3 model: (28, 28, 1) in [0, 1] → 10 softmax;
and the training-time drawing augmentation that can sit in front of them.

Backend-agnostic: only Keras layers and `keras.ops`, so the same code trains under
TensorFlow (the default, and the one exports use), JAX or PyTorch.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
from keras import layers, ops

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


# --- Augmentation: how people draw (small shifts, rotations, scale and stroke-width changes). ----------
# Keras layers only (backend-agnostic); inactive at inference, and not part of the exported network.

@keras.saving.register_keras_serializable(package="mnist_tfjs")
class RandomStrokeWidth(layers.Layer):
    """Thicken (grey dilation) or thin (grey erosion) each image's strokes with probability `rate`
    each way, using a 3x3 max-pool — a pen that is a little wider or narrower."""

    def __init__(self, rate: float = 0.15, seed: int | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.rate = rate
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=None):
        if not training:
            return images
        dilated = ops.max_pool(images, pool_size=3, strides=1, padding="same")
        eroded = -ops.max_pool(-images, pool_size=3, strides=1, padding="same")
        batch = ops.shape(images)[0]
        draw = keras.random.uniform((batch, 1, 1, 1), seed=self.seed_generator)
        thicker = ops.cast(draw < self.rate, images.dtype)
        thinner = ops.cast(draw > 1.0 - self.rate, images.dtype)
        unchanged = 1.0 - thicker - thinner
        return images * unchanged + dilated * thicker + eroded * thinner

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


def drawing_augmentation(seed: int | None = None) -> keras.Sequential:
    """Rotation ±10°, zoom ±12%, shift ±10% of the field, stroke width ±1 px (15% each way)."""
    return keras.Sequential(
        [
            layers.RandomRotation(10 / 360, fill_mode="constant", seed=seed),
            layers.RandomZoom(0.12, fill_mode="constant", seed=seed),
            layers.RandomTranslation(0.1, 0.1, fill_mode="constant", seed=seed),
            RandomStrokeWidth(0.15, seed=seed),
        ],
        name="augmentation",
    )
