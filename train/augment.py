"""Training-time augmentation that matches how people draw: small shifts, rotations, scale changes
and stroke-width changes. Keras layers only (backend-agnostic); inactive at inference."""

from __future__ import annotations

import keras
from keras import layers, ops


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
