"""Named model builders, each returning an uncompiled Keras 3 model: (28, 28, 1) in [0, 1] → 10 softmax;
and the training-time augmentations that can sit in front of them.

Backend-agnostic: only Keras layers and `keras.ops`, so the same code trains under
TensorFlow (the default, and the one exports use), JAX or PyTorch.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
from keras import layers, ops

from .presets import AUGMENTATIONS

INPUT_SHAPE = (28, 28, 1)
NUM_CLASSES = 10


def tutorial_mlp() -> keras.Model:
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
        name="tutorial_mlp",
    )


def _conv_pool_bn(x, filters: int, kernel: int, name: str):
    """Convolution, 2x2 max-pooling, then BatchNorm and ReLU on the pooled map. Not quite the same
    function as pooling last (a negative BatchNorm scale would turn the max into a min), but it
    trains as well, and BatchNorm and ReLU (forward and backward) cost a quarter as much there."""
    x = layers.Conv2D(filters, kernel, use_bias=False, name=f"{name}_conv")(x)
    x = layers.MaxPooling2D(2, name=f"{name}_pool")(x)
    x = layers.BatchNormalization(momentum=0.9, name=f"{name}_bn")(x)  # short runs: stats settle fast
    return layers.ReLU(name=f"{name}_relu")(x)


def _pooled_convnet(hidden: int, name: str) -> keras.Model:
    """A 5x5 convolution with only 16 filters (on a CPU the first layer, at full resolution, costs the
    most), a 3x3 with 64 on the pooled map (cheap there), each pooled before its BatchNorm, then a
    `hidden`-unit layer: nearly all the parameters are in that dense layer, nearly all the work in
    the convolutions."""
    inputs = keras.Input(INPUT_SHAPE, name="image")
    x = _conv_pool_bn(inputs, 16, 5, "block1")          # 24x24 -> 12x12
    x = _conv_pool_bn(x, 64, 3, "block2")               # 10x10 -> 5x5
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dropout(0.25, name="dropout1")(x)
    x = layers.Dense(hidden, activation="relu", name="hidden")(x)
    x = layers.Dropout(0.25, name="dropout2")(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", dtype="float32", name="probs")(x)
    return keras.Model(inputs, outputs, name=name)


def cnn() -> keras.Model:
    """The quick preset's convnet, sized for a 2-core CPU: ~216K parameters, a 128-unit hidden layer."""
    return _pooled_convnet(128, "cnn")


def cnn_best() -> keras.Model:
    """The best preset's convnet: the quick one with a 48-unit hidden layer (~87K parameters, 175 KB
    as float16, under the page's 200 KB download), trained far longer. Its convolutions work on pooled
    maps, so an epoch costs a fraction of a VGG-style net's of the same size at full resolution, and a
    CPU can afford the many epochs a small net needs."""
    return _pooled_convnet(48, "cnn_best")


# The builder of each model a preset names (train.presets.MODEL_NAMES; tests/test_train.py checks
# that the two name the same models).
MODELS: dict[str, Callable[[], keras.Model]] = {
    "tutorial-mlp": tutorial_mlp,
    "cnn": cnn,
    "cnn-best": cnn_best,
}


def build_model(name: str) -> keras.Model:
    """Build the model registered under `name` (see MODELS)."""
    try:
        return MODELS[name]()
    except KeyError:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}") from None


# --- Augmentation: how people draw (small shifts, rotations, scale and stroke-width changes). ----------
# Keras layers only (backend-agnostic); inactive at inference, and not part of the exported network.

class RandomAugmentation(layers.Layer):
    """A training-time augmentation: `augment(images)` with its own seeded random stream in training,
    the images unchanged at inference."""

    def __init__(self, seed: int | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=None):
        return self.augment(images) if training else images

    def augment(self, images):
        raise NotImplementedError

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "seed": self.seed}


@keras.saving.register_keras_serializable(package="mnist_tfjs")
class RandomStrokeWidth(RandomAugmentation):
    """Thicken (grey dilation) or thin (grey erosion) each image's strokes with probability `rate`
    each way, using a 3x3 max-pool — a pen that is a little wider or narrower."""

    def __init__(self, rate: float = 0.15, seed: int | None = None, **kwargs) -> None:
        super().__init__(seed=seed, **kwargs)
        self.rate = rate

    def augment(self, images):
        dilated = ops.max_pool(images, pool_size=3, strides=1, padding="same")
        eroded = -ops.max_pool(-images, pool_size=3, strides=1, padding="same")
        batch = ops.shape(images)[0]
        draw = keras.random.uniform((batch, 1, 1, 1), seed=self.seed_generator)
        thicker = ops.cast(draw < self.rate, images.dtype)
        thinner = ops.cast(draw > 1.0 - self.rate, images.dtype)
        unchanged = 1.0 - thicker - thinner
        return images * unchanged + dilated * thicker + eroded * thinner

    def get_config(self) -> dict:
        return {**super().get_config(), "rate": self.rate}


@keras.saving.register_keras_serializable(package="mnist_tfjs")
class RandomAffine(RandomAugmentation):
    """Rotate, scale and shift each image of the batch by a random amount in one resampling (one
    `ops.image.affine_transform` call for the whole batch, cheaper than three separate layers):
    rotation ±`rotation` degrees, scale 1 ± `zoom`, shift ±`shift` of the side. About the image centre;
    what comes in from outside the field is black (background)."""

    def __init__(self, rotation: float = 8.0, zoom: float = 0.1, shift: float = 0.1,
                 seed: int | None = None, **kwargs) -> None:
        super().__init__(seed=seed, **kwargs)
        self.rotation = rotation
        self.zoom = zoom
        self.shift = shift

    def augment(self, images):
        batch = ops.shape(images)[0]
        height, width = images.shape[1], images.shape[2]
        draw = keras.random.uniform((batch, 4), minval=-1.0, maxval=1.0, seed=self.seed_generator)
        angle = draw[:, 0] * (self.rotation * 3.141592653589793 / 180.0)
        scale = 1.0 + draw[:, 1] * self.zoom          # > 1 draws the digit larger
        dx, dy = draw[:, 2] * (self.shift * width), draw[:, 3] * (self.shift * height)
        # The transform maps each output pixel to the input pixel it samples: the inverse of
        # "rotate by angle and scale about the centre, then shift by (dx, dy)".
        cos, sin = ops.cos(angle) / scale, ops.sin(angle) / scale
        cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
        ox, oy = cx + dx, cy + dy
        a0, a1, b0, b1 = cos, sin, -sin, cos
        a2 = cx - a0 * ox - a1 * oy
        b2 = cy - b0 * ox - b1 * oy
        zeros = ops.zeros_like(angle)
        transform = ops.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)
        return ops.image.affine_transform(images, transform, interpolation="bilinear",
                                          fill_mode="constant", fill_value=0)

    def get_config(self) -> dict:
        return {**super().get_config(), "rotation": self.rotation, "zoom": self.zoom, "shift": self.shift}


def build_augmentation(name: str, seed: int | None = None) -> keras.Layer:
    """The training-time augmentation named in train.presets.AUGMENTATIONS (not "none")."""
    affine = {"rotation": 8.0, "zoom": 0.1, "shift": 0.08, "seed": seed}  # how far and how big people draw
    if name == "shift-scale-rotate":
        return RandomAffine(**affine, name="augmentation")
    if name == "drawing":
        return keras.Sequential([RandomAffine(**affine),
                                 RandomStrokeWidth(0.1, seed=None if seed is None else seed + 1)],
                                name="augmentation")  # its own random stream, not the affine one's
    raise ValueError(f"unknown augmentation {name!r}; choose one of {', '.join(AUGMENTATIONS)}")
