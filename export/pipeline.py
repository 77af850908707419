"""`run_export`: check, convert, prove parity, publish. The one entry point the CLI and tests use."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from common.files import sha256_file
from export.convert import check_model_file, convert_to_graph_model, load_model, quantization_map
from export.errors import ExportError, VerificationError
from export.metadata import build_metadata
from export.publish import (
    check_out_dir,
    file_inventory,
    make_staging,
    recover,
    swap_into_place,
    write_metadata,
)
from export.verify import THRESHOLDS, check_thresholds, compare, node_runtime, predict_with_tfjs

TEST_DIGITS = 10_000


def _test_digits(digits: int | None, data_dir: str | Path | None) -> tuple[np.ndarray, np.ndarray]:
    from train.data import DataError, load_test_set

    if digits is not None and not 1 <= digits <= TEST_DIGITS:
        raise ExportError(f"--digits {digits} is out of range; use 1 to {TEST_DIGITS}")
    try:
        images, labels = load_test_set(data_dir)
    except DataError as exc:
        raise ExportError(str(exc)) from None
    return (images, labels) if digits is None else (images[:digits], labels[:digits])


def _native_predictions(model: Any, images: np.ndarray, model_path: Path) -> np.ndarray:
    probs = np.asarray(model.predict(images, batch_size=500, verbose=0), dtype=np.float32)
    sums = probs.sum(axis=1)
    if (probs < 0).any() or not np.allclose(sums, 1.0, atol=1e-3):
        raise ExportError(f"{model_path}: outputs are not probabilities (rows sum to "
                          f"{sums.min():.3g}..{sums.max():.3g}); end the model with a softmax layer")
    return probs


def preflight(model_path: Path, out_dir: Path, quantize: str = "none", verify: bool = True,
              backend: str = "auto") -> dict[str, str] | None:
    """The checks that need no TensorFlow: options, model file, --out, Node.js and npm packages.

    Returns the Node/TF.js versions when `verify`, else None. Raises ExportError.
    """
    quantization_map(quantize)
    if backend not in ("auto", "wasm", "cpu"):
        raise ExportError(f"backend {backend!r} is not one of auto, wasm, cpu")
    check_model_file(model_path)
    check_out_dir(out_dir, model_path)
    return node_runtime() if verify else None


def run_export(model_path: str | Path, out_dir: str | Path, quantize: str = "none", verify: bool = True,
               digits: int | None = None, *, data_dir: str | Path | None = None, backend: str = "auto",
               verbose: bool = False, log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Export a `.keras` MNIST model to a TF.js graph model in `out_dir`, proven and published atomically.

    `digits`: how many MNIST test digits the parity proof uses (None = all 10,000).
    Returns the metadata written to `out_dir/metadata.json`. Raises ExportError for user or
    environment problems and VerificationError (an ExportError) when TF.js disagrees with Keras;
    in both cases nothing under `out_dir` changes. Call `common.quiet.quiet_tensorflow()` first
    if TensorFlow's own log lines should stay hidden.
    """
    say = log or (lambda _message: None)
    started = time.monotonic()
    model_path, out_dir = Path(model_path), Path(out_dir)
    runtime = preflight(model_path, out_dir, quantize, verify, backend)
    out_dir = out_dir.resolve()  # staging goes beside the real folder ("." or a symlink included)
    recover(out_dir)
    staging = make_staging(out_dir)
    try:
        say(f"loading {model_path}")
        model = load_model(model_path)
        images, labels = _test_digits(digits, data_dir)
        say(f"predicting {len(labels):,} test digits with Keras")
        native = _native_predictions(model, images, model_path)
        native_accuracy = float((native.argmax(axis=1) == labels).mean())
        say(f"converting to a TF.js graph model (quantization: {quantize})")
        convert_to_graph_model(model, staging, quantize, verbose=verbose)
        parity: dict[str, Any] | None = None
        failures: list[str] = []
        if verify:
            say(f"running the exported model in TF.js (Node.js) on {len(labels):,} digits")
            exported, status = predict_with_tfjs(staging, images, backend=backend)
            parity = compare(native, exported, labels)
            failures = check_thresholds(parity, quantize)
            parity.update(backend=status["backend"], tfjs_seconds=round(float(status["seconds"]), 2),
                          thresholds=THRESHOLDS[quantize], passed=not failures, failures=failures)
        source = {"path": str(model_path), "sha256": sha256_file(model_path),
                  "bytes": model_path.stat().st_size, "name": model.name,
                  "parameters": int(model.count_params())}
        metadata = build_metadata(source=source, quantize=quantize, files=file_inventory(staging),
                                  parity=parity, native_accuracy=native_accuracy, digits=len(labels),
                                  runtime=runtime, seconds=time.monotonic() - started)
        if failures:
            raise VerificationError(f"parity check failed ({'; '.join(failures)}); nothing published, "
                                    f"{out_dir} is unchanged", metadata)
        write_metadata(staging, metadata)
        say(f"publishing into {out_dir}")
        swap_into_place(staging, out_dir)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return metadata
