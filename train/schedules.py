"""Learning-rate schedules, written with keras.ops so they run on every Keras backend."""

from __future__ import annotations

import math

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="mnist_tfjs")
class OneCycle(keras.optimizers.schedules.LearningRateSchedule):
    """One-cycle policy: linear warm-up from peak/div to peak, then cosine decay to peak/final_div."""

    def __init__(self, peak_lr: float, total_steps: int, warmup_fraction: float = 0.25,
                 div: float = 25.0, final_div: float = 1e3) -> None:
        self.peak_lr = float(peak_lr)
        self.total_steps = int(total_steps)
        self.warmup_fraction = float(warmup_fraction)
        self.div = float(div)
        self.final_div = float(final_div)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        warmup = max(1.0, self.total_steps * self.warmup_fraction)
        decay = max(1.0, self.total_steps - warmup)
        start, peak, end = self.peak_lr / self.div, self.peak_lr, self.peak_lr / self.final_div
        rising = start + (peak - start) * step / warmup
        progress = ops.clip((step - warmup) / decay, 0.0, 1.0)
        falling = end + (peak - end) * 0.5 * (1.0 + ops.cos(math.pi * progress))
        return ops.where(step < warmup, rising, falling)

    def get_config(self) -> dict:
        return {"peak_lr": self.peak_lr, "total_steps": self.total_steps,
                "warmup_fraction": self.warmup_fraction, "div": self.div, "final_div": self.final_div}
