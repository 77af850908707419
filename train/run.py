"""One training run, start to finish: data, model, fit, evaluate, artifacts."""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import keras
import numpy as np

from train import artifacts
from train.augment import drawing_augmentation
from train.callbacks import EpochCheckpoint, read_checkpoint_state, remove_checkpoint
from train.data import Mnist, load_mnist
from train.devices import (
    configure_precision,
    detect_devices,
    distribution_scope,
    make_deterministic,
    split_cpu,
)
from train.models import INPUT_SHAPE, build_model
from train.presets import DEFAULT_PRESET_FOR_MODEL, PRESETS, Preset
from train.schedules import OneCycle

AUGMENTED = "augmented"


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


def steps_per_epoch(preset: Preset, train_size: int) -> int:
    """Batches per epoch: the whole step budget in one epoch, or one pass over the data."""
    if preset.steps is not None:
        return preset.steps
    return -(-train_size // preset.batch_size)


def make_optimizer(preset: Preset, total_steps: int) -> keras.optimizers.Optimizer:
    """The preset's optimizer and learning-rate schedule."""
    lr = OneCycle(preset.lr, total_steps, preset.warmup_fraction) if preset.schedule == "one-cycle" \
        else preset.lr
    if preset.optimizer == "sgd":
        return keras.optimizers.SGD(learning_rate=lr)
    if preset.optimizer == "adamw":
        return keras.optimizers.AdamW(learning_rate=lr, weight_decay=preset.weight_decay)
    return keras.optimizers.Adam(learning_rate=lr)


def tutorial_batches(x: np.ndarray, y: np.ndarray, steps: int, batch: int, seed: int):
    """The tutorial's `next_batch` stream: reshuffle at every pass, take `steps` batches in order."""
    rng = np.random.default_rng(seed)
    needed = steps * batch
    order = np.concatenate([rng.permutation(len(x)) for _ in range(-(-needed // len(x)))])[:needed]
    return x[order], y[order]


def train(args: argparse.Namespace) -> int:
    """Run training as the CLI asked; returns the exit code."""
    out = artifacts.prepare_out_dir(args.out)
    preset = resolve_preset(args)
    state = read_checkpoint_state(out) if args.resume else None
    if args.resume and state is None:
        raise TrainingError(f"no checkpoint in {out} to resume from; run without --resume")

    split_cpu(args.cpu_devices)
    devices = detect_devices()
    print(f"device: {devices.describe()}", flush=True)
    precision = configure_precision(devices)
    make_deterministic(args.seed)

    load_started = time.perf_counter()
    data = load_mnist(args.data_dir)
    x_train, y_train = data.x_train, data.y_train
    if args.train_limit:
        x_train, y_train = x_train[: args.train_limit], y_train[: args.train_limit]
    load_seconds = time.perf_counter() - load_started

    run_config = {"preset": preset.name, "model": preset.model, "epochs": preset.epochs,
                  "steps": preset.steps, "batch_size": preset.batch_size, "lr": preset.lr,
                  "seed": args.seed, "train_limit": args.train_limit}
    if state and state["config"] != run_config:
        raise TrainingError(f"the checkpoint in {out} is from a different run ({state['config']}); "
                            "resume with the same options, or start afresh without --resume")

    per_epoch = steps_per_epoch(preset, len(x_train))
    epochs = 1 if preset.steps is not None else preset.epochs
    if preset.steps is not None:
        x_train, y_train = tutorial_batches(x_train, y_train, preset.steps, preset.batch_size, args.seed)
    history: dict[str, list[float]] = dict(state["history"]) if state else {}
    initial_epoch = state["epoch"] if state else 0

    with distribution_scope(devices) as strategy:
        if state:
            model = keras.models.load_model(out / state["model_file"])
            print(f"resuming after epoch {initial_epoch} of {epochs}", flush=True)
        else:
            model = build_training_model(preset, args.seed)
            model.compile(optimizer=make_optimizer(preset, per_epoch * epochs),
                          loss=keras.losses.SparseCategoricalCrossentropy(),
                          metrics=["accuracy"], jit_compile=devices.kind == "gpu")
        print(f"{preset.model}: {network_of(model).count_params():,} parameters; preset {preset.name} "
              f"({preset.description}); {strategy}; {precision}", flush=True)

        fit_started = time.perf_counter()
        model.fit(
            x_train, y_train,
            batch_size=preset.batch_size,
            epochs=epochs,
            initial_epoch=initial_epoch,
            shuffle=preset.steps is None,
            validation_data=(data.x_val, data.y_val),
            callbacks=[EpochCheckpoint(out, run_config, history)],
            verbose=1,
        )
        train_seconds = time.perf_counter() - fit_started + (state or {}).get("train_seconds", 0.0)

        test_loss, test_accuracy = model.evaluate(data.x_test, data.y_test, batch_size=1000, verbose=0)
        probs = model.predict(data.x_test, batch_size=1000, verbose=0)

    metrics = build_metrics(args, preset, model, data, devices, history, {
        "test_accuracy": float(test_accuracy), "test_loss": float(test_loss),
        "train_seconds": round(train_seconds, 2), "data_load_seconds": round(load_seconds, 2),
        "precision": precision, "strategy": strategy,
    })
    write_artifacts(out, model, metrics, history, data.y_test, probs.argmax(axis=1))
    remove_checkpoint(out)

    print(f"test accuracy {test_accuracy:.2%} · {network_of(model).count_params():,} parameters · "
          f"trained in {train_seconds:.1f} s (data load {load_seconds:.1f} s) · artifacts in {out}/")
    print(f"next: python -m export --model {out / 'model.keras'} --out {out / 'web_model'}")
    return 0


def build_metrics(args: argparse.Namespace, preset: Preset, model: keras.Model, data: Mnist,
                  devices, history: dict[str, list[float]], measured: dict) -> dict:
    """Everything metrics.json records about the run."""
    import tensorflow as tf

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
        "augment": preset.augment,
        "schedule": preset.schedule,
        "seed": args.seed,
        "train_images": int(len(data.x_train) if not args.train_limit else args.train_limit),
        "device": devices.describe(),
        "backend": keras.backend.backend(),
        "versions": {"python": platform.python_version(), "keras": keras.__version__,
                     "tensorflow": tf.__version__, "numpy": np.__version__},
        "data_source": data.source,
        "data_sha256": data.sha256,
    }


def build_training_model(preset: Preset, seed: int) -> keras.Model:
    """The preset's network, behind the drawing augmentation when the preset asks for it."""
    network = build_model(preset.model)
    if not preset.augment:
        return network
    return keras.Sequential([keras.Input(INPUT_SHAPE), drawing_augmentation(seed), network],
                            name=AUGMENTED)


def network_of(model: keras.Model) -> keras.Model:
    """The network inside a training model (unwraps the augmentation)."""
    return model.layers[-1] if model.name == AUGMENTED else model


def inference_copy(model: keras.Model) -> keras.Model:
    """The trained network alone (uncompiled, no augmentation): loads anywhere with plain
    `keras.models.load_model`, without this package's learning-rate schedule or optimizer state."""
    network = network_of(model)
    return keras.Model(network.inputs, network.outputs, name=network.name)


def write_artifacts(out: Path, model: keras.Model, metrics: dict, history: dict[str, list[float]],
                    labels: np.ndarray, predictions: np.ndarray) -> None:
    """model.keras, metrics.json, history.csv, training.png, confusion.png — each atomically."""
    artifacts.save_model(inference_copy(model), out / "model.keras")
    artifacts.write_history_csv(out / "history.csv", history)
    title = f"{metrics['model']} ({metrics['preset']}): test accuracy {metrics['test_accuracy']:.2%}"
    artifacts.plot_history(out / "training.png", history, title)
    counts = artifacts.confusion_matrix(labels, predictions)
    artifacts.plot_confusion(out / "confusion.png", counts, title)
    artifacts.write_json(out / "metrics.json", {**metrics, "confusion_matrix": counts.tolist()})
