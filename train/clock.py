"""Where a run's time goes: a Keras callback timing each epoch, from which come the seconds spent
compiling (the first epoch's time beyond a steady one's), the steady-state throughput and the time to
99% validation accuracy."""

from __future__ import annotations

import statistics
import time

import keras

TARGET = 0.99  # validation accuracy whose time is reported


class EpochClock(keras.callbacks.Callback):
    """Wall seconds and training steps of every epoch (its validation included), kept across the
    one-epoch `fit` calls train.run.fit may make; plus, within the first epoch, when its second and
    last batches started (for a run of a single epoch, where no later epoch shows the steady pace).

    It listens to batch *begins* only: a callback with its own `on_train_batch_end` makes Keras hand
    every batch's logs to the callbacks synchronously, which on JAX waits for each step to finish
    instead of queueing the next one while the device works."""

    def __init__(self, batch_size: int) -> None:
        super().__init__()
        self.batch_size = batch_size
        self.epoch_seconds: list[float] = []
        self.epoch_steps: list[int] = []
        self.val_accuracy: list[float] = []
        self._started = 0.0
        self._steps = 0
        self._second_batch_began: float | None = None
        self._last_batch_began = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._started = time.perf_counter()
        self._steps = 0

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self._steps += 1
        if not self.epoch_seconds and self._steps >= 2:
            now = time.perf_counter()
            if self._second_batch_began is None:
                self._second_batch_began = now
            self._last_batch_began = now

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch_seconds.append(time.perf_counter() - self._started)
        self.epoch_steps.append(self._steps)
        self.val_accuracy.append(float((logs or {}).get("val_accuracy", float("nan"))))

    def steady_step_seconds(self) -> float | None:
        """Seconds per training step once compiled: the median over epochs after the first, else the
        first epoch's batches from its second one on."""
        if len(self.epoch_seconds) > 1:
            return statistics.median(s / n for s, n in zip(self.epoch_seconds[1:], self.epoch_steps[1:],
                                                            strict=True) if n)
        first_epoch_steps = self.epoch_steps[0] if self.epoch_steps else self._steps
        if self._second_batch_began is not None and first_epoch_steps > 2:
            return (self._last_batch_began - self._second_batch_began) / (first_epoch_steps - 2)
        return None

    def compile_seconds(self) -> float | None:
        """The first epoch's seconds beyond what its steps take at the steady pace: compiling the train
        and evaluation steps (or loading them from the compilation cache), and warming up."""
        steady = self.steady_step_seconds()
        if steady is None or not self.epoch_seconds:
            return None
        return max(0.0, self.epoch_seconds[0] - steady * self.epoch_steps[0])

    def summary(self) -> dict[str, object]:
        """The figures metrics.json records."""
        steady = self.steady_step_seconds()
        compile_seconds = self.compile_seconds()
        reached = next((i for i, acc in enumerate(self.val_accuracy) if acc >= TARGET), None)
        to_target = None if reached is None else sum(self.epoch_seconds[: reached + 1])
        return {
            "epoch_seconds": [round(s, 3) for s in self.epoch_seconds],
            "compile_seconds": None if compile_seconds is None else round(compile_seconds, 2),
            "steady_step_ms": None if steady is None else round(steady * 1000, 3),
            "steady_images_per_s": None if not steady else round(self.batch_size / steady, 1),
            "steady_epoch_seconds": None if steady is None or not self.epoch_steps
            else round(steady * max(self.epoch_steps), 3),
            "seconds_to_99_val": None if to_target is None else round(to_target, 2),
            "seconds_to_99_val_without_compile": None if to_target is None or compile_seconds is None
            else round(to_target - compile_seconds, 2),
        }
