"""One training run, told as a keras-io example: load the data, build the model, compile it, fit it,
evaluate it, save the artifacts.

Each step is a plain function. `train()` runs them in order for `python -m train` (adding devices,
resume and metrics); the training benchmark (benchmarks/training.py) and the tests' `small_model_path`
fixture call the same steps, so there is one recipe for compiling and fitting a model.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import platform
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import keras
import numpy as np
from keras import ops

from mnist_tfjs.mnist import Mnist, load_mnist
from mnist_tfjs.versions import package_version

from . import artifacts
from .artifacts import EpochCheckpoint, read_checkpoint_state, remove_checkpoint
from .clock import EpochClock
from .compilation import CompileLog, default_cache_dir, enable_compilation_cache
from .devices import (
    DeviceSetup,
    configure_precision,
    detect_devices,
    distribution_scope,
    make_deterministic,
    split_cpu,
    uses_xla,
)
from .models import INPUT_SHAPE, build_augmentation, build_model
from .presets import DEFAULT_PRESET_FOR_MODEL, PRESETS, Preset

AUGMENTED = "augmented"
# The validation, test and prediction batch: it divides the 5,000 validation and the 10,000 test
# images, so every evaluation batch has one shape (one compilation of each evaluation step).
EVAL_BATCH = 1000


class TrainingError(Exception):
    """A run that cannot start or continue (one-line message)."""


def resolve_preset(args: argparse.Namespace) -> Preset:
    """The preset named on the command line, with --model/--epochs/--steps/--batch-size/--lr applied."""
    name = args.preset or DEFAULT_PRESET_FOR_MODEL.get(args.model or "cnn", "quick")
    preset = PRESETS[name].with_overrides(
        model=args.model, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr)
    if args.steps is not None:
        preset = preset.with_overrides(steps=args.steps)
    return preset


# --- 1. Load the data ------------------------------------------------------------------------------

def load_data(data_dir: str | Path | None = None, train_limit: int | None = None) -> Mnist:
    """MNIST, verified and split 55,000 / 5,000 / 10,000; only the first `train_limit` training images
    when given (smoke runs)."""
    data = load_mnist(data_dir)
    if train_limit:
        data = dataclasses.replace(data, x_train=data.x_train[:train_limit],
                                   y_train=data.y_train[:train_limit])
    return data


# --- 2. Build the model ----------------------------------------------------------------------------

def build(preset: Preset, seed: int) -> keras.Model:
    """The preset's network, behind the preset's training-time augmentation if it has one."""
    network = build_model(preset.model)
    if preset.augment == "none":
        return network
    return keras.Sequential([keras.Input(INPUT_SHAPE), build_augmentation(preset.augment, seed), network],
                            name=AUGMENTED)


def network_of(model: keras.Model) -> keras.Model:
    """The network inside a training model (unwraps the augmentation)."""
    return model.layers[-1] if model.name == AUGMENTED else model


# --- 3. Compile it ---------------------------------------------------------------------------------

def epochs_of(preset: Preset) -> int:
    """Epochs `fit` runs: a step budget is one epoch of exactly that many batches."""
    return 1 if preset.steps is not None else preset.epochs


def steps_per_epoch(preset: Preset, train_size: int, whole_batches: bool = False) -> int:
    """Batches per epoch: the whole step budget in one epoch, or one pass over the data, its last
    partial batch left out when `whole_batches` (where XLA compiles the steps, see fit)."""
    if preset.steps is not None:
        return preset.steps
    if whole_batches:
        return max(1, train_size // preset.batch_size)
    return -(-train_size // preset.batch_size)


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


def make_optimizer(preset: Preset, total_steps: int) -> keras.optimizers.Optimizer:
    """The preset's optimizer and learning-rate schedule."""
    lr = OneCycle(preset.lr, total_steps, preset.warmup_fraction) if preset.schedule == "one-cycle" \
        else preset.lr
    if preset.optimizer == "sgd":
        return keras.optimizers.SGD(learning_rate=lr)
    beta_1, beta_2 = preset.betas
    if preset.optimizer == "adamw":
        return keras.optimizers.AdamW(learning_rate=lr, weight_decay=preset.weight_decay,
                                      beta_1=beta_1, beta_2=beta_2)
    return keras.optimizers.Adam(learning_rate=lr, beta_1=beta_1, beta_2=beta_2)


def compile_model(model: keras.Model, preset: Preset, train_size: int, *, jit: bool = False) -> keras.Model:
    """Cross-entropy on integer labels, accuracy, and the preset's optimizer, its schedule spanning
    the whole run; `jit` compiles the steps with XLA (train.devices.uses_xla says where)."""
    total_steps = steps_per_epoch(preset, train_size, whole_batches=jit) * epochs_of(preset)
    model.compile(optimizer=make_optimizer(preset, total_steps),
                  loss=keras.losses.SparseCategoricalCrossentropy(), metrics=["accuracy"], jit_compile=jit)
    return model


# --- 4. Fit it -------------------------------------------------------------------------------------

def tutorial_batches(x: np.ndarray, y: np.ndarray, steps: int, batch: int, seed: int):
    """The tutorial's `next_batch` stream: reshuffle at every pass, take `steps` batches in order."""
    rng = np.random.default_rng(seed)
    needed = steps * batch
    order = np.concatenate([rng.permutation(len(x)) for _ in range(-(-needed // len(x)))])[:needed]
    return x[order], y[order]


def epoch_order(size: int, batch_size: int, seed: int, epoch: int) -> np.ndarray:
    """This epoch's shuffled order of the training images, whole batches only: a last partial batch
    would be a second input shape, which XLA compiles a second time. The images left out differ from
    epoch to epoch. Seeded per epoch, so a resumed run continues the same sequence."""
    order = np.random.default_rng([seed, epoch]).permutation(size)
    whole = max(1, size // batch_size) * batch_size
    return order[:whole]


def shuffled_epochs(x: np.ndarray, y: np.ndarray, preset: Preset, seed: int, initial_epoch: int = 0):
    """(images, labels, epoch index) for each epoch still to train, each in its shuffled order of
    whole batches (see epoch_order).

    The next epoch's copy is gathered in a background thread while this epoch trains (NumPy releases
    the GIL while copying): on a GPU an epoch of the quick preset takes under half a second, and the
    55,000-image gather (~70 ms on a CPU core) would otherwise stall the device between epochs."""

    def shuffled(epoch: int) -> tuple[np.ndarray, np.ndarray, int]:
        order = epoch_order(len(x), preset.batch_size, seed, epoch)
        return x[order], y[order], epoch

    epochs = range(initial_epoch, preset.epochs)
    with ThreadPoolExecutor(max_workers=1) as gatherer:
        upcoming = gatherer.submit(shuffled, epochs[0]) if epochs else None
        for epoch in epochs:
            current = upcoming.result()
            upcoming = gatherer.submit(shuffled, epoch + 1) if epoch + 1 < preset.epochs else None
            yield current


def progress_verbosity() -> int:
    """Keras' live progress bar on a terminal; one line an epoch when the output goes to a file or a
    pipe (the bar would write every step into it)."""
    return 1 if sys.stdout.isatty() else 2


def fit(model: keras.Model, data: Mnist, preset: Preset, seed: int, *, validate: bool = False,
        callbacks: Sequence[keras.callbacks.Callback] = (), initial_epoch: int = 0,
        verbose: int = 1) -> dict[str, list[float]]:
    """Whole shuffled epochs of `data`'s training split, or (a step budget) the tutorial's stream of
    `steps` batches; returns the history. `validate`: after each epoch, on the validation split, in
    EVAL_BATCH batches.

    Where XLA compiles the steps (`model.jit_compile`), every batch must have one shape or the train
    step is compiled twice: each epoch is then one `fit` call on that epoch's shuffled copy of whole
    batches (Keras keeps the compiled steps between calls). Elsewhere Keras shuffles and batches
    itself, last partial batch included."""
    x, y = data.x_train, data.y_train
    validation = (data.x_val, data.y_val) if validate else None
    common = {"batch_size": preset.batch_size, "validation_data": validation,
              "validation_batch_size": EVAL_BATCH, "callbacks": list(callbacks), "verbose": verbose}
    if preset.steps is not None:
        x, y = tutorial_batches(x, y, preset.steps, preset.batch_size, seed)
        return model.fit(x, y, epochs=1, shuffle=False, **common).history
    if not model.jit_compile:
        return model.fit(x, y, epochs=preset.epochs, initial_epoch=initial_epoch, shuffle=True,
                         **common).history
    history: dict[str, list[float]] = {}
    for x_epoch, y_epoch, epoch in shuffled_epochs(x, y, preset, seed, initial_epoch):
        logs = model.fit(x_epoch, y_epoch, epochs=epoch + 1, initial_epoch=epoch, shuffle=False, **common)
        for key, values in logs.history.items():
            history.setdefault(key, []).extend(values)
    return history


# --- 5. Evaluate it --------------------------------------------------------------------------------

def evaluate(model: keras.Model, data: Mnist) -> tuple[float, float, np.ndarray]:
    """Test loss, test accuracy and the predicted digit for each of the 10,000 test images, from one
    prediction pass (one more step function to compile, and one pass instead of two). The loss is
    Keras' sparse categorical cross-entropy on probabilities, clipped as Keras clips them."""
    probs = np.asarray(model.predict(data.x_test, batch_size=EVAL_BATCH, verbose=0), dtype=np.float64)
    epsilon = keras.config.epsilon()
    picked = np.clip(probs[np.arange(len(data.y_test)), data.y_test], epsilon, 1.0 - epsilon)
    predictions = probs.argmax(axis=1)
    return float(-np.log(picked).mean()), float((predictions == data.y_test).mean()), predictions


# --- 6. Save the artifacts -------------------------------------------------------------------------

def save_inference_model(model: keras.Model, target: Path) -> None:
    """The trained network alone (uncompiled, no augmentation), atomically: it loads anywhere with
    plain `keras.models.load_model`, without this package's schedule or optimizer state."""
    network = network_of(model)
    artifacts.save_model(keras.Model(network.inputs, network.outputs, name=network.name), target)


def save_artifacts(out: Path, model: keras.Model, metrics: dict, history: dict[str, list[float]],
                   labels: np.ndarray, predictions: np.ndarray) -> None:
    """model.keras, metrics.json, history.csv, training.png, confusion.png — each atomically."""
    save_inference_model(model, out / "model.keras")
    artifacts.write_history_csv(out / "history.csv", history)
    title = f"{metrics['model']} ({metrics['preset']}): test accuracy {metrics['test_accuracy']:.2%}"
    artifacts.plot_history(out / "training.png", history, title)
    counts = artifacts.confusion_matrix(labels, predictions)
    artifacts.plot_confusion(out / "confusion.png", counts, title)
    artifacts.write_json(out / "metrics.json", {**metrics, "confusion_matrix": counts.tolist()},
                         sort_keys=True)


# --- The whole run, as `python -m train` asks for it -----------------------------------------------

def train(args: argparse.Namespace) -> int:
    """Run training as the CLI asked; returns the exit code."""
    out = artifacts.prepare_out_dir(args.out)
    preset = resolve_preset(args)
    state = read_checkpoint_state(out) if args.resume else None
    if args.resume and state is None:
        raise TrainingError(f"no checkpoint in {out} to resume from; run without --resume")

    try:
        split_cpu(args.cpu_devices)
    except ValueError as exc:
        raise TrainingError(f"--cpu-devices: {exc}; use --cpu-devices 1") from None
    devices = detect_devices()
    cache = compilation_cache(args, devices)
    print(f"device: {devices.describe()}" + (f"; compilation cache {cache}" if cache else ""), flush=True)
    precision = configure_precision(args.precision)
    make_deterministic(args.seed)

    load_started = time.perf_counter()
    data = load_data(args.data_dir, args.train_limit)
    load_seconds = time.perf_counter() - load_started

    run_config = {"preset": preset.name, "model": preset.model, "epochs": preset.epochs,
                  "steps": preset.steps, "batch_size": preset.batch_size, "lr": preset.lr,
                  "seed": args.seed, "train_limit": args.train_limit}
    if state and state["config"] != run_config:
        raise TrainingError(f"the checkpoint in {out} is from a different run ({state['config']}); "
                            "resume with the same options, or start afresh without --resume")
    history: dict[str, list[float]] = dict(state["history"]) if state else {}
    initial_epoch = state["epoch"] if state else 0
    clock = EpochClock(preset.batch_size)

    with CompileLog() as compiled, distribution_scope(devices) as strategy:
        if state:
            model = keras.models.load_model(out / state["model_file"])
            print(f"resuming after epoch {initial_epoch} of {epochs_of(preset)}", flush=True)
        else:
            model = compile_model(build(preset, args.seed), preset, len(data.x_train), jit=uses_xla(devices))
        print(f"{preset.model}: {network_of(model).count_params():,} parameters; preset {preset.name} "
              f"({preset.description}); {strategy}; {precision}", flush=True)

        fit_started = time.perf_counter()
        fit(model, data, preset, args.seed, validate=True,
            callbacks=[clock, EpochCheckpoint(out, run_config, history)], initial_epoch=initial_epoch,
            verbose=progress_verbosity())
        train_seconds = time.perf_counter() - fit_started + (state or {}).get("train_seconds", 0.0)
        test_loss, test_accuracy, predictions = evaluate(model, data)

    timing = clock.summary()
    metrics = build_metrics(args, preset, model, data, devices, history, {
        "test_accuracy": test_accuracy, "test_loss": test_loss,
        "train_seconds": round(train_seconds, 2), "data_load_seconds": round(load_seconds, 2),
        "precision": precision, "strategy": strategy, **timing,
        "xla": uses_xla(devices), "compilations": compiled.summary(),
        "compilation_cache": str(cache) if cache else None,
    })
    save_artifacts(out, model, metrics, history, data.y_test, predictions)
    remove_checkpoint(out)

    print(f"test accuracy {test_accuracy:.2%} · {network_of(model).count_params():,} parameters · "
          f"trained in {train_seconds:.1f} s (data load {load_seconds:.1f} s) · artifacts in {out}/")
    print(describe_speed(timing, compiled))
    print(f"next: python -m export --model {out / 'model.keras'} --out {out / 'web_model'}")
    return 0


def compilation_cache(args: argparse.Namespace, devices: DeviceSetup) -> Path | None:
    """On JAX, turn on the persistent compilation cache (unless --no-compile-cache) and return its
    folder; None elsewhere."""
    if devices.backend != "jax" or args.no_compile_cache:
        return None
    folder = args.compile_cache or default_cache_dir()
    try:
        enable_compilation_cache(folder)
    except OSError as exc:
        raise TrainingError(f"--compile-cache {folder} cannot be used ({exc.strerror or exc}); "
                            "choose another folder or pass --no-compile-cache") from None
    return folder


def describe_speed(timing: dict, compiled: CompileLog) -> str:
    """The console line on compiling and steady-state speed."""
    parts = []
    if timing["compile_seconds"] is not None:
        parts.append(f"compiling and warm-up {timing['compile_seconds']:.1f} s")
    steps = compiled.step_compilations()
    if steps:
        counts = ", ".join(f"{name} x{count}" for name, count in sorted(steps.items()))
        hits = f", {compiled.cache_hits} programs from the compilation cache" if compiled.cache_hits else ""
        parts.append(f"compiled {counts} in {compiled.step_seconds():.1f} s{hits}")
    if timing["steady_images_per_s"]:
        parts.append(f"steady state {timing['steady_images_per_s']:,.0f} images/s "
                     f"({timing['steady_step_ms']:.1f} ms a step)")
    return " · ".join(parts) if parts else "no steady-state timing (a single step)"


BACKEND_PACKAGES = {"tensorflow": ("tensorflow",), "jax": ("jax", "jaxlib"), "torch": ("torch",)}


def build_metrics(args: argparse.Namespace, preset: Preset, model: keras.Model, data: Mnist,
                  devices: DeviceSetup, history: dict[str, list[float]], measured: dict) -> dict:
    """Everything metrics.json records about the run; versions are those of the packages the run used
    (the backend's own, never another backend's, which need not be installed)."""
    backend = keras.backend.backend()
    versions = {"python": platform.python_version(), "keras": keras.__version__, "numpy": np.__version__}
    versions.update({name: package_version(name) for name in BACKEND_PACKAGES.get(backend, ())})
    return {
        **measured,
        "val_accuracy": history.get("val_accuracy", [float("nan")])[-1],
        "val_loss": history.get("val_loss", [float("nan")])[-1],
        "params": int(network_of(model).count_params()),
        "model": preset.model,
        "preset": preset.name,
        "epochs": len(history.get("loss", [])),
        "steps": preset.steps,
        "batch_size": preset.batch_size,
        "lr": preset.lr,
        "optimizer": preset.optimizer,
        "betas": list(preset.betas),
        "augment": preset.augment,
        "schedule": preset.schedule,
        "seed": args.seed,
        "train_images": len(data.x_train),
        "device": devices.describe(),
        "backend": backend,
        "versions": versions,
        "data_source": data.source,
        "data_sha256": data.sha256,
    }
