"""Training, side by side: time to 99.0% test accuracy for the quick preset, the Keras example
convnet and the tutorial's MLP, with training throughput. Test accuracy is measured by a callback
whose own time is kept off the training clock: four times an epoch for the two convnets (an epoch
end alone would round a 2-epoch run's time to 99% up to a whole epoch), every `mlp_eval_every`
steps for the MLP, and at the end of training.

The quick preset trains once per seed in QUICK_SEEDS and is summarised by the median and range of
its test accuracy, training time and time to 99.0%: a claim about it must hold for the median seed,
not the luckiest one. The other two contenders train once (seed 42)."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Any

from benchmarks.common import Bench, say, section_banner
from train import Preset

TARGET = 0.99
SEED = 42
EVALS_PER_EPOCH = 4  # test-accuracy measurements per epoch for the convnets
QUICK_SEEDS = (42, 43, 44)


@dataclass(frozen=True)
class Plan:
    """How much each contender trains; None = the full training set / test set / the preset's epochs."""

    quick_epochs: int | None
    keras_epochs: int
    mlp_steps: int
    mlp_eval_every: int
    train_limit: int | None
    test_limit: int | None


FULL = Plan(quick_epochs=None, keras_epochs=15, mlp_steps=1000, mlp_eval_every=100,
            train_limit=None, test_limit=None)
SMOKE = Plan(quick_epochs=1, keras_epochs=1, mlp_steps=40, mlp_eval_every=20,
             train_limit=2000, test_limit=1000)


LABELS = {"quick": "quick preset ({model}), seed {seed}", "keras_example": "Keras example convnet",
          "tutorial_mlp": "tutorial MLP (seed preset)"}
# keras.io's example trains with Adam at its default learning rate, batch 128 (epochs: the plan's).
KERAS_EXAMPLE = Preset(name="keras-example", model="keras-example-convnet", optimizer="adam", lr=1e-3,
                       batch_size=128, description="keras.io mnist_convnet's own settings")


def keras_example_convnet():
    """keras.io's `mnist_convnet` example: 34,826 parameters (trained there with Adam, batch 128)."""
    import keras
    from keras import layers

    return keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(10, activation="softmax"),
    ], name="keras_mnist_convnet")


def _accuracy_clock(x_test, y_test, every_steps: int):
    """A Keras callback measuring test accuracy every `every_steps` batches and at the end of training."""
    import keras
    import numpy as np

    class AccuracyClock(keras.callbacks.Callback):
        """Test accuracy against training seconds; evaluation time is excluded from the clock."""

        def __init__(self) -> None:
            super().__init__()
            self.points: list[dict[str, float]] = []
            self.epoch_seconds: list[float] = []
            self.steps = 0
            self.started = 0.0
            self.excluded = 0.0
            self.epoch_started = 0.0

        def training_seconds(self) -> float:
            return time.perf_counter() - self.started - self.excluded

        def on_train_begin(self, logs=None) -> None:
            if not self.started:  # train.run.fit calls `fit` once an epoch: the clock runs from the first
                self.started = time.perf_counter()

        def on_epoch_begin(self, epoch, logs=None) -> None:
            self.epoch_started = self.training_seconds()

        def on_train_batch_end(self, batch, logs=None) -> None:
            self.steps += 1
            if self.steps % every_steps == 0:
                self._evaluate()

        def on_epoch_end(self, epoch, logs=None) -> None:
            self.epoch_seconds.append(self.training_seconds() - self.epoch_started)

        def on_train_end(self, logs=None) -> None:
            if not self.points or self.points[-1]["step"] != self.steps:
                self._evaluate()

        def _evaluate(self) -> None:
            paused = time.perf_counter()
            seconds = self.training_seconds()
            probs = self.model.predict(x_test, batch_size=1000, verbose=0)
            accuracy = float((np.argmax(probs, axis=1) == y_test).mean())
            self.points.append({"step": self.steps, "seconds": round(seconds, 3), "accuracy": accuracy})
            say(f"    step {self.steps:>5}  {seconds:7.1f} s  test accuracy {accuracy:.2%}")
            self.excluded += time.perf_counter() - paused

    return AccuracyClock()


def _fit(name: str, label: str, model, preset, data, *, seed: int, x_test, y_test,
         every_steps: int | None, jit: bool) -> tuple[dict[str, Any], Any]:
    """Compile and fit `model` on `data`'s training split through train's steps, timing test accuracy
    along the way (every `every_steps` batches; None: EVALS_PER_EPOCH times an epoch)."""
    from train import compile_model, epochs_of, fit, steps_per_epoch

    train_size = len(data.x_train)
    compile_model(model, preset, train_size, jit=jit)
    if every_steps is None:
        every_steps = max(1, steps_per_epoch(preset, train_size) // EVALS_PER_EPOCH)
    params = int(model.count_params())
    epochs = epochs_of(preset)
    budget = f"{preset.steps} steps" if preset.steps else f"{epochs} epoch{'s' * (epochs != 1)}"
    say(f"  {label}: {params:,} parameters, batch {preset.batch_size}, {budget}")
    clock = _accuracy_clock(x_test, y_test, every_steps)
    fit(model, data, preset, seed, callbacks=[clock], verbose=0)
    seconds = clock.training_seconds()
    seen = preset.steps * preset.batch_size if preset.steps else train_size  # images per epoch
    images = seen * epochs
    reached = next((p for p in clock.points if p["accuracy"] >= TARGET), None)
    best = max(clock.points, key=lambda p: p["accuracy"])
    steady = clock.epoch_seconds[1:] or clock.epoch_seconds
    result = {
        "name": name,
        "label": label,
        "params": params,
        "batch_size": preset.batch_size,
        "epochs": epochs,
        "steps": clock.steps,
        "train_images": seen,
        "train_seconds": round(seconds, 2),
        "images_per_s": round(images / seconds, 1),
        "steady_images_per_s": round(seen / statistics.median(steady), 1),
        "eval_every_steps": every_steps,
        "epoch_seconds": [round(s, 2) for s in clock.epoch_seconds],
        "seconds_to_target": reached["seconds"] if reached else None,
        "step_at_target": reached["step"] if reached else None,
        "best_accuracy": best["accuracy"],
        "final_accuracy": clock.points[-1]["accuracy"],
        "curve": clock.points,
        "preset": {"optimizer": preset.optimizer, "lr": preset.lr, "schedule": preset.schedule},
    }
    to_target = f"{reached['seconds']:.1f} s to {TARGET:.1%}" if reached \
        else f"never reached {TARGET:.1%} (best {best['accuracy']:.2%})"
    say(f"  {label}: {to_target}; final {result['final_accuracy']:.2%}; "
        f"{result['images_per_s']:,.0f} images/s over {seconds:.1f} s of training")
    return result, model


def run(bench: Bench) -> dict[str, Any]:
    """Train the three contenders one after the other; returns the section's figures."""
    plan = bench.pick(SMOKE, FULL)
    section_banner("training", f"quick preset vs Keras example convnet vs tutorial MLP, target {TARGET:.1%}"
                   + (" (smoke: tiny data)" if bench.smoke else ""))
    from mnist_tfjs.quiet import quiet_tensorflow

    quiet_tensorflow()
    import keras

    import train as steps
    from train import PRESETS, detect_devices, make_deterministic, uses_xla

    devices = detect_devices()
    jit = uses_xla(devices)
    data = steps.load_data(train_limit=plan.train_limit)
    train_images = len(data.x_train)
    x_test, y_test = data.x_test, data.y_test
    if plan.test_limit:
        x_test, y_test = x_test[: plan.test_limit], y_test[: plan.test_limit]
    say(f"  {devices.describe()}; {train_images:,} training images, test accuracy on {len(x_test):,} digits")
    runs: list[dict[str, Any]] = []
    quick = PRESETS["quick"].with_overrides(epochs=plan.quick_epochs)
    contenders = [("quick", quick, None, seed) for seed in QUICK_SEEDS] + [
        ("keras_example", KERAS_EXAMPLE.with_overrides(epochs=plan.keras_epochs), None, SEED),
        ("tutorial_mlp", PRESETS["tutorial"].with_overrides(steps=plan.mlp_steps), plan.mlp_eval_every, SEED),
    ]
    quick_paths: dict[int, Any] = {}
    for name, preset, every_steps, seed in contenders:
        make_deterministic(seed)
        model = keras_example_convnet() if name == "keras_example" else steps.build(preset, seed)
        label = LABELS[name].format(model=preset.model, seed=seed)
        result, model = _fit(name, label, model, preset, data, seed=seed, x_test=x_test, y_test=y_test,
                             every_steps=every_steps, jit=jit)
        result["seed"] = seed
        runs.append(result)
        if name == "quick":
            quick_paths[seed] = bench.work / f"quick-model-seed{seed}.keras"
            steps.save_inference_model(model, quick_paths[seed])
        keras.backend.clear_session()

    quick_runs = [r for r in runs if r["name"] == "quick"]
    keras_run = next(r for r in runs if r["name"] == "keras_example")
    summary = quick_summary(quick_runs)
    figures = {"target": TARGET, "device": devices.describe(), "train_images": train_images,
               "test_digits": len(x_test), "mlp_eval_every": plan.mlp_eval_every,
               "evals_per_epoch": EVALS_PER_EPOCH, "runs": runs,
               "quick_seeds": summary}
    # The export/browser sections use the quick model whose accuracy is the median of the seeds.
    median_run = sorted(quick_runs, key=lambda r: r["final_accuracy"])[len(quick_runs) // 2]
    bench.trained_model = quick_paths[median_run["seed"]]
    figures["speedup_vs_keras_example"] = _ratio(keras_run["seconds_to_target"],
                                                 summary["seconds_to_target"]["median"])
    acc, secs, to_target = summary["final_accuracy"], summary["train_seconds"], summary["seconds_to_target"]
    say(f"  quick preset over seeds {', '.join(map(str, summary['seeds']))}: test accuracy median "
        f"{acc['median']:.2%} (range {acc['min']:.2%}-{acc['max']:.2%}); training median "
        f"{secs['median']:.1f} s (range {secs['min']:.1f}-{secs['max']:.1f} s); " + (
            f"{TARGET:.1%} after median {to_target['median']:.1f} s (range {to_target['min']:.1f}-"
            f"{to_target['max']:.1f} s, {to_target['reached']} of {len(quick_runs)} seeds)"
            if to_target["median"] is not None else f"{TARGET:.1%} reached by {to_target['reached']} of "
            f"{len(quick_runs)} seeds"))
    speedup = figures["speedup_vs_keras_example"]
    if speedup:
        say(f"  quick preset (median of its seeds) reaches {TARGET:.1%} {speedup:.2f}x sooner "
            "than the Keras example convnet (one run)")
    return figures


def quick_summary(quick_runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Median, min and max over the quick preset's seeds. Time to target: the median counts a seed that
    never reached it as slower than any that did (None when most seeds never reached it)."""

    def spread(values: list[float]) -> dict[str, float]:
        return {"median": statistics.median(values), "min": min(values), "max": max(values)}

    reached = sorted(r["seconds_to_target"] for r in quick_runs if r["seconds_to_target"] is not None)
    ranked = reached + [float("inf")] * (len(quick_runs) - len(reached))
    median_to_target = ranked[(len(ranked) - 1) // 2] if len(ranked) % 2 else \
        (ranked[len(ranked) // 2 - 1] + ranked[len(ranked) // 2]) / 2
    return {
        "seeds": [r["seed"] for r in quick_runs],
        "final_accuracy": spread([r["final_accuracy"] for r in quick_runs]),
        "train_seconds": spread([r["train_seconds"] for r in quick_runs]),
        "seconds_to_target": {
            "median": round(median_to_target, 2) if median_to_target != float("inf") else None,
            "min": reached[0] if reached else None,
            "max": reached[-1] if len(reached) == len(quick_runs) else None,  # None: a seed never did
            "reached": len(reached),
        },
    }


def _ratio(slower: float | None, faster: float | None) -> float | None:
    if not slower or not faster:
        return None
    return round(slower / faster, 2)
